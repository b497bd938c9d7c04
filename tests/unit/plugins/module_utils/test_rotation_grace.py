"""Users in flight and the reasons a build is kept: the grace period after demotion, the rule
that really keeps an image, and deletions named as the image is when they happen (_rotation.plan)."""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import DEMOTED
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from rotation_sim import OWNERS, PROVIDER, RELEASE, image
from test_rotation_plan import LATEST, NAME, run

NOW = '2026-11-30T12:00:00Z'


def policy(**kwargs):
    return Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, delete_unused=True, keep=1,
                  properties={'uuid_validity': 'none'}, **kwargs)


def deleted(result):
    return [a['id'] for a in result.actions if a['action'] == 'delete']


def test_the_previous_latest_is_not_deleted_in_the_run_that_demotes_it_nor_within_the_grace_period():
    """The race of issue 26: a volume copy or a boot from the old Latest started just before the
    new build was promoted shows no image id yet; the demoted build outlives it by the grace period."""
    old = image('2026-10-01T08:00:00Z', name=LATEST)
    cand = image('2026-11-30T08:00:00Z', visibility='private')
    table, result = run([old, cand], policy(candidate=cand['id']))
    assert not deleted(result) and not result.usage_needed
    demoted = {i['id']: i for i in table}[old['id']]
    assert demoted['properties'][DEMOTED] == NOW and demoted['visibility'] == 'community'
    kept = {k['id']: k['reasons'] for k in result.kept}[old['id']]
    assert kept == ['stopped being the latest in this run; deletable 24 h after (demoted_grace_hours)']
    # 23 hours later: still within the grace period, no usage asked.
    result = plan(table, policy(), '2026-12-01T11:00:00Z')
    assert not deleted(result) and not result.usage_needed and not result.changed
    assert {k['id']: k['reasons'] for k in result.kept}[old['id']] == [
        'stopped being the latest 23 h ago; deletable 24 h after (demoted_grace_hours)']
    # 25 hours later: usage decides.
    _table, result = run(table, policy(), '2026-12-01T13:00:00Z')
    assert deleted(result) == [old['id']]
    # The knob is independent of min_age_days: 72 h.
    assert not deleted(run(table, policy(demoted_grace_hours=72), '2026-12-01T13:00:00Z')[1])


def test_without_the_mark_updated_at_stands_in_and_a_restored_latest_loses_it():
    old = image('2026-10-01T08:00:00Z', visibility='community', name=NAME + ' - 2026-10-01')
    latest = image('2026-11-20T08:00:00Z', name=LATEST)
    old['updated_at'] = '2026-11-30T06:00:00Z'  # demoted by an older release of this collection
    assert not deleted(run([latest, old], policy())[1])
    old['updated_at'] = '2026-11-20T06:00:00Z'
    assert deleted(run([latest, old], policy())[1]) == [old['id']]
    # A mark that is no time (someone else's text) never keeps an image for ever.
    old['properties'][DEMOTED] = 'yesterday'
    assert deleted(run([latest, old], policy())[1]) == [old['id']]
    # The newest version back as the latest (the newer one was deleted by hand): the mark goes.
    back = image('2026-11-20T08:00:00Z', name=NAME + ' - 2026-11-20', visibility='community', **{DEMOTED: NOW})
    table, result = run([back], policy())
    assert result.latest == back['id'] and DEMOTED not in table[0]['properties']


def test_grace_zero_deletes_a_build_demoted_in_an_earlier_run_only():
    old = image('2026-10-01T08:00:00Z', name=LATEST)
    cand = image('2026-11-30T08:00:00Z', visibility='private')
    table, result = run([old, cand], policy(candidate=cand['id'], demoted_grace_hours=0))
    assert deleted(result) == [old['id']]
    # The deletion names the image as it is when it is deleted (renamed just before), not its Latest name.
    delete = [a for a in result.actions if a['action'] == 'delete'][0]
    assert delete['before']['name'] == NAME + ' - 2026-10-01' and delete['before']['visibility'] == 'community'


def test_reasons_name_the_rule_that_keeps_the_image():
    imgs = [image('2026-11-%02dT08:00:00Z' % d, visibility='community', name='x', **{DEMOTED: '2026-11-01T00:00:00Z'})
            for d in range(1, 5)]
    pol = Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, delete_unused=True, keep=1,
                 properties={'uuid_validity': 'last-3'})
    _table, result = run(imgs, pol)
    reasons = {k['id']: k['reasons'] for k in result.kept}
    assert reasons[imgs[2]['id']] == ['one of the 3 newest versions (uuid_validity last-3)']
    assert not any('keep' in r for r in reasons[imgs[2]['id']] + reasons[imgs[1]['id']])
    assert deleted(result) == [imgs[0]['id']]
    _table, result = run(imgs, Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, delete_unused=True, keep=3,
                                      properties={'uuid_validity': 'none'}))
    assert {k['id']: k['reasons'] for k in result.kept}[imgs[2]['id']] == [
        'retention: one of the 3 newest versions (keep)']
