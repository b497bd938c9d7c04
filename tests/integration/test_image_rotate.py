"""cloudimages.openstack.image_rotate against the real local Glance (+ Nova and Cinder where marked)."""

from __future__ import annotations

import threading

import pytest
from keystoneauth1 import session as ks_session

from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import plan
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation_apply import execute, list_group
from playbook_runner import run_playbook
from rotation_helpers import Group, boot_server, created_date, delete_server, delete_volume, make_volume, tiny_qcow2


@pytest.fixture(scope='module')
def qcow2(tmp_path_factory):
    return tiny_qcow2(tmp_path_factory.mktemp('rotate'))


@pytest.fixture
def group(cloud, qcow2):
    made = Group(cloud, qcow2)
    yield made
    made.cleanup()


@pytest.fixture
def requests_seen(monkeypatch):
    """Every HTTP request keystoneauth sends (method, url): a spy, the requests still go out."""
    seen = []
    real = ks_session.Session.request

    def spy(self, url, method, *args, **kwargs):
        seen.append((method, url))
        return real(self, url, method, *args, **kwargs)
    monkeypatch.setattr(ks_session.Session, 'request', spy)
    return seen


def latest_holders(group):
    return [i['id'] for i in group.images().values() if i['name'] == group.latest]


def test_day1_day2_one_patch_per_image(group, requests_seen):
    first = group.candidate(hw_disk_bus='virtio')
    result, outcomes = group.run(candidate=first, properties={'hw_disk_bus': 'scsi', 'os_require_quiesce': True})
    patches = [url for method, url in requests_seen if method == 'PATCH']
    assert [a['action'] for a in result.actions if a['action'] != 'keep'] == ['promote'] and outcomes[0] == 'done'
    assert len(patches) == 1 and patches[0].endswith('/images/%s' % first)
    image = group.images()[first]
    # As Glance stores it (listings read Glance's JSON, not openstacksdk's typed attributes)
    assert (image['name'], image['visibility'], image['properties']['hw_disk_bus'], image['properties']['os_require_quiesce']) == \
        (group.latest, 'public', 'scsi', 'true')

    second = group.candidate()
    del requests_seen[:]
    result, outcomes = group.run(candidate=second, properties={'hw_disk_bus': 'scsi', 'os_require_quiesce': True})
    assert [(a['action'], a['id']) for a in result.actions if a['action'] != 'keep'] == [('demote', first), ('promote', second)]
    patches = [url for method, url in requests_seen if method == 'PATCH']
    assert [p.rsplit('/', 1)[1] for p in patches] == [first, second]  # demote first, then promote: never two Latest
    images = group.images()
    assert latest_holders(group) == [second]
    assert images[second]['properties']['hw_disk_bus'] == 'scsi'  # reconciled in the promote PATCH
    assert (images[first]['name'], images[first]['visibility']) == ('%s - %s' % (group.name, created_date(images[first])), 'community')

    del requests_seen[:]
    result, outcomes = group.run(candidate=second, properties={'hw_disk_bus': 'scsi', 'os_require_quiesce': True})
    assert not result.changed
    assert [m for m, _url in requests_seen if m not in ('GET', 'HEAD')] == []


def test_killed_after_every_step_converges(group):
    """SIGKILL between any two steps: each run does one step and dies; the next run goes on."""
    old = group.candidate(legacy='x')
    group.run(candidate=old)
    older = group.candidate()
    group.run(candidate=older)  # now old is community, older is Latest
    stale = group.candidate(with_data=False)  # queued forever: an upload killed before the data
    new = group.candidate()
    kwargs = dict(candidate=new, properties={'legacy': None, 'replace_frequency': 'quarterly'}, stale_after=0,
                  keep=2, delete_unused=True)
    full_plan = plan(list_group(group.admin, group.provider, group.release_key, group.owners), group.policy(**kwargs), '2100-01-01T00:00:00Z')
    steps = crashes = 0
    while True:
        try:
            result, outcomes = group.run(stop_after=1, **kwargs)
        except GlanceError as exc:
            # The shared Glance (SQLite) sometimes answers 500 under load: one more killed run.
            crashes += 1
            assert (exc.status or 0) >= 500 and crashes <= 5, exc
            continue
        if not result.changed:
            break
        steps += 1
        assert outcomes == ['done'], (result.actions[0], outcomes)
        assert len(latest_holders(group)) in (0, 1)  # never two; none only between demote and promote
        assert steps <= len(full_plan.actions)
    images = group.images()
    assert latest_holders(group) == [new]
    assert stale not in images
    assert old not in images and older in images  # keep=2: new and older stay, old is unused and goes
    assert all('legacy' not in i['properties'] and i['properties']['replace_frequency'] == 'quarterly' for i in images.values())


