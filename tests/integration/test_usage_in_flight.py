"""No image someone uses is deleted: under another Cinder admin rule, with a soft-deleted server,
with users still being created, and while nova-api hangs (issue 26). Real Nova and Cinder.

Each test makes a group with a Latest and one older build past every promise (keep 1,
demoted_grace_hours 0), gives the older build a user in another project, checks that rotation
keeps it, removes the user, and checks that rotation deletes it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import pytest
from localcloud.process import alive, descendants

from playbook_runner import run_playbook
from rotation_helpers import Group, delete_server, delete_volume, make_volume, tiny_qcow2

pytestmark = [pytest.mark.needs_nova, pytest.mark.needs_cinder]


@pytest.fixture(scope='module')
def qcow2(tmp_path_factory):
    return tiny_qcow2(tmp_path_factory.mktemp('in_flight'))


@pytest.fixture
def group(cloud, qcow2):
    made = Group(cloud, qcow2)
    yield made
    made.cleanup()


def old_and_latest(group):
    old = group.candidate(visibility='community')
    latest = group.candidate(visibility='public', name=group.latest)
    return old, latest


def rotate(group, **kwargs):
    """One rotation (list, plan, usage, execute); the old build's fate: 'deleted' or its keep reasons."""
    result, outcomes = group.run(keep=1, delete_unused=True, demoted_grace_hours=0, **kwargs)
    return result, dict(zip([a['id'] for a in result.actions], outcomes))


def kept_reasons(result, image_id):
    return [reason for entry in result.kept if entry['id'] == image_id for reason in entry['reasons']]


def deleted(result, outcomes, image_id):
    return any(a['action'] == 'delete' and a['id'] == image_id for a in result.actions) and outcomes[image_id] == 'done'


@contextlib.contextmanager
def paused(cloud, name):
    """SIGSTOP a service of the stack (its process tree, by the pids the stack recorded); SIGCONT always."""
    pid, starttime = cloud.stack.daemons.read(name)
    assert alive(pid, starttime)
    tree = [pid] + descendants(pid)
    for each in tree:
        os.kill(each, signal.SIGSTOP)
    try:
        yield
    finally:
        for each in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(each, signal.SIGCONT)


def test_cinder_under_another_admin_rule_deletes_nothing_and_names_the_rule(cloud, group):
    """context_is_admin: role:cloud_admin: the admin token keeps the admin role, Cinder drops all_tenants."""
    demo = cloud.connect('demo')
    old, _latest = old_and_latest(group)
    volume = make_volume(demo, old, 'policy-%s' % group.provider)
    policy = cloud.stack.layout.etc / 'cinder' / 'policy.yaml'
    try:
        # oslo.policy rereads a policy file whose modification time changed, at the next request.
        policy.write_text('"context_is_admin": "role:cloud_admin"\n', encoding='utf-8')
        deadline = time.monotonic() + 60
        while group.admin.block_storage.get('/volumes?all_tenants=1&limit=1&project_id=x', microversion='3.33',
                                            raise_exc=False).status_code != 400:
            assert time.monotonic() < deadline, 'cinder-api did not load the policy file'
            time.sleep(1)
        # Role names say admin; Cinder lists no other project's volume (the silent drop of issue 26).
        assert 'admin' in group.admin.session.auth.get_access(group.admin.session).role_names
        assert volume.id not in [v.id for v in group.admin.block_storage.volumes(all_projects=True)]
        result, outcomes = rotate(group)
        assert not deleted(result, outcomes, old) and old in group.images()
        (reason,) = kept_reasons(result, old)
        assert reason.startswith('usage incomplete, refusing to delete') and 'Cinder' in reason
        assert 'context_is_admin' in reason
        assert any(w.startswith('deletions skipped') for w in result.warnings)
    finally:
        policy.write_text('"context_is_admin": "role:admin"\n', encoding='utf-8')
        deadline = time.monotonic() + 60
        while group.admin.block_storage.get('/volumes?all_tenants=1&limit=1&project_id=x', microversion='3.33',
                                            raise_exc=False).status_code != 200 and time.monotonic() < deadline:
            time.sleep(1)
    try:
        result, outcomes = rotate(group)
        assert kept_reasons(result, old) == ['in use by volume %s (project %s)' % (volume.id, demo.current_project_id)]
    finally:
        delete_volume(demo, volume.id)
    result, outcomes = rotate(group)
    assert deleted(result, outcomes, old) and old not in group.images()


