"""An operator accepts one vendor withdrawal (accept_withdrawal): the vendor withdrew a bad build
and went back to the previous one. Exactly that step back, in the planner, the fast path and the
morning view; every other older build is still a refused rollback."""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.cloudimages.openstack.plugins.doc_fragments.policy import ModuleDocFragment
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._build_order import (
    WITHDRAWAL_SPEC, check_withdrawal)
from ansible_collections.cloudimages.openstack.plugins.modules import upstream_release
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._release_status import assess
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import (
    POLICY_SPEC, PlanError, Policy, plan, policy_from)
from ansible_collections.cloudimages.openstack.plugins.plugin_utils._sync_report import build_report, render_table
from rotation_sim import OWNERS, PROVIDER, RELEASE, apply, image

NAME = 'Ubuntu 24.04 Noble Numbat'
LATEST = NAME + ' - Latest'
NOW = '2026-12-07T12:00:00Z'
ACCEPT = {'withdrawn': '20261207', 'back_to': '20261206'}
BACK = {'version': '20261206', 'build_date': '2026-12-06', 'checksum': 'sha256:06'}


def policy(**kwargs):
    return Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, **kwargs)


def build(created_at, version, **kwargs):
    return image(created_at, cloudimages_build=version, image_build_date='%s-%s-%s' % (
        version[:4], version[4:6], version[6:8]), **dict({_managed.DIGEST: 'sha256:' + version[-2:]}, **kwargs))


def withdrawn_day(with_previous=True):
    """The build of 12-06 demoted yesterday, the withdrawn build of 12-07 Latest."""
    images = [build('2026-12-07T06:00:00Z', '20261207', name=LATEST)]
    if with_previous:
        images.insert(0, build('2026-12-06T06:00:00Z', '20261206', name=NAME + ' - 2026-12-06',
                               visibility='community'))
    return images


def unused(ids):
    return {'complete': True, 'reason': None, 'images': {i: {'servers': [], 'volumes': []} for i in ids}}


@pytest.mark.parametrize('value, message', [
    ('20261206', 'must be {withdrawn: <build>, back_to: <build>}'),
    ({'withdrawn': '20261207'}, 'must be {withdrawn'),
    ({'withdrawn': '20261207', 'back_to': ''}, 'must be {withdrawn'),
    ({'withdrawn': '20261206', 'back_to': '20261207'}, 'back_to 20261207 must be an older build than withdrawn'),
    ({'withdrawn': '20261207', 'back_to': '20261207'}, 'must be an older build'),
])
def test_a_withdrawal_names_two_builds_the_older_one_last(value, message):
    with pytest.raises(ValueError, match=message):
        check_withdrawal(value)
    with pytest.raises(PlanError, match=message):
        policy(accept_withdrawal=value)


def test_the_policy_spec_carries_it():
    params = {key: spec.get('default') for key, spec in POLICY_SPEC.items()}
    params.update(provider=PROVIDER, release_key=RELEASE, name=NAME, accept_withdrawal=dict(ACCEPT, back_to=' 20261206'))
    assert policy_from(params, OWNERS).accept_withdrawal == ACCEPT
    assert check_withdrawal(None) is None


def test_without_the_override_the_older_candidate_is_refused():
    images = withdrawn_day(with_previous=False)
    cand = build('2026-12-07T10:00:00Z', '20261206', visibility='private', name='candidate')
    result = plan(images + [cand], policy(candidate=cand['id']), NOW)
    assert result.latest == images[0]['id'] and 'refusing a rollback' in result.warnings[0]
    other = policy(candidate=cand['id'], accept_withdrawal={'withdrawn': '20261207', 'back_to': '20261205'})
    assert plan(images + [cand], other, NOW).latest == images[0]['id']  # pinned to the build it goes back to


def test_a_new_upload_of_the_older_build_becomes_latest_and_the_withdrawn_one_a_previous_version():
    images = withdrawn_day(with_previous=False)
    cand = build('2026-12-07T10:00:00Z', '20261206', visibility='private', name='candidate')
    result = plan(images + [cand], policy(candidate=cand['id'], accept_withdrawal=ACCEPT), NOW)
    assert result.latest == cand['id'] and not result.warnings
    assert [(a['action'], a['id']) for a in result.actions if a['action'] != 'keep'] == [
        ('demote', images[0]['id']), ('promote', cand['id'])]
    after = {i['id']: i for i in apply(images + [cand], result.actions)}
    assert after[cand['id']]['name'] == LATEST and after[images[0]['id']]['visibility'] == 'community'
    # The next day plans nothing (the override still in force).
    assert not plan(list(after.values()), policy(accept_withdrawal=ACCEPT), NOW).changed


def test_the_existing_previous_version_of_the_older_build_is_promoted_again():
    images = withdrawn_day()
    result = plan(images, policy(accept_withdrawal=ACCEPT), NOW)
    previous, withdrawn = images
    assert result.latest == previous['id']
    assert [(a['action'], a['id']) for a in result.actions if a['action'] != 'keep'] == [
        ('demote', withdrawn['id']), ('promote', previous['id'])]
    after = {i['id']: i for i in apply(images, result.actions)}
    assert after[previous['id']]['name'] == LATEST and after[previous['id']]['visibility'] == 'public'
    assert after[withdrawn['id']]['name'] == NAME + ' - 2026-12-07'
    again = plan(list(after.values()), policy(accept_withdrawal=ACCEPT), NOW)
    assert again.latest == previous['id'] and not again.changed