def test_two_concurrent_runs(cloud, group):
    old = group.candidate()
    group.run(candidate=old)
    new = group.candidate()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def one_run():
        conn = cloud.connect('admin')
        try:
            pol = group.policy(candidate=new, properties={'p': '1'})
            planned = plan(list_group(conn, group.provider, group.release_key, group.owners), pol, '2026-11-30T00:00:00Z')
            barrier.wait()
            results.append((planned.actions, execute(conn, planned.actions)))
        except Exception as exc:  # pylint: disable=broad-except
            errors.append(exc)
    threads = [threading.Thread(target=one_run) for _i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results[0][0] == results[1][0]  # the same plan from the same state
    images = group.images()
    assert len(images) == 2 and latest_holders(group) == [new]
    assert len({i['name'] for i in images.values()}) == 2
    result, _outcomes = group.run(candidate=new, properties={'p': '1'})
    assert not result.changed


def test_user_image_with_the_latest_name_is_never_touched(cloud, group):
    demo = cloud.connect('demo')
    theirs = demo.image.create_image(name=group.latest, disk_format='qcow2', container_format='bare', data=group.data,
                                     visibility='private', allow_duplicates=True)
    group.extra.append(theirs.id)
    untagged = group.admin.image.create_image(name=group.latest, disk_format='qcow2', container_format='bare', data=group.data,
                                              visibility='public', allow_duplicates=True, cloudimages_release=group.release_key)
    group.extra.append(untagged.id)
    before = [group.admin.image.get_image(i).to_dict() for i in (theirs.id, untagged.id)]
    first = group.candidate()
    group.run(candidate=first)
    second = group.candidate()
    result, _outcomes = group.run(candidate=second, keep=1, delete_unused=True)
    assert {a['id'] for a in result.actions} == {first, second}
    assert [group.admin.image.get_image(i).to_dict() for i in (theirs.id, untagged.id)] == before
    with pytest.raises(Exception, match='not a managed image'):
        group.run(candidate=untagged.id)


def test_bad_candidates_leave_nothing_changed(group):
    queued = group.candidate(with_data=False)
    with pytest.raises(Exception, match='is queued, not active'):
        group.run(candidate=queued)
    with pytest.raises(Exception, match='does not exist or is not visible'):
        group.run(candidate='00000000-0000-0000-0000-000000000000')
    assert group.images()[queued]['visibility'] == 'private'


def demo_owned_group(group, cloud):
    """A group owned by the demo project with two Latest, as a run of an older version that promoted first left it."""
    demo = cloud.connect('demo')
    old = group.candidate(conn=demo)
    new = group.candidate(conn=demo)
    for image_id in (old, new):
        group.admin.image.update_image(image_id, name=group.latest, visibility='public')  # publicize is admin-only
    group.owners = (demo.current_project_id,)
    return old, new


def test_member_without_all_projects_renames_but_refuses_deletes(cloud, group):
    old, new = demo_owned_group(group, cloud)
    demo = cloud.connect('demo')
    result, outcomes = group.run(conn=demo, keep=1, delete_unused=True)
    assert [(a['action'], a['id']) for a in result.actions if a['action'] != 'keep'] == [('demote', old)]
    assert outcomes[0] == 'done'
    reasons = {k['id']: k['reasons'] for k in result.kept}
    assert reasons[old][0].startswith('usage incomplete, refusing to delete: Nova refused to list the servers of all projects (403')
    assert 'Cinder' in reasons[old][0]
    images = group.images()
    assert latest_holders(group) == [new] and images[old]['visibility'] == 'community'


def test_reader_cannot_change_anything(cloud, group):
    old, _new = demo_owned_group(group, cloud)
    with pytest.raises(GlanceError, match='HTTP 403') as refused:
        group.run(conn=cloud.connect('demo-reader'))
    assert refused.value.status == 403
    assert group.images()[old]['name'] == group.latest


def test_playbook_check_run_idempotent_day2(cloud, group):
    first = group.candidate()
    common = {'provider': group.provider, 'release_key': group.release_key, 'base_name': group.name, 'candidate': first}
    result = run_playbook('image_rotate.yml', env=cloud.env(), check=True,
                          extra_vars=dict(common, expect_actions=['promote'], expect_latest=first))
    assert result.rc == 0, result.output
    assert group.images()[first]['visibility'] == 'private'  # check mode changed nothing
    assert '"visibility": "public"' in result.output or 'visibility: public' in result.output  # the diff
    result = run_playbook('image_rotate.yml', env=cloud.env(), extra_vars=dict(common, expect_actions=['promote'], expect_latest=first))
    assert result.rc == 0, result.output
    assert result.changed() == 1
    result = run_playbook('image_rotate.yml', env=cloud.env(), extra_vars=dict(common, expect_actions=[], expect_latest=first))
    assert result.rc == 0, result.output
    assert result.changed() == 0
    second = group.candidate()
    result = run_playbook('image_rotate.yml', env=cloud.env(),
                          extra_vars=dict(common, candidate=second, expect_actions=['demote', 'promote'], expect_latest=second))
    assert result.rc == 0, result.output
    images = group.images()
    assert images[first]['name'] == '%s - %s' % (group.name, created_date(images[first]))
    assert images[first]['visibility'] == 'community'
    assert group.latest in result.output and images[first]['name'] in result.output  # the diff shows before/after names


def test_playbook_clear_errors(cloud, group):
    user_image = group.admin.image.create_image(name=group.latest, disk_format='qcow2', container_format='bare',
                                                allow_duplicates=True)
    group.extra.append(user_image.id)
    result = run_playbook('image_rotate_errors.yml', env=cloud.env(), extra_vars={
        'provider': group.provider, 'release_key': group.release_key, 'base_name': group.name, 'user_image': user_image.id})
    assert result.rc == 0, result.output


def test_playbook_reader_fails_clearly(cloud, group):
    demo_owned_group(group, cloud)
    result = run_playbook('image_rotate_reader.yml', env=cloud.env(), extra_vars={
        'provider': group.provider, 'release_key': group.release_key, 'base_name': group.name})
    assert result.rc == 0, result.output


@pytest.fixture
def resources(cloud):
    """Servers and volumes of the demo project to delete at teardown."""
    demo = cloud.connect('demo')
    made = {'servers': [], 'volumes': []}
    yield made
    for server_id in made['servers']:
        delete_server(demo, server_id)
    for volume_id in made['volumes']:
        delete_volume(demo, volume_id)


@pytest.mark.needs_nova
@pytest.mark.needs_cinder
def test_multi_day_simulation_with_servers_and_volumes(cloud, group, resources):  # pylint: disable=redefined-outer-name
    """Day 1 promote, day 2 rotate; a (shelved) server and a volume keep the old image past retention; freed, it goes."""
    admin, demo = group.admin, cloud.connect('demo')
    day1 = group.candidate()
    group.run(candidate=day1, keep=2, delete_unused=True)
    assert latest_holders(group) == [day1]

    day2 = group.candidate()
    group.run(candidate=day2, keep=2, delete_unused=True)
    images = group.images()
    assert latest_holders(group) == [day2]
    assert (images[day1]['name'], images[day1]['visibility']) == ('%s - %s' % (group.name, created_date(images[day1])), 'community')

    # A customer pinned the previous image by UUID: a server and a volume in the demo project.
    server = boot_server(demo, admin, day1, 'rotate-%s' % group.provider)
    resources['servers'].append(server.id)
    volume = make_volume(demo, day1, 'rotate-%s' % group.provider)
    resources['volumes'].append(volume.id)

    # Day 3: retention says keep only the latest; usage says no.
    result, outcomes = group.run(keep=1, delete_unused=True)
    assert 'delete' not in [a['action'] for a in result.actions]
    kept = {k['id']: k for k in result.kept}[day1]
    assert [s['id'] for s in kept['servers']] == [server.id] and kept['servers'][0]['project_id'] == demo.current_project_id
    assert [v['id'] for v in kept['volumes']] == [volume.id]
    assert day1 in group.images()

    # A shelved (offloaded) server still needs its image to unshelve.
    demo.compute.shelve_server(server)
    demo.compute.wait_for_server(server, status='SHELVED_OFFLOADED', failures=['ERROR'], wait=120)
    delete_volume(demo, volume.id)
    result, outcomes = group.run(keep=1, delete_unused=True)
    kept = {k['id']: k for k in result.kept}[day1]
    assert kept['servers'][0]['status'] == 'SHELVED_OFFLOADED' and kept['volumes'] == []
    assert day1 in group.images()

    # Freed: the next run deletes it.
    delete_server(demo, server.id)
    result, outcomes = group.run(keep=1, delete_unused=True)
    assert [(a['action'], a['id'], o) for a, o in zip(result.actions, outcomes) if a['action'] == 'delete'] == [('delete', day1, 'done')]
    assert sorted(group.images()) == [day2]


@pytest.mark.needs_nova
@pytest.mark.needs_cinder
def test_daily_builds_with_provided_until_stay_at_keep_plus_in_use(cloud, group, resources):  # pylint: disable=redefined-outer-name
    """Six daily builds, each carrying its release's end of support: Glance keeps the latest plus those in use."""
    demo = cloud.connect('demo')
    builds = []
    for day in range(6):
        builds.append(group.candidate(provided_until='2032-05-31'))
        group.run(candidate=builds[-1], keep=1, delete_unused=True, properties={'provided_until': '2032-05-31'})
        if day == 1:
            server = boot_server(demo, group.admin, builds[1], 'retention-%s' % group.provider)
            resources['servers'].append(server.id)
        if day == 3:
            volume = make_volume(demo, builds[3], 'retention-%s' % group.provider)
            resources['volumes'].append(volume.id)
        in_use = [builds[i] for i in (1, 3) if i < day]
        assert sorted(group.images()) == sorted(in_use + [builds[-1]]), day
    assert latest_holders(group) == [builds[-1]]


def test_deactivate_expired_and_retire(group):
    first = group.candidate()
    group.run(candidate=first)
    second = group.candidate()
    result, outcomes = group.run(candidate=second, keep=1, deactivate_expired=True)
    assert [(a['action'], a['id'], o) for a, o in zip(result.actions, outcomes) if a['action'] != 'keep'] == [
        ('demote', first, 'done'), ('promote', second, 'done'), ('deactivate', first, 'done')]
    assert group.images()[first]['status'] == 'deactivated'
    assert not group.run(keep=1, deactivate_expired=True)[0].changed

    # End of security support: the last image keeps working by UUID but leaves the lists.
    group.run(retired=True, retired_state='hidden')
    images = group.images()
    assert latest_holders(group) == []
    # Two builds of one day: the second dated name gets " (2)" (upload order).
    same_day = created_date(images[first]) == created_date(images[second])
    assert images[first]['name'] == '%s - %s' % (group.name, created_date(images[first]))
    assert (images[second]['name'], images[second]['visibility'], images[second]['os_hidden']) == \
        ('%s - %s%s' % (group.name, created_date(images[second]), ' (2)' if same_day else ''), 'public', True)
    assert not group.run(retired=True, retired_state='hidden')[0].changed
    # Later: delete everything once unused.
    result, outcomes = group.run(retired=True, retired_state='delete_unused')
    assert sorted(a['id'] for a in result.actions if a['action'] == 'delete') == sorted([first, second])
    assert group.images() == {}