def test_a_soft_deleted_server_keeps_its_image_and_restore_still_works(cloud, group):
    demo = cloud.connect('demo')
    old, _latest = old_and_latest(group)
    flavor = group.admin.compute.find_flavor('m1.boot')
    server = demo.compute.create_server(name='soft-%s' % group.provider, image_id=old, flavor_id=flavor.id,
                                        networks='none')
    try:
        server = demo.compute.wait_for_server(server, status='ACTIVE', failures=['ERROR'], wait=180)
        demo.compute.delete_server(server.id)  # reclaim_instance_interval: a soft delete
        server = demo.compute.wait_for_status(server, 'SOFT_DELETED', failures=['ERROR'], wait=120)
        # Nova's default listing leaves it out; only the admin filter deleted shows it.
        assert server.id not in [s.id for s in group.admin.compute.servers(all_projects=True, image=old)]
        result, outcomes = rotate(group)
        assert not deleted(result, outcomes, old)
        assert kept_reasons(result, old) == ['in use by server %s (project %s, SOFT_DELETED)'
                                             % (server.id, demo.current_project_id)]
        # The point of keeping it: restore brings the server back on its image.
        demo.compute.post('/servers/%s/action' % server.id, json={'restore': None}).raise_for_status()
        demo.compute.wait_for_server(server, status='ACTIVE', failures=['ERROR'], wait=120)
    finally:
        delete_server(demo, server.id)
    result, outcomes = rotate(group)
    assert deleted(result, outcomes, old) and old not in group.images()


def test_users_still_being_created_postpone_deletes(cloud, group):
    """cinder-volume paused: a volume from the image stays 'creating' and a boot-from-volume server
    stays in BUILD with no image id; neither names the image yet."""
    demo = cloud.connect('demo')
    old, _latest = old_and_latest(group)
    flavor = group.admin.compute.find_flavor('m1.boot')
    volume = server = None
    try:
        with paused(cloud, 'cinder-volume'):
            volume = demo.block_storage.create_volume(name='flight-%s' % group.provider, size=1, image_id=old)
            server = demo.compute.create_server(
                name='bfv-%s' % group.provider, flavor_id=flavor.id, networks='none',
                block_device_mapping=[{'boot_index': 0, 'uuid': old, 'source_type': 'image',
                                       'destination_type': 'volume', 'volume_size': 1,
                                       'delete_on_termination': True}])
            time.sleep(3)
            assert demo.block_storage.get_volume(volume.id).status == 'creating'
            built = demo.compute.get_server(server.id)
            assert built.status == 'BUILD' and not built.image
            result, outcomes = rotate(group)
            assert not deleted(result, outcomes, old) and old in group.images()
            (reason,) = kept_reasons(result, old)
            assert reason.startswith('deletes postponed while ')
            assert 'volume %s (project %s) is creating with no image id visible yet' % (
                volume.id, demo.current_project_id) in reason
            assert 'server %s' % server.id in reason
        volume = demo.block_storage.wait_for_status(volume, status='available', failures=['error'], wait=180)
        assert (volume.volume_image_metadata or {}).get('image_id') == old
        delete_server(demo, server.id)
        server = None
        result, outcomes = rotate(group)
        assert kept_reasons(result, old) == ['in use by volume %s (project %s)' % (volume.id, demo.current_project_id)]
    finally:
        if server is not None:
            delete_server(demo, server.id)
        if volume is not None:
            delete_volume(demo, volume.id)
    result, outcomes = rotate(group)
    assert deleted(result, outcomes, old) and old not in group.images()


def test_a_hanging_nova_api_fails_the_usage_step_within_the_timeout_and_the_build_is_published(cloud, group):
    old, latest = old_and_latest(group)
    candidate = group.candidate()
    common = {'provider': group.provider, 'release_key': group.release_key, 'base_name': group.name,
              'candidate': candidate, 'api_timeout': 5}
    with paused(cloud, 'nova-api'):
        start = time.monotonic()
        result = run_playbook('image_rotate_hanging.yml', env=cloud.env(), extra_vars=common, timeout=600)
        elapsed = time.monotonic() - start
    print('image_rotate with nova-api stopped: %.1f s (api_timeout 5 s)' % elapsed)
    assert result.rc == 0, result.output
    images = group.images()
    assert images[candidate]['name'] == group.latest and images[candidate]['visibility'] == 'public'
    assert images[latest]['visibility'] == 'community' and old in images
    assert 'usage unknown: Nova could not be asked' in result.output and 'deletions skipped' in result.output
    # Nova answers again: the next run catches up.
    result = run_playbook('image_rotate_hanging.yml', env=cloud.env(), extra_vars=dict(common, api_timeout=60))
    assert result.rc == 0, result.output
    assert old not in group.images()
