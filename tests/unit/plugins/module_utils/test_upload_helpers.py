"""Pure parts of module_utils/glance/_glance_upload.py: identity, create body, ranking, verification."""

from __future__ import annotations

import datetime
import hashlib
import io

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _glance_upload as up
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed

SHA256 = 'sha256:' + 'ab' * 32
RELEASE = {'key': 'ubuntu-24.04', 'distro': 'ubuntu', 'release': '24.04', 'version': '20261116', 'build_date': '2026-11-16',
           'image_source': 'https://cloud-images.ubuntu.com/releases/noble/release-20261116/x.img', 'checksum': 'sha256:' + 'AB' * 32,
           'login_user': 'ubuntu', 'disk_format': 'qcow2'}


def test_normalize_expected():
    assert up.normalize_expected({'MD5': 'AA' * 16, 'sha256': 'BB' * 32}) == {'md5': 'aa' * 16, 'sha256': 'bb' * 32}
    with pytest.raises(ValueError, match='expected_digests.sha512'):
        up.normalize_expected({'sha512': 'abc'})
    with pytest.raises(ValueError, match="'crc32' is not one of md5, sha1, sha256, sha512"):
        up.normalize_expected({'crc32': '0000'})


@pytest.mark.parametrize('weak', [{'md5': 'aa' * 16}, {'sha1': 'aa' * 20}, {'md5': 'aa' * 16, 'sha1': 'aa' * 20}])
def test_md5_or_sha1_alone_are_no_expected_digests(weak):
    with pytest.raises(ValueError, match='alone cannot identify the bytes; add sha256 or sha512'):
        up.normalize_expected(weak)


def test_identity_from_release_and_explicit_overrides():
    assert up.resolve_identity(RELEASE) == {'cloudimages_release': 'ubuntu-24.04', 'cloudimages_build': '20261116',
                                            'cloudimages_digest': SHA256}
    explicit = up.resolve_identity(RELEASE, release_key='ubuntu-24.04-min', build=7, digest='sha512:' + '0' * 128)
    assert explicit == {'cloudimages_release': 'ubuntu-24.04-min', 'cloudimages_build': '7', 'cloudimages_digest': 'sha512:' + '0' * 128}
    with pytest.raises(ValueError, match='md5 alone cannot identify a file'):
        up.resolve_identity(RELEASE, digest='md5:' + '0' * 32)
    with pytest.raises(ValueError, match='identity incomplete: set build, digest'):
        up.resolve_identity(release_key='x')


def test_release_properties():
    assert up.release_properties(RELEASE) == {'image_source': RELEASE['image_source'], 'image_build_date': '2026-11-16',
                                              'image_original_user': 'ubuntu', 'os_version': '24.04',
                                              'cloudimages_trust': 'operator-checksum'}
    assert up.release_properties(None) == {}


FPR = 'F9968AFA1E69FA456C9C10C8C139041AEB1EAA8B'


@pytest.mark.parametrize('fields, trust', [
    ({'checksum_url': 'https://h/SHA256SUMS', 'signature': {'kind': 'detached', 'fingerprint': FPR}}, 'signed:' + FPR),
    ({'checksum_url': 'https://h/stream.json', 'signature': {'kind': 'none', 'fingerprint': None},
      'image_signature_url': 'https://h/x.sig', 'trust': {'fingerprints': [FPR, 'AB' * 20]}}, 'signed:%s,%s' % ('AB' * 20, FPR)),
    ({'checksum_url': 'https://h/SHA512SUMS', 'signature': {'kind': 'none', 'fingerprint': None}}, 'tls-only'),
    ({'checksum_url': 'https://h/SHA512SUMS', 'image_signature_url': 'https://h/x.sig', 'trust': {}}, 'tls-only'),
    ({'checksum_url': None}, 'operator-checksum'),
])
def test_trust_property_says_what_vouches_for_the_bytes(fields, trust):
    assert up.release_properties(dict(RELEASE, **fields))['cloudimages_trust'] == trust


def body(**kwargs):
    args = dict(name='Ubuntu 24.04 candidate', provider='example', identity=up.resolve_identity(RELEASE), disk_format='qcow2',
                min_disk=4, min_ram=512, properties={'os_distro': 'ubuntu', 'hw_qemu_guest_agent': True, 'hw_video_ram': 64})
    args.update(kwargs)
    return up.build_create_body(**args)


def test_create_body_has_everything_and_is_private():
    created = body(tags=['b', 'a'])
    assert created == {
        'name': 'Ubuntu 24.04 candidate', 'visibility': 'private', 'disk_format': 'qcow2', 'container_format': 'bare',
        'min_disk': 4, 'min_ram': 512, 'tags': ['a', 'b', 'managed_by_example', 'os:ubuntu'],
        'os_distro': 'ubuntu', 'hw_qemu_guest_agent': 'true', 'hw_video_ram': '64',
        'cloudimages_release': 'ubuntu-24.04', 'cloudimages_build': '20261116', 'cloudimages_digest': SHA256,
    }
    assert 'os_hidden' not in created, 'Glance refuses os_hidden given as a string at create'


