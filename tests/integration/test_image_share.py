"""cloudimages.openstack.image_share between the local cloud's demo and alt projects, through ansible-playbook."""

from __future__ import annotations

import uuid

import pytest

from playbook_runner import run_playbook
from small_qcow2 import delete_image, make_qcow2, upload_private


@pytest.fixture(scope='module')
def qcow2(tmp_path_factory):
    return make_qcow2(tmp_path_factory.mktemp('share'))


@pytest.fixture
def demo_image(cloud, qcow2):
    demo = cloud.connect('demo')
    image = upload_private(demo, qcow2, 'test-share')
    yield image
    delete_image(demo, image.id)


@pytest.fixture
def admin_images(cloud):
    """A private and a public image of admin (queued: sharing needs no data)."""
    admin = cloud.connect('admin')
    made = {vis: admin.image.create_image(name='test-share-%s-%s' % (vis, uuid.uuid4().hex[:8]), disk_format='qcow2',
                                          container_format='bare', visibility=vis, allow_duplicates=True)
            for vis in ('private', 'public')}
    yield made
    for image in made.values():
        delete_image(admin, image.id)


def members(conn, image_id):
    return {m.member_id: m.status for m in conn.image.members(image_id)}


def test_demo_shares_with_alt_and_alt_accepts(cloud, demo_image):
    alt = cloud.connect('alt')
    result = run_playbook('image_share.yml', env=cloud.env(),
                          extra_vars={'image_id': demo_image.id, 'image_name': demo_image.name, 'alt_id': alt.current_project_id,
                                      'demo_id': demo_image.owner})
    assert result.rc == 0, result.output
    # Glance now: shared, no members left, and alt no longer sees it.
    demo = cloud.connect('demo')
    assert demo.image.get_image(demo_image.id).visibility == 'shared'
    assert members(demo, demo_image.id) == {}
    assert demo_image.id not in [i.id for i in alt.image.images()]


def test_bad_input_fails_clearly_and_changes_nothing(cloud, demo_image, admin_images):
    alt_id = cloud.connect('alt').current_project_id
    result = run_playbook('image_share_edges.yml', env=cloud.env(), extra_vars={
        'admin_image_id': admin_images['private'].id, 'public_image_id': admin_images['public'].id,
        'demo_image_id': demo_image.id, 'alt_id': alt_id, 'ghost_id': uuid.uuid4().hex})
    assert result.rc == 0, result.output
    demo = cloud.connect('demo')
    assert demo.image.get_image(demo_image.id).visibility == 'private'  # every demo attempt failed or was check mode
    assert members(cloud.connect('admin'), admin_images['private'].id) == {alt_id: 'pending'}


def test_collection_playbook_shares_and_accepts(cloud, demo_image):
    alt = cloud.connect('alt')
    extra = {'share_image_cloud': 'demo', 'share_image_image': demo_image.id, 'share_image_members': [alt.current_project_id],
             'share_image_member_clouds': ['alt']}
    check = run_playbook('cloudimages.openstack.share_image', env=cloud.env(), extra_vars=extra, check=True)
    assert check.rc == 0, check.output
    assert check.changed() == 1  # the owner side would share; the member side waits for it
    assert cloud.connect('demo').image.get_image(demo_image.id).visibility == 'private'
    first = run_playbook('cloudimages.openstack.share_image', env=cloud.env(), extra_vars=extra)
    assert first.rc == 0, first.output
    assert first.changed() == 2  # shared by demo, accepted by alt
    assert members(cloud.connect('demo'), demo_image.id) == {alt.current_project_id: 'accepted'}
    assert demo_image.id in [i.id for i in alt.image.images()]
    second = run_playbook('cloudimages.openstack.share_image', env=cloud.env(), extra_vars=extra)
    assert second.rc == 0, second.output
    assert second.changed() == 0
