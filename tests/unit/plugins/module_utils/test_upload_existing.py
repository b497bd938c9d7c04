"""An existing image of this build is trusted only when its hashes are the verified file's (issue 17, item 2).

A web-download or glance-direct import goes on in Glance after its run is killed, so a private image
with this build's identity may hold bytes nobody compared. The same checks run against the real
Glance in tests/integration/test_impersonation.py; here a dict stands in for Glance's image table.
"""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils import _glance_upload as up

TAG = 'managed_by_example'
IDENTITY = {'cloudimages_release': 'r', 'cloudimages_build': '1', 'cloudimages_digest': 'sha256:' + '0' * 64}
GOOD, BAD = b'the verified bytes', b'what a killed web-download left'
EXPECTED = {'sha512': hashlib.sha512(GOOD).hexdigest(), 'md5': hashlib.md5(GOOD).hexdigest()}


def record(image_id, data, visibility='private', created='2026-11-23T10:00:00Z'):
    return {'id': image_id, 'status': 'active', 'visibility': visibility, 'created_at': created, 'updated_at': created,
            'os_hash_algo': 'sha512', 'os_hash_value': hashlib.sha512(data).hexdigest(),
            'checksum': hashlib.md5(data).hexdigest(), 'tags': [TAG], 'properties': dict(IDENTITY)}


class FakeGlance:
    project_id = 'p'

    def __init__(self, *images):
        self.images = {image['id']: image for image in images}
        self.calls = []

    def list_identity(self, tag, identity):
        return sorted(self.images.values(), key=up.rank)

    def get(self, image_id):
        return self.images.get(image_id)

    def create(self, body):
        self.calls.append('create')
        image = dict(record('new', b''), status='queued', os_hash_value=None, checksum=None, created_at='2026-11-24T10:00:00Z')
        self.images['new'] = image
        return image

    def put_file(self, image_id, reader):
        data = b''.join(reader)
        self.images[image_id].update(status='active', os_hash_value=hashlib.sha512(data).hexdigest(),
                                     checksum=hashlib.md5(data).hexdigest())

    def delete(self, image_id):
        self.calls.append('delete %s' % image_id)
        self.images.pop(image_id, None)


def uploader(glance, tmp_path):
    path = tmp_path / 'image.qcow2'
    path.write_bytes(GOOD)
    return up.Uploader(glance, {'name': 'x'}, TAG, IDENTITY, filename=str(path), expected=EXPECTED, poll=0, sleep=lambda s: None)


def test_private_image_with_other_bytes_is_deleted_and_uploaded_anew(tmp_path):
    glance = FakeGlance(record('left', BAD))
    run = uploader(glance, tmp_path)
    assert run.plan() == (None, ['left'])   # check mode says so too
    result = run.run()
    assert glance.calls == ['delete left', 'create']
    assert result['created'] and result['deleted'] == ['left'] and result['image']['id'] == 'new'
    assert result['image']['os_hash_value'] == EXPECTED['sha512']
    assert 'image left of this build was not promoted yet and does not hold the verified bytes' in run.warnings[0]


@pytest.mark.parametrize('visibility', ['private', 'shared'])
def test_private_image_with_the_verified_bytes_is_the_result(tmp_path, visibility):
    glance = FakeGlance(record('left', GOOD, visibility))
    result = uploader(glance, tmp_path).run()
    assert glance.calls == [] and not result['created'] and result['image']['id'] == 'left'


@pytest.mark.parametrize('visibility', ['public', 'community'])
def test_promoted_image_with_other_bytes_is_an_error_and_kept(tmp_path, visibility):
    glance = FakeGlance(record('latest', BAD, visibility))
    with pytest.raises(up.UploadError, match='does not match expected_digests'):
        uploader(glance, tmp_path).run()
    assert glance.calls == [] and 'latest' in glance.images


def test_image_that_cannot_be_compared_is_an_error_not_a_candidate(tmp_path):
    glance = FakeGlance(dict(record('left', BAD), os_hash_algo=None, os_hash_value=None, checksum=None))
    with pytest.raises(up.UploadError, match='cannot verify image left'):
        uploader(glance, tmp_path).run()
    assert 'left' in glance.images
