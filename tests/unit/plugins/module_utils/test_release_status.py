"""The daily sync's fast path: a release is settled only when the whole path would change nothing."""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._release_status import assess
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from rotation_sim import OWNERS, PROVIDER, RELEASE, apply, image

NAME = 'Ubuntu 24.04 Noble Numbat'
LATEST = NAME + ' - Latest'
NOW = '2026-11-30T12:00:00Z'
RELEASE_DICT = {'version': '20261129', 'checksum': 'sha256:bb'}
PROPERTIES = {'hw_disk_bus': 'scsi', 'os_require_quiesce': 'yes'}


def policy(**kwargs):
    kwargs.setdefault('properties', PROPERTIES)
    return Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, **kwargs)


def build(created_at, digest, **kwargs):
    props = dict(PROPERTIES, **kwargs.pop('properties', {}))
    props[_managed.DIGEST] = digest
    return image(created_at, **dict(kwargs, **props))


def unused(ids):
    return {'complete': True, 'reason': None, 'images': {i: {'servers': [], 'volumes': []} for i in ids}}


def settled_day():
    """Yesterday's build demoted, today's build latest: what a finished sync leaves."""
    return [build('2026-11-28T08:00:00Z', 'sha256:aa', name=NAME + ' - 2026-11-28', visibility='community'),
            build('2026-11-29T08:00:00Z', 'sha256:bb', name=LATEST)]


def test_new_upstream_build_is_not_settled():
    status = assess(settled_day(), policy(), {'version': '20261130', 'checksum': 'sha256:cc'}, NOW)
    # Yesterday's Latest stays published (and ages) until today's build is through.
    assert status == {'settled': False, 'reason': 'build 20261130 is not in this cloud yet', 'existing': None,
                      'usage_needed': [], 'missing_stores': [], 'warnings': [], 'latest_since': '2026-11-29T08:00:00Z',
                      'kept_in_use': None}


def test_empty_cloud_is_not_settled():
    assert not assess([], policy(), RELEASE_DICT, NOW)['settled']


def test_latest_build_in_final_form_is_settled():
    images = settled_day()
    status = assess(images, policy(), RELEASE_DICT, NOW)
    assert status['settled'] and status['reason'] == 'build 20261129 is here, nothing to change'
    assert status['existing']['id'] == images[1]['id']


def test_latest_missing_a_store_of_the_cloud_is_not_settled():
    images = settled_day()
    images[1]['stores'] = 'az1'
    status = assess(images, policy(), RELEASE_DICT, NOW, stores=['az1', 'az2'])
    assert not status['settled'] and status['reason'] == 'build 20261129 is here but not in the store(s) az2'
    assert status['existing']['id'] == images[1]['id'] and status['missing_stores'] == ['az2']  # image_upload copies it
    assert assess(images, policy(), RELEASE_DICT, NOW, stores=['az1'])['settled']


def test_uploaded_candidate_not_promoted_is_not_settled():
    images = settled_day()[:1] + [build('2026-11-29T08:00:00Z', 'sha256:bb', name='candidate', visibility='private')]
    status = assess(images, policy(), RELEASE_DICT, NOW)
    assert not status['settled'] and status['reason'] == 'build 20261129 is uploaded but not promoted yet'
    assert status['existing']['id'] == images[1]['id']


def test_unfinished_upload_of_the_build_does_not_count():
    images = settled_day()[:1] + [build('2026-11-29T08:00:00Z', 'sha256:bb', name='candidate', visibility='private', status='queued')]
    assert assess(images, policy(), RELEASE_DICT, NOW)['reason'] == 'build 20261129 is not in this cloud yet'


def test_renamed_latest_or_changed_configuration_is_not_settled():
    images = settled_day()
    images[1]['name'] = 'Ubuntu (renamed by hand)'
    assert assess(images, policy(), RELEASE_DICT, NOW)['reason'] == 'rotation to do: promote'
    status = assess(settled_day(), policy(properties={'hw_disk_bus': 'virtio'}), RELEASE_DICT, NOW)
    assert not status['settled'] and status['reason'].startswith('rotation to do')


def test_someone_elses_image_with_the_name_changes_nothing():
    images = settled_day() + [build('2026-11-30T08:00:00Z', 'sha256:bb', name=LATEST, tags=())]
    assert assess(images, policy(), RELEASE_DICT, NOW)['settled']


def test_old_builds_need_usage_then_settle_only_when_in_use():
    images = [build('2026-10-%02dT08:00:00Z' % day, 'sha256:%02d' % day, name=NAME + ' - 2026-10-%02d' % day,
                    visibility='community') for day in range(1, 6)] + settled_day()
    pol = policy(keep=2, delete_unused=True)
    first = assess(images, pol, RELEASE_DICT, NOW)
    assert not first['settled'] and first['usage_needed']
    in_use = unused(first['usage_needed'])
    for entry in in_use['images'].values():
        entry['servers'] = [{'id': 'srv-1', 'name': 'web', 'project_id': 'p', 'status': 'SHUTOFF'}]
    assert assess(images, pol, RELEASE_DICT, NOW, in_use)['settled']
    assert assess(images, pol, RELEASE_DICT, NOW, unused(first['usage_needed']))['reason'] == 'rotation to do: delete'


def test_retired_release_settles_once_retired():
    retired, images = policy(retired=True), settled_day()
    status = assess(images, retired, None, NOW)
    assert not status['settled'] and status['reason'] == 'rotation to do: demote'
    after = apply(images, plan(images, retired, NOW).actions)
    assert assess(after, retired, None, NOW) == {'settled': True, 'reason': 'retired, nothing to change', 'existing': None,
                                                 'usage_needed': [], 'missing_stores': [], 'warnings': [],
                                                 'latest_since': None,
                                                 'kept_in_use': {'builds': 0, 'servers': 0, 'volumes': 0}}


