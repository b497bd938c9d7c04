"""previous_visibility public (openstack-image-manager's way): older versions stay public and listed
under their dated names, so "public and listed" no longer tells the Latest apart; the planner tells
it by its own records (the latest name, the demotion mark, the upload order) (_rotation.plan)."""

from __future__ import annotations

import datetime

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import DEMOTED
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from rotation_sim import OWNERS, PROVIDER, RELEASE, apply, image
from test_rotation_plan import LATEST, NAME, changes, run

START = datetime.datetime(2026, 11, 1, 8, 0, tzinfo=datetime.timezone.utc)


def policy(**kwargs):
    kwargs.setdefault('keep', 2)
    return Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, previous_visibility='public', delete_unused=True,
                  properties={'uuid_validity': 'none'}, **kwargs)


def stamp(when):
    return when.strftime('%Y-%m-%dT%H:%M:%SZ')


def usage(ids, used=()):
    return {'complete': True, 'reason': None, 'images': {i: {
        'servers': [{'id': 's-' + i, 'project_id': 'p', 'status': 'ACTIVE'}] if i in used else [],
        'volumes': []} for i in ids}}


def sync(table, pol, now, used=()):
    """One run as image_rotate does it: plan, plan again with usage when asked, apply."""
    result = plan(table, pol, now)
    if result.usage_needed:
        result = plan(table, pol, now, usage(result.usage_needed, used))
    return apply(table, result.actions), result


def test_daily_builds_keep_older_versions_public_and_listed_with_one_latest():
    table, used = [], {'day-01'}  # day 1's build boots a server until day 6
    for day in range(8):
        now = START + datetime.timedelta(days=day, hours=1)
        build = image(stamp(START + datetime.timedelta(days=day)), visibility='private', name=NAME + ' candidate',
                      image_id='day-%02d' % day)
        table.append(build)
        if day == 6:
            used.clear()
        table, result = sync(table, policy(candidate=build['id'], keep=1), now, used)
        if day:
            # The previous latest is demoted right before the promotion, stamped with this run's time.
            assert changes(result)[:2] == [('demote', 'day-%02d' % (day - 1)), ('promote', build['id'])]
        ids = {i['id']: i for i in table}
        assert [i['id'] for i in table if i['name'] == LATEST] == [build['id']] == [result.latest]
        assert all(i['visibility'] == 'public' and not i['os_hidden'] for i in table)
        for old in (i for i in table if i['id'] != build['id']):
            assert old['name'] == NAME + ' - ' + old['created_at'][:10] and DEMOTED in old['properties']
        assert DEMOTED not in ids[build['id']]['properties']
        if day:
            # Demoted in this run: kept for the grace period whatever retention says.
            assert ids['day-%02d' % (day - 1)]['properties'][DEMOTED] == stamp(now)
        # The older versions' marks stay as they are: the next run changes nothing.
        assert not plan(table, policy(keep=1), now, usage(list(ids), used)).changed
        # keep=1: the latest, the one demoted now (its grace period), day 1 while in use.
        assert set(ids) == {'day-%02d' % d for d in range(max(0, day - 1), day + 1)} | (used if day else set()), day
    assert 'day-01' not in {i['id'] for i in table}  # deleted once unused


def test_the_mark_keeps_its_time_and_deleting_waits_for_the_grace_period():
    old = image('2026-11-20T08:00:00Z', name=LATEST)
    cand = image('2026-11-22T08:00:00Z', visibility='private')
    table, result = run([old, cand], policy(candidate=cand['id'], keep=1))
    assert not [a for a in result.actions if a['action'] == 'delete']
    demoted = {i['id']: i for i in table}[old['id']]
    assert (demoted['visibility'], demoted['os_hidden'], demoted['properties'][DEMOTED]) == (
        'public', False, '2026-11-30T12:00:00Z')
    later = '2026-12-01T11:00:00Z'
    result = plan(table, policy(keep=1), later)
    assert not result.changed and {k['id']: k['reasons'] for k in result.kept}[old['id']] == [
        'stopped being the latest 23 h ago; deletable 24 h after (demoted_grace_hours)']
    table, result = run(table, policy(keep=1), '2026-12-01T13:00:00Z')
    assert changes(result) == [('delete', old['id'])]


