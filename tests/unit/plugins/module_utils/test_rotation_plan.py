"""The rotation planner, checked by applying its plans to an in-memory image table (rotation_sim)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import same_value
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import (
    Plan, PlanError, Policy, pairs, patch_ops, plan, undo_ops)
from rotation_sim import OWNER, OWNERS, PROVIDER, RELEASE, TAG, apply, by_name, image

NAME = 'Ubuntu 24.04 Noble Numbat'
LATEST = NAME + ' - Latest'
NOW = '2026-11-30T12:00:00Z'


def policy(**kwargs):
    kwargs.setdefault('owners', OWNERS)
    return Policy(PROVIDER, RELEASE, kwargs.pop('name', NAME), **kwargs)


def no_usage(ids):
    return {'complete': True, 'reason': None, 'images': {i: {'servers': [], 'volumes': []} for i in ids}}


def run(images, pol, now=NOW, usage=None, limit=None):
    """Plan (with a usage lookup when the plan asks for one, like the module) and apply."""
    result = plan(images, pol, now)
    if result.usage_needed:
        result = plan(images, pol, now, usage if usage is not None else no_usage(result.usage_needed))
    return apply(images, result.actions, limit), result


def changes(result):
    return [(a['action'], a['id']) for a in result.actions if a['action'] != 'keep']


def test_day1_candidate_becomes_latest_in_one_patch():
    cand = image('2026-11-22T08:00:00Z', visibility='private', name='candidate')
    after, result = run([cand], policy(candidate=cand['id'], properties={'hw_disk_bus': 'scsi', 'os_require_quiesce': True}))
    assert changes(result) == [('promote', cand['id'])]
    assert result.actions[0]['patch'] == [
        {'op': 'replace', 'path': '/name', 'value': LATEST},
        {'op': 'replace', 'path': '/visibility', 'value': 'public'},
        {'op': 'add', 'path': '/hw_disk_bus', 'value': 'scsi'},
        {'op': 'add', 'path': '/os_require_quiesce', 'value': 'true'},
    ]
    assert result.latest == cand['id']
    assert by_name(after)[LATEST]['visibility'] == 'public'


def test_day2_demote_previous_then_promote():
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    cand = image('2026-11-23T08:00:00Z', visibility='private', name='candidate')
    after, result = run([old, cand], policy(candidate=cand['id']))
    assert changes(result) == [('demote', old['id']), ('promote', cand['id'])]
    demote = result.actions[0]
    assert demote['patch'] == [{'op': 'replace', 'path': '/name', 'value': NAME + ' - 2026-11-22'},
                               {'op': 'replace', 'path': '/visibility', 'value': 'community'},
                               {'op': 'add', 'path': '/cloudimages_demoted_at', 'value': NOW}]
    assert demote['before']['name'] == LATEST and demote['after']['name'] == NAME + ' - 2026-11-22'
    names = by_name(after)
    assert names[LATEST]['id'] == cand['id']
    assert names[NAME + ' - 2026-11-22']['visibility'] == 'community'
    assert result.diff()['before'][old['id']]['visibility'] == 'public'
    assert result.diff()['after'][old['id']]['visibility'] == 'community'


def test_second_run_is_a_no_op():
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    cand = image('2026-11-23T08:00:00Z', visibility='private')
    pol = policy(candidate=cand['id'], properties={'a': '1'})
    after, first = run([old, cand], pol)
    assert first.changed
    again, second = run(after, pol)
    assert not second.changed
    assert again == after
    assert {a['action'] for a in second.actions} == {'keep'}


def test_user_image_with_the_same_name_is_never_touched():
    mine = image('2026-11-22T08:00:00Z', name=LATEST)
    theirs = image('2026-11-20T08:00:00Z', name=LATEST, tags=(), release=None)
    other_release = image('2026-11-20T08:00:00Z', name=LATEST, release='ubuntu-22.04')
    other_provider = image('2026-11-19T08:00:00Z', name=LATEST, tags=('managed_by_someone',))
    cand = image('2026-11-23T08:00:00Z', visibility='private')
    _after, result = run([mine, theirs, other_release, other_provider, cand], policy(candidate=cand['id']))
    touched = {a['id'] for a in result.actions}
    assert touched == {mine['id'], cand['id']}


def test_killed_between_promote_and_demote_converges_without_candidate():
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    new = image('2026-11-23T08:00:00Z', name=LATEST)  # promoted, then the run died
    after, result = run([old, new], policy())
    assert changes(result) == [('demote', old['id'])]
    assert [i['id'] for i in after if i['name'] == LATEST] == [new['id']]


@pytest.mark.parametrize('pol_kwargs', [
    dict(properties={'hw_disk_bus': 'scsi', 'old': None}, keep=1, delete_unused=True),
    dict(properties={'os_purpose': 'generic'}, naming='scs', keep=2, delete_unused=True, previous_visibility='hidden'),
    dict(retired=True, retired_state='delete_unused'),
    dict(retired=True, retired_state='hidden', keep=1, deactivate_expired=True),
    dict(previous_visibility='public', keep=1, delete_unused=True, demoted_grace_hours=0),
])
def test_every_prefix_of_a_plan_converges(pol_kwargs):
    """SIGKILL between any two steps: the next run finishes the job, with the same end state."""
    images = [image('2026-11-%02dT08:00:00Z' % day, name=LATEST if day == 23 else 'x', visibility='community' if day < 20 else 'public',
                    old='y') for day in (10, 15, 20, 21, 23)]
    images.append(image('2026-11-24T08:00:00Z', visibility='private'))
    images.append(image('2026-11-24T09:00:00Z', visibility='private', status='queued'))
    images.append(image('2026-11-01T09:00:00Z', visibility='private', status='saving'))
    cand = None if pol_kwargs.get('retired') else images[-3]['id']
    pol = policy(candidate=cand, **pol_kwargs)
    full, result = run(images, pol)
    assert result.changed
    final, again = run(full, pol)
    assert not again.changed and final == full
    for limit in range(len(result.actions)):
        partial = run(images, pol, limit=limit)[0]
        resumed = run(partial, pol)[0]
        assert sorted(resumed, key=lambda i: i['id']) == sorted(full, key=lambda i: i['id']), limit


def test_two_concurrent_runs_do_not_duplicate_or_fight():
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    cand = image('2026-11-23T08:00:00Z', visibility='private')
    images = [old, cand]
    pol = policy(candidate=cand['id'])
    one, two = plan(images, pol, NOW), plan(images, pol, NOW)
    assert one.actions == two.actions  # a pure function of the state
    # Interleaved: run one promotes, run two plans from that state and applies, run one finishes.
    mid = apply(images, one.actions, 1)
    two = plan(mid, pol, NOW)
    mid = apply(mid, two.actions)
    end = apply(mid, one.actions[1:])
    assert sorted(i['name'] for i in end) == [NAME + ' - 2026-11-22', LATEST]
    assert not plan(end, pol, NOW).changed


def test_retention_keep_min_age_promises_and_usage():
    imgs = {
        'latest': image('2026-11-29T08:00:00Z', name=LATEST),
        'kept_by_n': image('2026-11-28T08:00:00Z', visibility='community'),
        'young': image('2026-11-27T08:00:00Z', visibility='community'),
        'validity': image('2026-10-01T08:00:00Z', visibility='community', uuid_validity='2026-12-31'),
        'provided': image('2026-10-02T08:00:00Z', visibility='community', provided_until='2027-01-01'),
        'forever': image('2026-10-03T08:00:00Z', visibility='community', uuid_validity='forever'),
        'protected': image('2026-10-04T08:00:00Z', visibility='community', protected=True),
        'in_use': image('2026-10-05T08:00:00Z', visibility='community'),
        'volume': image('2026-10-06T08:00:00Z', visibility='community'),
        'gone': image('2026-10-07T08:00:00Z', visibility='community', provided_until='2026-11-01'),
    }
    pol = policy(keep=2, min_age_days=5, delete_unused=True)
    first = plan(list(imgs.values()), pol, NOW)
    # provided_until promises the release's image series, not each old build: no reason to keep one.
    assert sorted(first.usage_needed) == sorted([imgs[k]['id'] for k in ('provided', 'in_use', 'volume', 'gone')])
    usage = no_usage(first.usage_needed)
    usage['images'][imgs['in_use']['id']]['servers'] = [
        {'id': 's1', 'name': 'tenant-secret-vm', 'project_id': 'demo', 'status': 'SHELVED_OFFLOADED'}]
    usage['images'][imgs['volume']['id']]['volumes'] = [{'id': 'v1', 'name': 'tenant-secret-vol', 'project_id': 'demo'}]
    result = plan(list(imgs.values()), pol, NOW, usage)
    # Every previous version gets its dated name (protected excepted); only the unused, unpromised ones go.
    assert sorted(changes(result)[:-2]) == sorted(('rename', imgs[k]['id']) for k in
                                                  ('kept_by_n', 'young', 'validity', 'provided', 'forever', 'in_use', 'volume', 'gone'))
    assert changes(result)[-2:] == [('delete', imgs['gone']['id']), ('delete', imgs['provided']['id'])]
    reasons = {k['id']: k['reasons'] for k in result.kept}
    assert reasons[imgs['latest']['id']] == ['latest']
    assert reasons[imgs['kept_by_n']['id']] == ['retention: one of the 2 newest versions (keep)', 'younger than min_age_days (5)']
    assert reasons[imgs['young']['id']] == ['younger than min_age_days (5)']
    assert reasons[imgs['validity']['id']] == ['uuid_validity until 2026-12-31']
    assert reasons[imgs['forever']['id']] == ['uuid_validity forever']
    assert reasons[imgs['protected']['id']] == ['protected: never touched']
    assert 'SHELVED_OFFLOADED' in reasons[imgs['in_use']['id']][0]
    assert reasons[imgs['volume']['id']] == ['in use by volume v1 (project demo)']
    assert reasons[imgs['in_use']['id']] == ['in use by server s1 (project demo, SHELVED_OFFLOADED)']
    kept_in_use = [k for k in result.kept if k['id'] == imgs['in_use']['id']][0]
    assert kept_in_use['servers'] == [{'id': 's1', 'project_id': 'demo', 'status': 'SHELVED_OFFLOADED'}]
    # Other tenants' server and volume names reach no plan, note or result.
    assert 'tenant-secret' not in repr(result.as_dict())


def test_uuid_validity_last_n_raises_keep():
    imgs = [image('2026-11-%02dT08:00:00Z' % d, visibility='community', name='x') for d in range(1, 6)]
    _after, result = run(imgs, policy(keep=1, delete_unused=True, properties={'uuid_validity': 'last-3'}))
    assert [a['id'] for a in result.actions if a['action'] == 'delete'] == [imgs[1]['id'], imgs[0]['id']]
    # An image's own promise counts too.
    imgs[0]['properties']['uuid_validity'] = 'last-5'
    _after, result = run(imgs, policy(keep=1, delete_unused=True))
    assert sorted(a['id'] for a in result.actions if a['action'] == 'delete') == sorted(i['id'] for i in imgs[1:4])


def test_incomplete_usage_refuses_deletes_but_still_renames():
    latest = image('2026-11-29T08:00:00Z', name=LATEST)
    old = image('2026-10-01T08:00:00Z', name=LATEST)
    usage = {'complete': False, 'reason': 'Nova refused all_projects (403)', 'images': {old['id']: {'servers': [], 'volumes': []}}}
    result = plan([latest, old], policy(keep=1, delete_unused=True, demoted_grace_hours=0), NOW, usage)
    assert changes(result) == [('demote', old['id'])]
    assert result.kept[-1]['reasons'] == ['usage incomplete, refusing to delete: Nova refused all_projects (403)']
    result = plan([latest, old], policy(keep=1, delete_unused=True, require_all_projects_usage=False,
                                        demoted_grace_hours=0), NOW, usage)
    assert changes(result) == [('demote', old['id']), ('delete', old['id'])]


def test_without_usage_nothing_is_deleted():
    latest = image('2026-11-29T08:00:00Z', name=LATEST)
    old = image('2026-10-01T08:00:00Z', visibility='community', name=NAME + ' - 2026-10-01')
    result = plan([latest, old], policy(keep=1, delete_unused=True), NOW)
    assert result.usage_needed == [old['id']] and not result.changed


def test_delete_unused_false_keeps_or_deactivates():
    latest = image('2026-11-29T08:00:00Z', name=LATEST)
    old = image('2026-10-01T08:00:00Z', visibility='community', name=NAME + ' - 2026-10-01')
    result = plan([latest, old], policy(keep=1), NOW)
    assert not result.changed and not result.usage_needed
    assert result.kept[-1]['reasons'] == ['expired, but delete_unused is false']
    after, result = run([latest, old], policy(keep=1, deactivate_expired=True))
    assert changes(result) == [('deactivate', old['id'])]
    _again, result = run(after, policy(keep=1, deactivate_expired=True))
    assert not result.changed


def test_scs_profile_marks_old_generic_and_hides():
    old = image('2026-11-22T08:00:00Z', name=NAME, os_purpose='generic')
    cand = image('2026-11-23T08:00:00Z', visibility='private', os_purpose='generic')
    after, result = run([old, cand], policy(name=NAME, naming='scs', candidate=cand['id'], previous_visibility='hidden',
                                            properties={'os_purpose': 'generic'}))
    assert changes(result) == [('demote', old['id']), ('promote', cand['id'])]
    names = by_name(after)
    assert names[NAME]['id'] == cand['id'] and names[NAME]['properties']['os_purpose'] == 'generic'
    previous = names[NAME + ' 20261122']
    assert (previous['visibility'], previous['os_hidden'], previous['properties']['os_purpose']) == ('public', True, 'oldgeneric')


def test_changed_common_properties_fold_into_the_rename_patch():
    old = image('2026-11-22T08:00:00Z', name=LATEST, hw_disk_bus='virtio', legacy='1')
    cand = image('2026-11-23T08:00:00Z', visibility='private')
    result = plan([old, cand], policy(candidate=cand['id'], properties={'hw_disk_bus': 'scsi', 'legacy': None}), NOW)
    demote = [a for a in result.actions if a['id'] == old['id'] and a['action'] != 'keep']
    assert len(demote) == 1
    assert {op['path'] for op in demote[0]['patch']} == {'/name', '/visibility', '/hw_disk_bus', '/legacy',
                                                         '/cloudimages_demoted_at'}
    assert demote[0]['after']['properties'] == {'hw_disk_bus': 'scsi', 'legacy': None, 'cloudimages_demoted_at': NOW}
    assert demote[0]['before']['properties'] == {'hw_disk_bus': 'virtio', 'legacy': '1', 'cloudimages_demoted_at': None}


def test_reconcile_only():
    latest = image('2026-11-22T08:00:00Z', name=LATEST, a='1')
    result = plan([latest], policy(properties={'a': 2}), NOW)
    assert changes(result) == [('reconcile', latest['id'])]
    assert result.actions[0]['patch'] == [{'op': 'replace', 'path': '/a', 'value': '2'}]
    assert not plan([latest], policy(properties={'a': '1'}), NOW).changed


def test_property_keys_are_json_pointer_escaped():
    assert patch_ops({'properties': {}}, {'properties': {'a/b~c': 'x'}}) == [{'op': 'add', 'path': '/a~1b~0c', 'value': 'x'}]
    # Booleans compare as Glance stores them, whatever their case.
    assert patch_ops({'properties': {'hw_qemu_guest_agent': 'true'}}, {'properties': {'hw_qemu_guest_agent': True}}) == []


def test_retired_states():
    imgs = [image('2026-11-29T08:00:00Z', name=LATEST), image('2026-11-01T08:00:00Z', visibility='community')]
    after, result = run(imgs, policy(retired=True))
    assert result.latest is None
    assert {(i['name'], i['visibility'], i['os_hidden']) for i in after} == {
        (NAME + ' - 2026-11-29', 'community', False), (NAME + ' - 2026-11-01', 'community', False)}
    after = run(imgs, policy(retired=True, retired_state='hidden'))[0]
    assert by_name(after)[NAME + ' - 2026-11-29']['os_hidden'] is True
    assert by_name(after)[NAME + ' - 2026-11-01']['os_hidden'] is False
    after, result = run(imgs, policy(retired=True, retired_state='delete_unused', keep=5, demoted_grace_hours=0))
    assert after == [] and [a['action'] for a in result.actions] == ['demote', 'rename', 'delete', 'delete']


def test_stale_uploads_are_cleaned_up_after_stale_after():
    old_queued = image('2026-11-30T05:00:00Z', visibility='private', status='queued')
    new_saving = image('2026-11-30T11:30:00Z', visibility='private', status='saving')
    killed = image('2026-11-29T11:00:00Z', visibility='private', status='killed', protected=True)
    result = plan([old_queued, new_saving, killed], policy(stale_after=3600), NOW)
    assert changes(result) == [('cleanup', old_queued['id'])]


def test_deactivated_image_never_becomes_latest():
    broken = image('2026-11-29T08:00:00Z', name=LATEST, status='deactivated')
    good = image('2026-11-28T08:00:00Z', visibility='community', name=NAME + ' - 2026-11-28')
    after, result = run([broken, good], policy())
    assert result.latest == good['id']
    assert by_name(after)[LATEST]['id'] == good['id']
    assert changes(result) == [('demote', broken['id']), ('promote', good['id'])]


def test_protected_images_are_never_touched():
    old = image('2026-11-22T08:00:00Z', name=LATEST, protected=True)
    cand = image('2026-11-23T08:00:00Z', visibility='private')
    result = plan([old, cand], policy(candidate=cand['id'], properties={'a': '1'}, keep=1, delete_unused=True), NOW)
    assert [a['action'] for a in result.actions if a['id'] == old['id']] == ['keep']
    assert 'still carries the latest name' in result.warnings[0]


def test_candidate_older_than_latest_is_not_promoted():
    latest = image('2026-11-23T08:00:00Z', name=LATEST)
    cand = image('2026-11-22T08:00:00Z', visibility='private', name='candidate')
    result = plan([latest, cand], policy(candidate=cand['id']), NOW)
    assert result.latest == latest['id'] and 'older than the current latest' in result.warnings[0]
    assert not result.changed
    assert result.kept[-1]['reasons'] == ['unpromoted candidate']


def test_other_candidates_are_left_alone():
    latest = image('2026-11-22T08:00:00Z', name=LATEST)
    other = image('2026-11-23T08:00:00Z', visibility='private', name='under boot test')
    result = plan([latest, other], policy(), NOW)
    assert not result.changed
    assert result.kept[-1] == {'id': other['id'], 'name': 'under boot test', 'reasons': ['unpromoted candidate'], 'servers': [], 'volumes': []}


@pytest.mark.parametrize('mutate, message', [
    (lambda c: c.update(status='queued'), 'is queued, not active'),
    (lambda c: c.update(protected=True), 'is protected'),
    (lambda c: c.update(tags=[]), 'not a managed image of release ubuntu-24.04 \\(tag managed_by_example: missing'),
    (lambda c: c['properties'].update(cloudimages_release='debian-12'), "cloudimages_release='debian-12'"),
])
def test_bad_candidates(mutate, message):
    cand = image('2026-11-23T08:00:00Z', visibility='private')
    mutate(cand)
    with pytest.raises(PlanError, match=message):
        plan([cand], policy(candidate=cand['id']), NOW)


def test_unknown_candidate():
    with pytest.raises(PlanError, match='does not exist or is not visible'):
        plan([], policy(candidate='nope'), NOW)


@pytest.mark.parametrize('kwargs, message', [
    (dict(previous_visibility='private'), 'previous_visibility must be one of community, hidden'),
    (dict(retired_state='gone'), 'retired_state must be one of'),
    (dict(keep=0), 'keep must be an integer >= 1'),
    (dict(keep='2'), 'keep must be an integer'),
    (dict(min_age_days=-1), 'min_age_days must be'),
    (dict(delete_unused='yes'), 'delete_unused must be true or false'),
    (dict(retired=True, candidate='x'), 'a retired release takes no candidate'),
    (dict(properties={'visibility': 'public'}), 'may not set Glance attributes'),
    (dict(properties={'cloudimages_build': '1'}), 'managed identity: cloudimages_build'),
    (dict(properties={'os_glance_x': '1'}), 'os_glance_x'),
    (dict(properties={'a': [1]}), 'property a must be a string'),
    (dict(properties={'uuid_validity': 'last-two'}), 'uuid_validity must be none, notice, forever, last-N or YYYY-MM-DD'),
    (dict(naming='oim'), 'naming must be one of'),
    (dict(stale_after=-5), 'stale_after must be'),
])
def test_bad_policies_are_refused(kwargs, message):
    with pytest.raises(PlanError, match=message):
        policy(**kwargs)


def test_bad_provider_and_release():
    with pytest.raises(PlanError, match='provider must be'):
        Policy('Bad Provider', RELEASE, NAME)
    with pytest.raises(PlanError, match='release_key must be'):
        Policy(PROVIDER, '', NAME, owners=OWNERS)


def test_empty_group_plans_nothing():
    result = plan([], policy(), NOW)
    assert isinstance(result, Plan) and not result.changed and result.latest is None
    assert result.as_dict()['diff'] == {'before': {}, 'after': {}}


def test_tag_constant_matches_policy():
    assert policy().tag == TAG


@pytest.mark.parametrize('current,wanted,same', [
    (True, 'yes', True), (True, 'True', True), (False, 'no', True), (True, 'no', False),
    ('yes', 'yes', True), ('yes', 'True', False), ('x', 'x', True),
])
def test_same_value_reads_sdk_booleans(current, wanted, same):
    """openstacksdk returns os_require_quiesce='yes' as True: that must not reconcile every run."""
    assert same_value(current, wanted) is same


def test_candidate_with_an_older_build_than_latest_is_not_promoted():
    """A replayed old index on a fresh controller: the new upload holds yesterday's build."""
    latest = image('2026-11-23T08:00:00Z', name=LATEST, cloudimages_build='20261123', image_build_date='2026-11-23')
    older = image('2026-11-16T08:00:00Z', name=NAME + ' 2026-11-16', visibility='community',
                  cloudimages_build='20261116')
    cand = image('2026-11-24T08:00:00Z', visibility='private', name='candidate', cloudimages_build='20261116',
                 image_build_date='2026-11-16')
    result = plan([latest, older, cand], policy(candidate=cand['id']), NOW)
    assert result.latest == latest['id']
    assert result.warnings == ['candidate %s holds build 20261116 (2026-11-16), older than 20261123 (2026-11-23) of '
                               'the current latest %s: not promoted, the upstream index went back (refusing a '
                               'rollback)' % (cand['id'], latest['id'])]
    assert not [a for a in result.actions if a['id'] in (cand['id'], latest['id']) and a['action'] != 'keep']
    assert [k['reasons'] for k in result.kept if k['id'] == cand['id']] == [['unpromoted candidate']]
    # Applying the plan changes nothing: the next run (no candidate) plans the same.
    after = apply([latest, older, cand], result.actions)
    assert plan(after, policy(), NOW).latest == latest['id'] and not plan(after, policy(), NOW).changed


