"""cloudimages.openstack.upload_private: a customer uploads an own image, for real.

Real ansible-playbook runs of the playbook against the local cloud's ``demo`` project (a
customer) in RegionOne (stores qcow2) and RegionTwo (stores raw), with images served by the
local upstream mirror or made with qemu-img. Every image a test makes carries a provider tag
unique to it and is deleted afterwards.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import uuid

import pytest

from playbook_runner import run_playbook
from upload_support import delete_image, digests, identity_images, make_qcow2, to_raw

PLAYBOOK = 'cloudimages.openstack.upload_private'
RECOMMENDED = {'hw_disk_bus': 'scsi', 'hw_scsi_model': 'virtio-scsi', 'hw_qemu_guest_agent': 'yes', 'os_require_quiesce': 'yes'}
REGIONS = ('RegionOne', 'RegionTwo')


@pytest.fixture
def provider(cloud):
    """A provider tag unique to the test; every image carrying it is deleted afterwards, in both regions."""
    name = 'pv-%s' % uuid.uuid4().hex[:10]
    try:
        yield name
    finally:
        for region in REGIONS:
            conn = cloud.connect('demo', region)
            for image in identity_images(conn, name):
                delete_image(conn, image.id)


def sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.file_digest(handle, 'sha256').hexdigest()


def upload(cloud, tmp_path, provider, source, checksum, region='RegionOne', check=False, name=None, **role_vars):
    extra = {'cloud': 'demo', 'region_name': region, 'image_name': name or 'My image %s' % provider, 'image_source': source,
             'image_checksum': checksum, 'upload_private_provider': provider,
             'upload_private_cache_dir': str(tmp_path / 'cache')}
    extra.update(role_vars)
    return run_playbook(PLAYBOOK, env=cloud.env(), extra_vars=extra, check=check)


def glance_images(cloud, provider, region='RegionOne'):
    """The provider's images in the demo project, as Glance's JSON (every property at the top level)."""
    conn = cloud.connect('demo', region)
    return [conn.image.get('/images/%s' % image.id).json() for image in identity_images(conn, provider)]


def cached_files(tmp_path):
    """Files in the cache (sidecars and locks aside): nothing half-made may remain after a failure."""
    found = []
    for sub in ('files', 'partial'):
        folder = tmp_path / 'cache' / sub
        found += sorted(name for name in os.listdir(folder) if not name.endswith('.json')) if folder.is_dir() else []
    return found


def test_local_file_becomes_a_private_image_with_the_recommended_properties(cloud, provider, tmp_path):
    path = make_qcow2(tmp_path)
    local = dict(digests(path), sha256=sha256(path))

    # Check mode first: nothing copied, nothing created, and it says what would happen.
    checked = upload(cloud, tmp_path, provider, path, 'sha256:' + local['sha256'], check=True)
    assert checked.rc == 0, checked.output[-3000:]
    assert 'Check mode: would copy or download %s' % path in checked.output
    assert glance_images(cloud, provider) == [] and cached_files(tmp_path) == []

    result = upload(cloud, tmp_path, provider, path, 'sha256:' + local['sha256'],
                    upload_private_os_distro='ubuntu', upload_private_os_version='24.04',
                    upload_private_properties={'hw_disk_bus': 'virtio', 'architecture': 'x86_64'})
    assert result.rc == 0, result.output[-3000:]
    assert result.changed() == 2  # copied into the cache, image created
    [image] = glance_images(cloud, provider)
    demo = cloud.connect('demo')
    assert (image['visibility'], image['owner'], image['status']) == ('private', demo.current_project_id, 'active')
    assert (image['name'], image['disk_format'], image['container_format'], image['min_disk']) == (
        'My image %s' % provider, 'qcow2', 'bare', 1)
    assert (image['checksum'], image['os_hash_algo'], image['os_hash_value']) == (local['md5'], 'sha512', local['sha512'])
    assert {k: image.get(k) for k in RECOMMENDED} == dict(RECOMMENDED, hw_disk_bus='virtio')  # given properties win
    assert (image['os_distro'], image['os_version'], image['architecture']) == ('ubuntu', '24.04', 'x86_64')
    assert sorted(image['tags']) == ['managed_by_' + provider, 'os:ubuntu']
    assert (image['cloudimages_digest'], image['cloudimages_build']) == ('sha256:' + local['sha256'], local['sha256'][:12])
    assert 'Created the private image' in result.output

    # Private: another customer project does not see it.
    alt = cloud.connect('alt')
    assert image['id'] not in {i.id for i in alt.image.images(visibility='all')}

    # Again, in check mode and for real: found by its identity, nothing to do.
    for check in (True, False):
        again = upload(cloud, tmp_path, provider, path, 'sha256:' + local['sha256'], check=check,
                       upload_private_os_distro='ubuntu', upload_private_os_version='24.04',
                       upload_private_properties={'hw_disk_bus': 'virtio', 'architecture': 'x86_64'})
        assert again.rc == 0 and again.changed() == 0, again.output[-3000:]
        assert 'of this file exists already' in again.output
    assert [i['id'] for i in glance_images(cloud, provider)] == [image['id']]


def test_url_with_a_bare_sha512_checksum(cloud, provider, tmp_path, upstream):
    info = upstream.mirror.releases['cirros', '0.6']
    url = upstream.server.rewrite(info.image_url)

    checked = upload(cloud, tmp_path, provider, url, info.sha512, check=True)
    assert checked.rc == 0 and 'Check mode: would copy or download %s' % url in checked.output, checked.output[-3000:]
    assert glance_images(cloud, provider) == []

    result = upload(cloud, tmp_path, provider, url, info.sha512)
    assert result.rc == 0, result.output[-3000:]
    [image] = glance_images(cloud, provider)
    assert (image['visibility'], image['checksum'], image['os_hash_value']) == ('private', info.md5, info.sha512)
    assert {k: image.get(k) for k in RECOMMENDED} == RECOMMENDED
    # The identity is the file's sha256 whatever algorithm the checksum used.
    assert image['cloudimages_digest'] == 'sha256:' + info.sha256

    # Given as sha256 the same file is the same image (the cache, keyed by the given digest, fetches it once more).
    again = upload(cloud, tmp_path, provider, url, 'sha256:' + info.sha256)
    assert again.rc == 0 and 'of this file exists already' in again.output, again.output[-3000:]
    assert [i['id'] for i in glance_images(cloud, provider)] == [image['id']]


def test_a_customer_upload_into_every_store_of_a_multi_store_glance(cloud, provider, tmp_path):
    # RegionOne's Glance has two stores; a project member (demo) imports into both, as the image's owner.
    path = make_qcow2(tmp_path)
    result = upload(cloud, tmp_path, provider, path, 'sha256:' + sha256(path), upload_private_method='glance-direct',
                    upload_private_all_stores=True)
    assert result.rc == 0, result.output[-3000:]
    [image] = glance_images(cloud, provider)
    assert sorted(image['stores'].split(',')) == ['local', 'local2'] and image['os_hash_value'] == digests(path)['sha512']


def test_raw_storing_region_gets_the_raw_conversion(cloud, provider, tmp_path):
    path = make_qcow2(tmp_path)
    raw = digests(to_raw(path))
    result = upload(cloud, tmp_path, provider, path, 'sha256:' + sha256(path), region='RegionTwo',
                    upload_private_convert_to_raw=True, upload_private_version='1.4')
    assert result.rc == 0, result.output[-3000:]
    [image] = glance_images(cloud, provider, 'RegionTwo')
    assert (image['visibility'], image['disk_format'], image['min_disk']) == ('private', 'raw', 1)
    assert (image['checksum'], image['os_hash_value']) == (raw['md5'], raw['sha512'])
    assert (image['cloudimages_build'], image['hw_qemu_guest_agent']) == ('1.4', 'yes')
    assert glance_images(cloud, provider, 'RegionOne') == []


def test_wrong_checksum_uploads_nothing(cloud, provider, tmp_path):
    path = make_qcow2(tmp_path)
    wrong = hashlib.sha256(b'not the image').hexdigest()
    result = upload(cloud, tmp_path, provider, path, 'sha256:' + wrong)
    assert result.rc != 0
    assert 'was not uploaded: sha256 mismatch for %s: expected %s, got %s; nothing was added to the cache' % (
        path, wrong, sha256(path)) in result.output, result.output[-3000:]
    assert glance_images(cloud, provider) == [] and cached_files(tmp_path) == []


def test_qcow2_with_a_backing_file_is_refused(cloud, provider, tmp_path):
    """A qcow2 whose backing file is a host file: uploading and booting it would read that file."""
    evil = str(tmp_path / 'evil.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-b', '/etc/hostname', '-F', 'raw', evil, '64M'], check=True)
    result = upload(cloud, tmp_path, provider, evil, 'sha256:' + sha256(evil))
    assert result.rc != 0
    assert 'was not uploaded: image from file://%s rejected' % evil in result.output, result.output[-3000:]
    assert 'is unsafe: qcow2 image names a backing file' in result.output
    assert glance_images(cloud, provider) == [] and cached_files(tmp_path) == []


@pytest.mark.parametrize('role_vars, message', [
    # The rotation policy's check (image_upload validates its policy as image_rotate does).
    ({'upload_private_properties': {'visibility': 'public'}}, 'may not set Glance attributes, reserved os_glance* keys '
                                                              'or the managed identity: visibility'),
    ({'upload_private_disk_format': 'raw'}, 'was declared raw but its content is qcow2'),
    ({'image_checksum': 'sha256:1234'}, 'sha256 digest must have 64 hex characters'),
    ({'upload_private_provider': 'No Spaces'}, 'provider must be 1-63 characters'),
])
def test_bad_input_fails_clearly_and_creates_nothing(cloud, provider, tmp_path, role_vars, message):
    path = make_qcow2(tmp_path)
    extra = {'upload_private_provider': provider, **role_vars}
    checksum = extra.pop('image_checksum', 'sha256:' + sha256(path))
    name = 'My image %s' % provider
    result = upload(cloud, tmp_path, extra.pop('upload_private_provider'), path, checksum, name=name, **extra)
    assert result.rc != 0 and message in result.output, result.output[-3000:]
    assert list(cloud.connect('demo').image.images(name=name)) == []


def test_missing_checksum_is_refused_before_anything_runs(cloud, provider, tmp_path):
    path = make_qcow2(tmp_path)
    result = run_playbook(PLAYBOOK, env=cloud.env(), extra_vars={
        'cloud': 'demo', 'upload_private_name': 'x', 'upload_private_source': path,
        'upload_private_provider': provider, 'upload_private_cache_dir': str(tmp_path / 'cache')})
    assert result.rc != 0 and "'image_checksum' is undefined" in result.output, result.output[-3000:]
    assert glance_images(cloud, provider) == [] and cached_files(tmp_path) == []