@pytest.mark.parametrize('key', ['visibility', 'checksum', 'os_hash_value', 'cloudimages_digest', 'os_glance_import_task', 'id'])
def test_create_body_refuses_reserved_properties(key):
    with pytest.raises(ValueError, match='properties must not set %s' % key):
        body(properties={key: 'x'})


def test_create_body_checks_provider_name_and_minimums():
    with pytest.raises(ValueError, match='provider must be'):
        body(provider='Has Space')
    with pytest.raises(ValueError, match='min_ram must not be negative'):
        body(min_ram=-1)
    with pytest.raises(ValueError, match='name must be 1-255'):
        body(name='')


def image(image_id, status='active', created='2026-11-23T10:00:00Z', updated=None):
    return {'id': image_id, 'status': status, 'created_at': created, 'updated_at': updated or created}


def test_rank_earlier_created_then_lower_id():
    ordered = sorted([image('b', created='2026-11-23T10:00:01Z'), image('c'), image('a', created='2026-11-23T10:00:01Z')], key=up.rank)
    assert [i['id'] for i in ordered] == ['c', 'a', 'b']


def test_classify_by_status_and_age():
    now = datetime.datetime(2026, 11, 23, 11, 0, tzinfo=datetime.timezone.utc)
    # One clock for upload and rotation: the age since creation (a recent status change keeps nothing alive).
    images = [image('done'), image('off', 'deactivated'), image('dead', 'killed'), image('fresh', 'saving', created='2026-11-23T10:30:00Z'),
              image('stale', 'queued', created='2026-11-23T09:59:59Z', updated='2026-11-23T10:59:00Z'), image('gone', 'pending_delete')]
    done, in_progress, orphans = up.classify(images, now, stale_after=3600)
    assert ([i['id'] for i in done], [i['id'] for i in in_progress], [i['id'] for i in orphans]) == (
        ['done', 'off'], ['fresh'], ['stale', 'dead'])


def test_an_unfinished_image_whose_uploader_is_gone_is_an_orphan_at_once():
    now = datetime.datetime(2026, 11, 23, 11, 0, tzinfo=datetime.timezone.utc)
    young = '2026-11-23T10:59:00Z'

    def run(image_id, status, uploader):
        return dict(image(image_id, status, created=young), properties={_managed.RUN: uploader})

    images = [run('dead-queued', 'queued', 'dead'), run('dead-saving', 'saving', 'dead'),
              run('dead-importing', 'importing', 'dead'),  # Glance finishes an import by itself
              run('live', 'queued', 'live'), image('unknown', 'queued', created=young)]
    done, in_progress, orphans = up.classify(images, now, 3600, gone=lambda run_id: run_id == 'dead')
    assert ([i['id'] for i in in_progress], [i['id'] for i in orphans]) == (
        ['dead-importing', 'live', 'unknown'], ['dead-queued', 'dead-saving'])
    assert not done


def test_rival_rules():
    mine = image('m', 'queued', created='2026-11-23T10:00:05Z')
    later_active = image('z', 'active', created='2026-11-23T10:00:09Z')
    earlier_queued = image('e', 'queued', created='2026-11-23T10:00:01Z')
    later_queued = image('l', 'queued', created='2026-11-23T10:00:09Z')
    assert up.rival(mine, [mine, later_active], after_upload=False) == later_active   # an active image always wins
    assert up.rival(mine, [mine, later_active], after_upload=True) is None             # after upload only rank counts
    assert up.rival(mine, [mine, earlier_queued, later_queued], after_upload=True) == earlier_queued
    assert up.rival(mine, [mine, later_queued], after_upload=False) is None


def test_verify():
    glance = {'id': 'i', 'os_hash_algo': 'sha512', 'os_hash_value': 'a' * 128, 'checksum': 'b' * 32}
    assert up.verify(glance, {'sha512': 'a' * 128}, {'md5': 'b' * 32, 'sha512': 'a' * 128}) == []
    assert up.verify(glance, {'md5': 'c' * 32}) == ['expected md5 %s != Glance %s' % ('c' * 32, 'b' * 32)]
    with pytest.raises(up.UploadError, match='cannot verify image i: Glance reports os_hash_algo=sha512'):
        up.verify(glance, {'sha256': 'd' * 64})


def test_import_failure():
    assert up.import_failure({'properties': {'os_glance_failed_import': 'local'}}) == 'Glance import failed for store(s) local'
    assert up.import_failure({'properties': {'os_glance_failed_import': ''}}) is None


def test_hashing_reader_hashes_what_is_read():
    data = bytes(range(256)) * 5000
    reader = up.HashingReader(io.BytesIO(data), len(data))
    assert len(reader) == len(data)
    assert b''.join(reader) == data and reader.sent == len(data)
    assert reader.digests() == {'md5': hashlib.md5(data).hexdigest(), 'sha256': hashlib.sha256(data).hexdigest(),
                                'sha512': hashlib.sha512(data).hexdigest()}
    counting = up.HashingReader(io.BytesIO(data), len(data), ())
    assert b''.join(counting) == data and counting.sent == len(data) and counting.digests() == {}