def test_flatcar_candidate_with_a_fresh_date_but_an_older_version_is_not_promoted():
    latest = image('2026-11-23T08:00:00Z', name=LATEST, cloudimages_build='4487.1.0', image_build_date='2026-11-23')
    cand = image('2026-11-24T08:00:00Z', visibility='private', cloudimages_build='4459.2.1',
                 image_build_date='2026-11-24')
    assert plan([latest, cand], policy(candidate=cand['id']), NOW).latest == latest['id']


@pytest.mark.parametrize('build,build_date', [('20261124', '2026-11-24'), ('20261123.1', '2026-11-23'),
                                              ('20261123', '2026-11-23')])
def test_candidate_with_a_newer_or_the_same_build_is_promoted(build, build_date):
    latest = image('2026-11-23T08:00:00Z', name=LATEST, cloudimages_build='20261123', image_build_date='2026-11-23')
    cand = image('2026-11-24T08:00:00Z', visibility='private', cloudimages_build=build, image_build_date=build_date)
    result = plan([latest, cand], policy(candidate=cand['id']), NOW)
    assert result.latest == cand['id'] and not result.warnings
    assert [a['action'] for a in result.actions if a['id'] == cand['id']] == ['promote', 'keep']  # keep: latest


def test_another_projects_copy_of_our_tag_is_never_part_of_the_group():
    """Tag and properties are public: a tenant's newer 'build' with them must not become latest or demote ours."""
    ours = image('2026-11-22T08:00:00Z', name=LATEST)
    old = image('2026-11-01T08:00:00Z', name=NAME + ' - 2026-11-01', visibility='community')
    forged = [image('2026-11-29T08:00:00Z', name=LATEST, visibility=v, owner='proj-tenant') for v in ('community', 'shared')]
    forged.append(image('2026-11-10T08:00:00Z', name='stale', status='queued', owner='proj-tenant'))
    after, result = run([ours, old] + forged, policy(keep=1, delete_unused=True))
    assert result.latest == ours['id']
    assert {a['id'] for a in result.actions} <= {ours['id'], old['id']}
    assert changes(result) == [('delete', old['id'])]
    assert [i for i in after if i['owner'] == 'proj-tenant'] == forged


