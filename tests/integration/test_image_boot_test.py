"""cloudimages.openstack.image_boot_test on the local Nova (libvirt, QEMU/TCG), through ansible-playbook.

Servers really boot the mirror's bootable Ubuntu 24.04 build: its console prints
"cloudimages-boot: ubuntu 24.04 <build>" and a login prompt, and no cloud-init message. The servers
have no network (Neutron runs without agents), so the SSH banner check is exercised against a local
listener (a stand-in for a guest's sshd) and, for the failure path, against a server without an address.
"""

from __future__ import annotations

import uuid

import pytest

from playbook_runner import run_playbook
from rotation_helpers import delete_server
from small_qcow2 import delete_image, retry_5xx, upload_private

pytestmark = pytest.mark.needs_nova


@pytest.fixture(scope='module')
def build(booting_cloud, upstream):  # pylint: disable=unused-argument
    """The mirror's bootable Ubuntu 24.04 build (a real disk, about 12 MB)."""
    return upstream.mirror.releases['ubuntu', '24.04']


@pytest.fixture(scope='module')
def qcow2(build):  # pylint: disable=redefined-outer-name
    return build.local_path


@pytest.fixture
def prefix():
    return 'test-boot-%s-' % uuid.uuid4().hex[:8]


@pytest.fixture
def upload(cloud, qcow2):
    """upload(**attrs) -> a private demo image, deleted at teardown if still there."""
    demo, made = cloud.connect('demo'), []

    def make(**attrs):
        made.append(upload_private(demo, qcow2, 'test-boot', **attrs))
        return made[-1]
    yield make
    for image in made:
        delete_image(demo, image.id)


@pytest.fixture(scope='module')
def flavors(cloud):
    """novalid: a disk no host has (the scheduler finds no host: ERROR); overquota: more RAM than demo's quota."""
    admin, tag = cloud.connect('admin'), uuid.uuid4().hex[:8]
    made = {'novalid': admin.compute.create_flavor(name='test-boot-novalid-' + tag, ram=64, vcpus=1, disk=700000, is_public=True),
            'overquota': admin.compute.create_flavor(name='test-boot-overquota-' + tag, ram=60000, vcpus=1, disk=1, is_public=True)}
    yield {key: flavor.name for key, flavor in made.items()}
    for flavor in made.values():
        admin.compute.delete_flavor(flavor.id, ignore_missing=True)


def leftovers(cloud, prefix):
    return [s.id for s in cloud.connect('demo').compute.servers() if s.name.startswith(prefix)]


def exists(cloud, image_id):
    return cloud.connect('demo').image.find_image(image_id, ignore_missing=True) is not None


def test_good_image_passes_and_leaves_nothing(cloud, upload, prefix, ssh_listener, build):  # pylint: disable=redefined-outer-name
    image = upload()
    result = run_playbook('image_boot_test.yml', env=cloud.env(), extra_vars={
        'image_id': image.id, 'prefix': prefix, 'ssh_port': ssh_listener[0], 'build': build.version})
    assert result.rc == 0, result.output
    assert result.changed() == 0
    assert leftovers(cloud, prefix) == []
    assert exists(cloud, image.id)


@pytest.fixture
def foreign_image(cloud, qcow2):
    """A private image of alt, shared with demo and accepted by demo."""
    alt, demo = cloud.connect('alt'), cloud.connect('demo')
    image = upload_private(alt, qcow2, 'test-boot-alt')
    try:
        retry_5xx(alt.image.update_image, image.id, visibility='shared')
        if alt.image.find_member(demo.current_project_id, image.id) is None:
            retry_5xx(alt.image.add_member, image.id, member=demo.current_project_id)
        retry_5xx(demo.image.update_member, demo.current_project_id, image.id, status='accepted')
    except Exception:
        delete_image(alt, image.id)
        raise
    yield image
    delete_image(alt, image.id)


def test_failures_are_clear_and_cleaned_up(cloud, upload, prefix, flavors, foreign_image):
    images = {'error': upload().id, 'marker': upload().id, 'nossh': upload().id, 'mindisk': upload(min_disk=2).id, 'kept': upload().id,
              'foreign': foreign_image.id}
    result = run_playbook('image_boot_test_failures.yml', env=cloud.env(), extra_vars={
        'images': images, 'prefix': prefix, 'novalid_flavor': flavors['novalid'], 'overquota_flavor': flavors['overquota'],
        'alt_id': cloud.connect('alt').current_project_id})
    assert result.rc == 0, result.output
    assert leftovers(cloud, prefix) == []
    # The image is deleted when it was booted and failed, kept when Nova never tried it, when asked to,
    # or when it belongs to another project.
    assert {key: exists(cloud, image_id) for key, image_id in images.items()} == {
        'error': False, 'marker': False, 'nossh': True, 'mindisk': True, 'kept': True, 'foreign': True}


def test_leftover_servers_are_deleted_once_old(cloud, upload, prefix):
    image = upload()
    demo = cloud.connect('demo')
    # Someone's own server named with the prefix, even with the image id in it: no test metadata, so never an orphan.
    flavor = demo.compute.find_flavor('m1.boot', ignore_missing=False)
    named_alike = demo.compute.create_server(name='%s%s-handmade' % (prefix, image.id), image_id=image.id,
                                             flavor_id=flavor.id, networks='none')
    demo.compute.wait_for_server(named_alike, wait=120)
    try:
        result = run_playbook('image_boot_test_orphans.yml', env=cloud.env(), extra_vars={'image_id': image.id, 'prefix': prefix})
        assert result.rc == 0, result.output
        assert leftovers(cloud, prefix) == [named_alike.id]
    finally:
        for server_id in leftovers(cloud, prefix):
            delete_server(demo, server_id)
    assert exists(cloud, image.id)
