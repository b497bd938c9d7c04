"""cloudimages.openstack.image_usage_info against real Nova and Cinder, through ansible-playbook."""

from __future__ import annotations

import pytest

from playbook_runner import run_playbook
from rotation_helpers import Group, boot_server, delete_server, delete_volume, make_volume, tiny_qcow2


@pytest.fixture(scope='module')
def qcow2(tmp_path_factory):
    return tiny_qcow2(tmp_path_factory.mktemp('usage'))


@pytest.fixture
def group(cloud, qcow2):
    made = Group(cloud, qcow2)
    yield made
    made.cleanup()


def test_usage_of_unused_images(cloud, group):
    unused = group.candidate()
    result = run_playbook('image_usage_info.yml', env=cloud.env(), extra_vars={
        'provider': group.provider, 'release_key': group.release_key, 'used': '', 'unused': unused,
        'server': '', 'volume': '', 'demo_project': ''})
    assert result.rc == 0, result.output
    assert result.changed() == 0


@pytest.mark.needs_nova
@pytest.mark.needs_cinder
def test_usage_by_servers_and_volumes_in_other_projects(cloud, group):
    admin, demo = group.admin, cloud.connect('demo')
    used = group.candidate(visibility='community')
    unused = group.candidate()
    server = boot_server(demo, admin, used, 'usage-%s' % group.provider)
    try:
        volume = make_volume(demo, used, 'usage-%s' % group.provider)
        try:
            result = run_playbook('image_usage_info.yml', env=cloud.env(), extra_vars={
                'provider': group.provider, 'release_key': group.release_key, 'used': used, 'unused': unused,
                'server': server.id, 'volume': volume.id, 'demo_project': demo.current_project_id})
            assert result.rc == 0, result.output
            assert result.changed() == 0
        finally:
            delete_volume(demo, volume.id)
    finally:
        delete_server(demo, server.id)