def test_another_projects_image_is_refused_as_candidate():
    ours = image('2026-11-22T08:00:00Z', name=LATEST)
    forged = image('2026-11-29T08:00:00Z', visibility='private', owner='proj-tenant')
    with pytest.raises(PlanError, match='owner proj-tenant, not one of owners proj-provider'):
        plan([ours, forged], policy(candidate=forged['id']), NOW)


def test_an_explicit_owner_list_takes_every_listed_project():
    ours = image('2026-11-22T08:00:00Z', name=LATEST)
    second = image('2026-11-29T08:00:00Z', visibility='private', owner='proj-second')
    result = plan([ours, second], policy(candidate=second['id'], owners=['proj-provider', 'proj-second']), NOW)
    assert result.latest == second['id'] and changes(result) == [('demote', ours['id']), ('promote', second['id'])]


def test_latest_suffix_profile_marks_old_generic_too():
    old = image('2026-11-22T08:00:00Z', name=LATEST, os_purpose='generic')
    cand = image('2026-11-23T08:00:00Z', visibility='private', os_purpose='generic')
    after, result = run([old, cand], policy(candidate=cand['id'], properties={'os_purpose': 'generic'}))
    assert changes(result) == [('demote', old['id']), ('promote', cand['id'])]
    names = by_name(after)
    assert names[LATEST]['properties']['os_purpose'] == 'generic'
    previous = names[NAME + ' - 2026-11-22']
    assert (previous['visibility'], previous['properties']['os_purpose']) == ('community', 'oldgeneric')