def test_stale_upload_leftover_is_not_settled():
    images = settled_day() + [build('2026-11-29T01:00:00Z', 'sha256:bb', name='candidate', visibility='private', status='saving')]
    assert assess(images, policy(), RELEASE_DICT, NOW)['reason'] == 'rotation to do: cleanup'


def test_the_whole_path_leaves_the_release_settled():
    """Day 2: upload the new build as a candidate, promote it (what release.yml does), and the fast path sees nothing to do."""
    new = {'version': '20261130', 'checksum': 'sha256:cc'}
    candidate = build('2026-11-30T09:00:00Z', 'sha256:cc', name='candidate', visibility='private')
    images = settled_day() + [candidate]
    assert assess(images, policy(), new, NOW)['reason'] == 'build 20261130 is uploaded but not promoted yet'
    after = apply(images, plan(images, policy(candidate=candidate['id']), NOW).actions)
    status = assess(after, policy(), new, NOW)
    assert status['settled'] and status['existing']['id'] == candidate['id'] and status['existing']['name'] == LATEST


def rolled_back_day():
    """Latest holds 20261129; the discovered release (a replayed index) names 20261128."""
    return [build('2026-11-28T08:00:00Z', 'sha256:aa', name=NAME + ' - 2026-11-28', visibility='community',
                  properties={'image_build_date': '2026-11-28'}),
            build('2026-11-29T08:00:00Z', 'sha256:bb', name=LATEST, properties={'image_build_date': '2026-11-29'})]


OLD_RELEASE = {'version': '20261127', 'build_date': '2026-11-27', 'checksum': 'sha256:99'}


def test_older_upstream_build_than_latest_is_settled_with_a_warning():
    images = rolled_back_day()
    status = assess(images, policy(), OLD_RELEASE, NOW, usage=unused([images[0]['id']]))
    message = ('upstream build 20261127 (2026-11-27) is older than 20261129 (2026-11-29) of the current latest %s: '
               'refusing a rollback, the latest stays' % images[1]['id'])
    assert status['settled'] and status['reason'] == message and status['warnings'] == [message]
    assert status['existing'] is None


def test_unpromoted_old_candidate_left_by_a_refused_rollback_does_not_loop():
    # Yesterday's run uploaded the replayed build and image_rotate refused to promote it.
    images = rolled_back_day() + [build('2026-11-30T08:00:00Z', 'sha256:99', name='candidate', visibility='private',
                                        properties={_managed.BUILD: '20261127', 'image_build_date': '2026-11-27'})]
    status = assess(images, policy(), OLD_RELEASE, NOW, usage=unused([images[0]['id']]))
    assert status['settled'] and 'refusing a rollback' in status['reason']
    assert status['existing']['id'] == images[2]['id']


def test_rollback_with_rotation_work_is_not_settled_but_still_warns():
    images = rolled_back_day()
    images[1]['name'] = 'renamed by hand'
    status = assess(images, policy(), OLD_RELEASE, NOW, usage=unused([images[0]['id']]))
    assert not status['settled'] and status['reason'] == 'rotation to do: promote'
    assert 'refusing a rollback' in status['warnings'][-1]


def test_newer_upstream_build_is_no_rollback():
    newer = {'version': '20261130', 'build_date': '2026-11-30', 'checksum': 'sha256:cc'}
    status = assess(rolled_back_day(), policy(), newer, NOW)
    assert not status['settled'] and status['reason'] == 'build 20261130 is not in this cloud yet'


def test_another_projects_image_with_the_vendor_digest_is_not_our_build():
    """A tenant's copy of tag, properties and the vendor's real digest: the build is still not here."""
    images = settled_day()[:1] + [build('2026-11-29T08:00:00Z', 'sha256:bb', name=LATEST, owner='proj-tenant')]
    status = assess(images, policy(), RELEASE_DICT, NOW)
    assert status['existing'] is None and not status['settled']
    assert status['reason'] == 'build 20261129 is not in this cloud yet'


def test_another_projects_images_do_not_unsettle_a_settled_release():
    forged = [build('2026-11-30T08:00:00Z', 'sha256:cc', name=LATEST, owner='proj-tenant', visibility=v)
              for v in ('public', 'community', 'private')]
    status = assess(settled_day() + forged, policy(), RELEASE_DICT, NOW)
    assert status['settled'] and status['warnings'] == []


def test_builds_kept_in_use_are_counted_for_the_morning_view():
    images = [build('2026-10-%02dT08:00:00Z' % d, 'sha256:%02d' % d, name=NAME + ' - 2026-10-%02d' % d,
                    visibility='community') for d in (1, 2, 3)] + settled_day()
    ids = [i['id'] for i in images]
    usage = unused(ids)
    usage['images'][ids[0]]['servers'] = [{'id': 's1', 'project_id': 'p', 'status': 'SOFT_DELETED'},
                                          {'id': 's2', 'project_id': 'p', 'status': 'ACTIVE'}]
    usage['images'][ids[1]]['volumes'] = [{'id': 'v1', 'project_id': 'p', 'status': 'in-use'}]
    status = assess(images, policy(keep=2, delete_unused=True, demoted_grace_hours=0), RELEASE_DICT, NOW, usage)
    assert status['kept_in_use'] == {'builds': 2, 'servers': 2, 'volumes': 1}
