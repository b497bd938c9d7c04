"""The local cloud is real: Glance hashes and converts, Nova boots, Cinder builds volumes from images."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import time
import uuid

import pytest
from rotation_helpers import delete_server


def digest(path, algo):
    with open(path, 'rb') as handle:
        return hashlib.file_digest(handle, algo).hexdigest()


def wait_for(what, fetch, done, failed=(), timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        obj = fetch()
        if done(obj):
            return obj
        if failed and failed(obj):
            pytest.fail('%s failed: %r' % (what, obj))
        if time.monotonic() > deadline:
            pytest.fail('timed out waiting for %s: %r' % (what, obj))
        time.sleep(0.5)


def wait_image_active(conn, image_id, timeout=60):
    return wait_for('image %s active' % image_id, lambda: conn.image.get_image(image_id),
                    lambda img: img.status == 'active', lambda img: img.status in ('killed', 'deleted'), timeout)


@pytest.fixture(scope='module')
def tiny_qcow2(upstream, tmp_path_factory):
    """The mirror's CirrOS image (a real qcow2), its digests computed here, and the md5 of its raw conversion."""
    path = upstream.mirror.releases['cirros', '0.6'].local_path
    raw = tmp_path_factory.mktemp('images') / 'cirros.raw'
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', path, str(raw)], check=True)
    virtual = json.loads(subprocess.run(['qemu-img', 'info', '--output=json', '-f', 'qcow2', path],
                                        check=True, capture_output=True, text=True).stdout)['virtual-size']
    return {'path': path, 'md5': digest(path, 'md5'), 'sha512': digest(path, 'sha512'), 'raw_md5': digest(raw, 'md5'),
            'raw_size': raw.stat().st_size, 'virtual_size': virtual}


@pytest.fixture(scope='module')
def http_url(upstream):
    """The image on the mirror (127.0.0.1: Glance's web-download allow-list has only that literal host)."""
    return upstream.server.rewrite(upstream.mirror.releases['cirros', '0.6'].image_url)


@pytest.fixture
def name():
    return 'test-stack-%s' % uuid.uuid4().hex[:8]


@pytest.fixture
def cleanup():
    """Callables run at teardown, last registered first (server before image)."""
    todo = []
    yield todo.append
    for func in reversed(todo):
        func()


@pytest.fixture(scope='module')
def public_image(cloud, tiny_qcow2):  # pylint: disable=redefined-outer-name
    admin = cloud.connect('admin')
    with open(tiny_qcow2['path'], 'rb') as data:
        image = admin.image.create_image(name='test-stack-public-%s' % uuid.uuid4().hex[:8], disk_format='qcow2',
                                         container_format='bare', visibility='public', data=data, allow_duplicates=True)
    yield wait_image_active(admin, image.id)
    admin.image.delete_image(image.id, ignore_missing=True)


def web_download(conn, image_name, url, cleanup):  # pylint: disable=redefined-outer-name
    image = conn.image.create_image(name=image_name, disk_format='qcow2', container_format='bare', allow_duplicates=True)
    cleanup(functools.partial(conn.image.delete_image, image.id, ignore_missing=True))
    # import_image does not raise on HTTP errors; a refused URI would leave the image queued.
    response = conn.image.import_image(image, method='web-download', uri=url)
    assert response.status_code == 202, response.text
    return wait_image_active(conn, image.id)


def test_upload_is_hashed_with_sha512(public_image, tiny_qcow2):  # pylint: disable=redefined-outer-name
    assert public_image.disk_format == 'qcow2'
    assert public_image.checksum == tiny_qcow2['md5']
    assert public_image.hash_algo == 'sha512'
    assert public_image.hash_value == tiny_qcow2['sha512']
    assert public_image.virtual_size == tiny_qcow2['virtual_size']


def test_web_download_from_loopback(cloud, http_url, tiny_qcow2, name, cleanup):  # pylint: disable=redefined-outer-name
    image = web_download(cloud.connect('admin'), name, http_url, cleanup)
    assert (image.disk_format, image.checksum, image.hash_value) == ('qcow2', tiny_qcow2['md5'], tiny_qcow2['sha512'])


def test_region_two_stores_raw(cloud, http_url, tiny_qcow2, name, cleanup):  # pylint: disable=redefined-outer-name
    region_two = cloud.connect('admin', region='RegionTwo')
    assert region_two.image.get_endpoint() != cloud.connect('admin').image.get_endpoint()
    image = web_download(region_two, name, http_url, cleanup)
    assert image.disk_format == 'raw'
    assert image.checksum == tiny_qcow2['raw_md5']
    assert image.size == tiny_qcow2['raw_size']
    # RegionOne's Glance has its own database: the image does not exist there.
    assert cloud.connect('admin').image.find_image(image.id, ignore_missing=True) is None


def test_random_bytes_declared_qcow2_are_rejected(cloud, name, cleanup):  # pylint: disable=redefined-outer-name
    admin = cloud.connect('admin')
    image = admin.image.create_image(name=name, disk_format='qcow2', container_format='bare', allow_duplicates=True)
    cleanup(functools.partial(admin.image.delete_image, image.id, ignore_missing=True))
    response = admin.image.put('/images/%s/file' % image.id, data=os.urandom(65536), raise_exc=False,
                               headers={'Content-Type': 'application/octet-stream'})
    assert response.status_code == 415, response.text  # "disk_format qcow2 does not match stream data raw"
    assert admin.image.get_image(image.id).status == 'queued'


@pytest.mark.needs_nova
def test_server_from_image_is_seen_by_admin(cloud, public_image, name, cleanup):  # pylint: disable=redefined-outer-name
    admin, demo = cloud.connect('admin'), cloud.connect('demo')
    flavor = admin.compute.find_flavor('m1.boot')
    assert (flavor.ram, flavor.vcpus, flavor.disk) == (256, 1, 1)
    server = demo.compute.create_server(name=name, image_id=public_image.id, flavor_id=flavor.id, networks='none')
    cleanup(lambda: delete_server(demo, server.id))
    demo.compute.wait_for_server(server, status='ACTIVE', failures=['ERROR'], wait=120)
    found = [s.id for s in admin.compute.servers(all_projects=True, image=public_image.id)]
    assert found == [server.id]
    assert [s.id for s in cloud.connect('alt').compute.servers()] == []


@pytest.mark.needs_cinder
def test_volume_from_image_keeps_image_id(cloud, public_image, name, cleanup):  # pylint: disable=redefined-outer-name
    demo = cloud.connect('demo')
    volume = demo.block_storage.create_volume(name=name, size=1, image_id=public_image.id)
    cleanup(lambda: demo.block_storage.wait_for_delete(demo.block_storage.delete_volume(volume.id) or volume, wait=60))
    volume = demo.block_storage.wait_for_status(volume, status='available', failures=['error'], wait=120)
    assert volume.volume_image_metadata['image_id'] == public_image.id
    assert volume.is_bootable
    admin = cloud.connect('admin')
    listed = [v.id for v in admin.block_storage.volumes(all_projects=True, details=True)
              if (v.volume_image_metadata or {}).get('image_id') == public_image.id]
    assert listed == [volume.id]