def test_scs_dated_name_is_the_build_date():
    old = image('2026-11-22T08:00:00Z', name='Ubuntu 24.04', os_purpose='generic', image_build_date='2026-11-19')
    cand = image('2026-11-23T08:00:00Z', visibility='private', os_purpose='generic')
    after, _result = run([old, cand], policy(name='Ubuntu 24.04', naming='scs', candidate=cand['id']))
    assert {'Ubuntu 24.04', 'Ubuntu 24.04 20261119'} == set(by_name(after))


def test_planned_candidate_shows_the_whole_rotation_a_new_build_will_bring():
    from datetime import datetime, timezone  # pylint: disable=import-outside-toplevel
    from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance_upload import planned_image  # pylint: disable=import-outside-toplevel
    current = image('2026-11-22T08:00:00Z', name=LATEST, os_purpose='generic')
    release = {'key': 'ubuntu-24.04', 'version': '20261130', 'checksum': 'sha256:' + 'ab' * 32, 'build_date': '2026-11-29',
               'image_source': 'https://cloud-images.ubuntu.com/noble/x.img', 'disk_format': 'qcow2'}
    stand_in = planned_image(NAME + ' (candidate 20261130)', PROVIDER, release, RELEASE, {'os_purpose': 'generic'},
                             datetime(2026, 11, 30, 12, tzinfo=timezone.utc), OWNER)
    assert stand_in['id'] == 'planned build 20261130' and stand_in['visibility'] == 'private'
    assert stand_in['properties']['image_build_date'] == '2026-11-29' and stand_in['properties']['os_purpose'] == 'generic'
    result = plan([current, stand_in], policy(candidate=stand_in['id'], properties={'os_purpose': 'generic'}), NOW)
    assert changes(result) == [('demote', current['id']), ('promote', stand_in['id'])]
    assert result.actions[1]['after']['name'] == LATEST and result.actions[0]['after']['properties'] == {
        'os_purpose': 'oldgeneric', 'cloudimages_demoted_at': NOW}