def test_the_withdrawn_image_follows_retention_and_is_kept_while_in_use():
    previous, withdrawn = withdrawn_day()
    old = build('2026-12-01T06:00:00Z', '20261201', name=NAME + ' - 2026-12-01', visibility='community',
                cloudimages_demoted_at='2026-12-02T06:00:00Z')
    images = apply([old, previous, withdrawn], plan([old, previous, withdrawn], policy(accept_withdrawal=ACCEPT),
                                                    NOW).actions)
    later = '2026-12-20T12:00:00Z'
    pol = policy(accept_withdrawal=ACCEPT, keep=1, delete_unused=True)
    used = unused([old['id'], withdrawn['id']])
    used['images'][withdrawn['id']]['servers'] = [{'id': 'srv', 'project_id': 'p', 'status': 'ACTIVE'}]
    first = plan(images, pol, later)
    result = plan(images, pol, later, used)
    assert first.usage_needed and result.latest == previous['id']
    assert [a['id'] for a in result.actions if a['action'] == 'delete'] == [old['id']]
    assert [k['reasons'] for k in result.kept if k['id'] == withdrawn['id']] == [['in use by server srv (project p, ACTIVE)']]
    gone = plan(images, pol, later, unused([old['id'], withdrawn['id']]))
    assert sorted(a['id'] for a in gone.actions if a['action'] == 'delete') == sorted([old['id'], withdrawn['id']])


def test_once_upstream_is_past_the_withdrawn_build_the_override_changes_nothing():
    images = apply(withdrawn_day(), plan(withdrawn_day(), policy(accept_withdrawal=ACCEPT), NOW).actions)
    cand = build('2026-12-08T10:00:00Z', '20261208', visibility='private', name='candidate')
    result = plan(images + [cand], policy(candidate=cand['id'], accept_withdrawal=ACCEPT), NOW)
    assert result.latest == cand['id']
    after = apply(images + [cand], result.actions)
    # A replayed older build is refused again: the override names the 12-07 Latest, not 12-08's.
    replay = build('2026-12-09T10:00:00Z', '20261206', visibility='private', name='candidate')
    assert plan(after + [replay], policy(candidate=replay['id'], accept_withdrawal=ACCEPT), NOW).latest == cand['id']


def test_the_fast_path_uploads_the_older_build_or_promotes_its_image_instead_of_settling():
    refused = assess(withdrawn_day(with_previous=False), policy(), BACK, NOW)
    assert refused['settled'] and 'refusing a rollback' in refused['reason']
    status = assess(withdrawn_day(with_previous=False), policy(accept_withdrawal=ACCEPT), BACK, NOW)
    assert status['settled'] is False and status['reason'] == 'build 20261206 is not in this cloud yet'
    images = withdrawn_day()
    status = assess(images, policy(accept_withdrawal=ACCEPT), BACK, NOW)
    assert status['settled'] is False and status['reason'] == 'rotation to do: demote, promote'
    assert status['existing']['id'] == images[0]['id']
    after = apply(images, plan(images, policy(accept_withdrawal=ACCEPT), NOW).actions)
    settled = assess(after, policy(accept_withdrawal=ACCEPT), BACK, NOW)
    assert settled['settled'] and settled['reason'] == 'build 20261206 is here, nothing to change'
    assert not settled['warnings'] and settled['latest_since'] == '2026-12-06T06:00:00Z'


def test_the_morning_view_and_the_status_file_show_the_override_and_when_it_can_go():
    queue = [{'rotate': {'release_key': RELEASE, 'name': NAME, 'accept_withdrawal': ACCEPT}, 'end_of_support': 'none'},
             {'rotate': {'release_key': 'debian-12', 'name': 'Debian 12'}, 'end_of_support': 'none'}]
    statuses = [{'key': RELEASE, 'settled': True, 'release': BACK, 'existing': None},
                {'key': 'debian-12', 'settled': True, 'release': {'version': '20261206-1'}, 'existing': None}]
    report = build_report('prod1', queue, statuses, [], NOW)
    assert [r['accept_withdrawal'] for r in report['releases']] == [ACCEPT, None]
    lines = render_table(report)
    assert lines[-2:] == ['vendor withdrawals accepted (image_sync_accept_withdrawal):',
                          '  %s: back from 20261207 to 20261206' % NAME]
    statuses[0]['release'] = {'version': '20261208'}
    assert render_table(build_report('prod1', queue, statuses, [], NOW))[-1] == (
        '  %s: back from 20261207 to 20261206; upstream is past it (20261208): remove the entry' % NAME)


def test_the_suboptions_are_documented_alike_for_both_modules_as_their_one_spec():
    """image_rotate's policy.accept_withdrawal and upstream_release's accept_withdrawal (fragment
    policy.withdrawal) take WITHDRAWAL_SPEC; the fragment file writes their suboptions twice (a fragment
    merges only top-level options): both say the same, and the module adds only its description."""
    policy_doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']['policy']['suboptions']['accept_withdrawal']
    fragment = yaml.safe_load(ModuleDocFragment.WITHDRAWAL)['options']['accept_withdrawal']
    assert policy_doc['suboptions'] == fragment['suboptions']
    assert {key: (sub['type'], sub['required']) for key, sub in fragment['suboptions'].items()} == {
        key: (spec['type'], spec['required']) for key, spec in WITHDRAWAL_SPEC['options'].items()}
    module = yaml.safe_load(upstream_release.DOCUMENTATION)
    assert 'cloudimages.openstack.policy.withdrawal' in module['extends_documentation_fragment']
    assert set(module['options']['accept_withdrawal']) == {'description'}
