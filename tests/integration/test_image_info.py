"""cloudimages.openstack.image_info against a real Keystone + Glance, through ansible-playbook."""

from __future__ import annotations

import uuid

import pytest

from playbook_runner import run_playbook


@pytest.fixture
def images(cloud):
    """Four queued images (no data needed to be listed) of every visibility, tagged per run."""
    admin = cloud.connect('admin')
    tag = 'run-%s' % uuid.uuid4().hex[:8]
    specs = {
        'public': dict(visibility='public', tags=[tag, 'managed'], os_distro='ubuntu', os_version='24.04'),
        'community': dict(visibility='community', tags=[tag, 'managed'], os_distro='ubuntu', os_version='22.04'),
        'hidden': dict(visibility='public', tags=[tag]),
        'private': dict(visibility='private', tags=[tag], os_distro='ubuntu', os_version='22.04'),
    }
    created = {key: admin.image.create_image(name='image-info-%s-%s' % (tag, key), disk_format='qcow2', container_format='bare',
                                             allow_duplicates=True, **spec) for key, spec in specs.items()}
    # openstacksdk sends os_hidden as a string at create time, which Glance refuses; set it afterwards.
    admin.image.update_image(created['hidden'].id, is_hidden=True)
    yield tag, {key: image.id for key, image in created.items()}
    for image in created.values():
        admin.image.delete_image(image.id, ignore_missing=True)


@pytest.mark.parametrize('check', [False, True], ids=['run', 'check-mode'])
def test_image_info_filters(cloud, images, check):
    tag, ids = images
    result = run_playbook('image_info.yml', env=cloud.env(), extra_vars={'run_tag': tag, 'ids': ids}, check=check)
    assert result.rc == 0, result.output
    assert result.changed() == 0