def latest_names(images, pol):
    """Images a member can find by the latest name (every promoted one; a candidate is private)."""
    return [i['id'] for i in images if i['name'] == pol.naming.latest and i['visibility'] != 'private']


@pytest.mark.parametrize('pol_kwargs', [
    dict(),
    dict(keep=1, delete_unused=True),
    dict(naming='scs', previous_visibility='hidden', properties={'os_purpose': 'generic'}),
])
def test_no_kill_point_of_a_promotion_leaves_two_latest_and_every_one_converges(pol_kwargs):
    """Killed after any action: never two images with the latest name; the rerun ends where a whole run does."""
    cand = image('2026-11-23T08:00:00Z', visibility='private', name='candidate', os_purpose='generic')
    pol = policy(candidate=cand['id'], **pol_kwargs)
    older = image('2026-11-20T08:00:00Z', name=NAME + ' - 2026-11-20', visibility='community', os_purpose='generic')
    old = image('2026-11-22T08:00:00Z', name=pol.naming.latest, os_purpose='generic')
    whole, result = run([older, old, cand], pol)
    assert [a['action'] for a in result.actions[:2]] == ['demote', 'promote']
    for killed_after in range(len(result.actions) + 1):
        left = run([older, old, cand], pol, limit=killed_after)[0]
        assert len(latest_names(left, pol)) <= 1, killed_after
        again = run(left, pol)[0]
        assert sorted(again, key=lambda i: i['id']) == sorted(whole, key=lambda i: i['id'])