def test_a_mark_on_the_image_with_the_latest_name_never_makes_it_deletable():
    # Anyone with the owner's rights can write the mark: the latest name says the image was the latest.
    old = image('2026-11-20T08:00:00Z', name=LATEST, **{DEMOTED: '2026-01-01T00:00:00Z'})
    cand = image('2026-11-22T08:00:00Z', visibility='private')
    table, result = run([old, cand], policy(candidate=cand['id'], keep=1))
    assert changes(result) == [('demote', old['id']), ('promote', cand['id'])]
    assert {i['id']: i for i in table}[old['id']]['properties'][DEMOTED] == '2026-11-30T12:00:00Z'


def test_killed_between_demote_and_promote_converges():
    old = image('2026-11-20T08:00:00Z', name=LATEST)
    cand = image('2026-11-22T08:00:00Z', visibility='private')
    pol = policy(candidate=cand['id'])
    full, result = run([old, cand], pol)
    assert [a['action'] for a in result.actions[:2]] == ['demote', 'promote']
    killed = run([old, cand], pol, limit=1)[0]
    # Between the two: no image with the latest name (never two), the old one public and marked.
    assert not [i for i in killed if i['name'] == LATEST]
    assert {i['id']: i for i in killed}[old['id']]['properties'][DEMOTED]
    assert sorted(run(killed, pol)[0], key=lambda i: i['id']) == sorted(full, key=lambda i: i['id'])
    # A run without the candidate leaves it while the candidate waits (another run may be promoting it);
    # once the candidate is gone, the old build gets its place back (and the mark goes).
    assert not run(killed, policy())[1].changed
    back, result = run([i for i in killed if i['id'] != cand['id']], policy())
    assert result.latest == old['id'] and changes(result) == [('promote', old['id'])]
    restored = {i['id']: i for i in back}[old['id']]
    assert restored['name'] == LATEST and DEMOTED not in restored['properties']


def test_public_and_listed_older_images_are_not_taken_for_the_latest():
    # openstack-image-manager's older versions, adopted: public, listed, OIM's names, no mark.
    latest = image('2026-11-20T08:00:00Z', name=LATEST, uuid_validity='none')
    older = [image('2026-11-%02dT08:00:00Z' % d, name='Ubuntu 24.04 (202611%02d)' % d, uuid_validity='none')
             for d in (10, 15)]
    table, result = run([latest] + older, policy(keep=5))
    assert result.latest == latest['id']
    assert {a['id'] for a in result.actions if a['action'] != 'keep'} == {i['id'] for i in older}
    assert [i['id'] for i in table if i['name'] == LATEST] == [latest['id']]
    assert all(i['visibility'] == 'public' and not i['os_hidden'] for i in table)
    # Marked once (grace from now), then left alone.
    assert not plan(table, policy(keep=5), '2026-12-05T12:00:00Z').changed


def test_two_interleaved_runs_leave_one_latest():
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    cand = image('2026-11-23T08:00:00Z', visibility='private')
    pol = policy(candidate=cand['id'])
    one = plan([old, cand], pol, '2026-11-30T12:00:00Z')
    mid = apply([old, cand], one.actions, 1)
    mid = apply(mid, plan(mid, pol, '2026-11-30T12:00:01Z').actions)
    end = apply(mid, one.actions[1:])
    assert sorted(i['name'] for i in end) == [NAME + ' - 2026-11-22', LATEST]
    assert not plan(end, pol, '2026-11-30T12:00:02Z').changed


def test_retirement_follows_retired_state_for_the_last_latest():
    imgs = [image('2026-11-29T08:00:00Z', name=LATEST),
            image('2026-11-01T08:00:00Z', name=NAME + ' - 2026-11-01', uuid_validity='none',
                  **{DEMOTED: '2026-11-29T09:00:00Z'})]
    after, result = run(imgs, policy(retired=True))
    assert result.latest is None
    assert {(i['name'], i['visibility'], i['os_hidden']) for i in after} == {
        (NAME + ' - 2026-11-29', 'community', False), (NAME + ' - 2026-11-01', 'public', False)}
    after = run(imgs, policy(retired=True, retired_state='hidden'))[0]
    assert {(i['name'], i['visibility'], i['os_hidden']) for i in after} == {
        (NAME + ' - 2026-11-29', 'public', True), (NAME + ' - 2026-11-01', 'public', False)}
    after, result = run(imgs, policy(retired=True, retired_state='delete_unused', demoted_grace_hours=0))
    assert after == [] and [a['action'] for a in result.actions] == ['demote', 'delete', 'delete']