def test_killed_between_demote_and_promote_leaves_one_or_no_latest_and_the_next_run_restores_one():
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    cand = image('2026-11-23T08:00:00Z', visibility='private', name='candidate')
    left = run([old, cand], policy(candidate=cand['id']), limit=1)[0]
    assert latest_names(left, policy()) == []
    # The daily sync's rerun finds the candidate of the same build again and promotes it ...
    after, result = run(left, policy(candidate=cand['id']))
    assert changes(result) == [('promote', cand['id'])] and latest_names(after, policy()) == [cand['id']]
    # A rotation without it leaves the demoted version as it is while the candidate it was demoted for
    # waits (the run promoting it may be in flight: see the next test) ...
    after, result = run(left, policy())
    assert changes(result) == [] and latest_names(after, policy()) == [] and result.latest is None
    assert any('%s waits' % cand['id'] in warning for warning in result.warnings), result.warnings
    # ... and gives it the latest name back once that candidate is gone (refused, deleted).
    after, result = run([i for i in left if i['id'] != cand['id']], policy())
    assert changes(result) == [('promote', old['id'])] and latest_names(after, policy()) == [old['id']]


def test_a_run_without_candidate_between_anothers_demotion_and_promotion_makes_no_second_latest():
    """Issue 26: run A demotes the latest for its candidate; run B, without a candidate (a rotation
    only, or a controller that saw an older upstream), plans and applies before A's promotion. B
    used to give the latest name back to the demoted version, and A's promotion made two."""
    older = image('2026-11-20T08:00:00Z', name=NAME + ' - 2026-11-20', visibility='community')
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    cand = image('2026-11-23T08:00:00Z', visibility='private', name='candidate')
    one = plan([older, old, cand], policy(candidate=cand['id']), NOW)
    assert changes(one) == [('demote', old['id']), ('promote', cand['id'])]
    mid = apply([older, old, cand], one.actions, 1)
    mid, two = run(mid, policy(), now='2026-11-30T12:00:01Z')
    end = apply(mid, one.actions[1:])
    assert latest_names(end, policy()) == [cand['id']]
    assert changes(two) == [] and two.latest is None
    final, again = run(end, policy(), now='2026-11-30T12:00:02Z')
    assert changes(again) == [] and latest_names(final, policy()) == [cand['id']]


def test_undo_ops_give_back_what_a_demotion_changed():
    old = image('2026-11-22T08:00:00Z', name=LATEST, os_purpose='generic', legacy='1')
    cand = image('2026-11-23T08:00:00Z', visibility='private', name='candidate')
    pol = policy(candidate=cand['id'], properties={'os_purpose': 'generic', 'legacy': None, 'new': 'x'})
    _after, result = run([old, cand], pol)
    demote = result.actions[0]
    assert demote['action'] == 'demote'
    undone = apply(apply([old, cand], [demote]), [dict(demote, patch=undo_ops(demote))])
    assert {i['id']: i for i in undone}[old['id']] == old


def test_pairs_join_the_demotions_of_the_latest_with_the_promotion_after_them():
    def acts(*kinds):
        return [{'action': kind, 'id': str(n)} for n, kind in enumerate(kinds)]

    steps = pairs(acts('demote', 'demote', 'promote', 'demote', 'rename', 'delete', 'keep'))
    assert [[a['action'] for a in step] for step in steps] == [
        ['demote', 'demote', 'promote'], ['demote'], ['rename'], ['delete'], ['keep']]
    assert [len(step) for step in pairs(acts('promote', 'demote', 'reconcile'))] == [1, 1, 1]
