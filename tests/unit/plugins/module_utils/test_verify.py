"""Pure comparison logic of image_verify (module_utils/verify/_verify.py)."""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.verify import _verify
from ansible_collections.cloudimages.openstack.plugins.module_utils.verify._verify_upstream import _hash_file

DATA = b'qcow2 bytes'
RAW = b'raw bytes'
SOURCE = 'https://cloud.debian.org/images/cloud/bookworm/20261116-1/debian-12-genericcloud-amd64.qcow2'
UPSTREAM = 'sha512:' + hashlib.sha512(DATA).hexdigest()


def digests(data):
    return {a: hashlib.new(a, data).hexdigest() for a in ('md5', 'sha256', 'sha512')}


def image(image_id='i1', name='Debian 12', visibility='public', data=DATA, disk_format='qcow2', **props):
    properties = {'cloudimages_release': 'debian-12', 'cloudimages_build': '20261116-1',
                  'cloudimages_digest': UPSTREAM, 'image_source': SOURCE}
    properties.update(props)
    properties = {k: v for k, v in properties.items() if v is not None}
    return {'id': image_id, 'name': name, 'visibility': visibility, 'status': 'active', 'disk_format': disk_format,
            'checksum': hashlib.md5(data).hexdigest(), 'os_hash_algo': 'sha512', 'os_hash_value': hashlib.sha512(data).hexdigest(),
            'tags': ['managed_by_p'], 'properties': properties}


def release(**changes):
    rel = {'key': 'debian-12', 'version': '20261116-1', 'checksum': UPSTREAM, 'image_source': SOURCE,
           'url': 'http://127.0.0.1:1/cloud.debian.org/x.qcow2', 'image_signature_url': None, 'trust': {}}
    rel.update(changes)
    return rel


# ---------------------------------------------------------------- selection and input

def test_default_selection_is_public_and_community_sorted():
    images = [image('b', 'B'), image('a', 'A', 'community'), image('c', 'C candidate', 'private')]
    assert [i['id'] for i in _verify.select(images)] == ['a', 'b']


def test_explicit_refs_take_any_visibility_and_release_keys_filter():
    images = [image('a', 'A'), image('c', 'C', 'private', cloudimages_release='ubuntu-24.04')]
    assert [i['id'] for i in _verify.select(images, ['C', 'a'])] == ['a', 'c']
    assert [i['id'] for i in _verify.select(images, ['C', 'a'], ['ubuntu-24.04'])] == ['c']
    assert _verify.select(images, release_keys=['none']) == []


def test_unknown_or_ambiguous_ref_is_a_usage_error():
    images = [image('a', 'Same'), image('b', 'Same')]
    with pytest.raises(_verify.VerifyUsageError, match="no managed image of this provider has the id or name 'x'"):
        _verify.select(images, ['x'])
    with pytest.raises(_verify.VerifyUsageError, match="2 managed images are named 'Same'; give their ids \\(a, b\\)"):
        _verify.select(images, ['Same'])


@pytest.mark.parametrize('releases, message', [
    (['x'], r'releases\[0\] is not a dict'),
    ([{'key': 'k', 'version': '1'}], r'releases\[0\] lacks checksum'),
    ([{'key': 'k', 'version': '1', 'checksum': 'sha256:zz'}], r'releases\[0\] \(k\) checksum: not a hex digest'),
    ([{'key': 'k', 'version': '1', 'checksum': 'md5:' + 'a' * 32}], r'releases\[0\] \(k\) checksum: md5 alone cannot identify a file'),
    ([release(), release()], 'release key debian-12 twice'),
])
def test_bad_releases(releases, message):
    with pytest.raises(_verify.VerifyUsageError, match=message):
        _verify.index_releases(releases)


def test_rewrite_longest_prefix():
    rewrites = {'https://': 'http://m/', 'https://cloud.debian.org/': 'http://deb/'}
    assert _verify.rewrite(SOURCE, rewrites) == 'http://deb/images/cloud/bookworm/20261116-1/debian-12-genericcloud-amd64.qcow2'
    assert _verify.rewrite('https://x/y', rewrites) == 'http://m/x/y'
    assert _verify.rewrite('ftp://x', rewrites) == 'ftp://x'


# ---------------------------------------------------------------- planning

@pytest.mark.parametrize('props, status, reason', [
    ({'image_source': 'private'}, 'skipped', 'image_source: private'),
    ({'cloudimages_digest': None}, 'unverifiable', 'no cloudimages_digest property'),
    ({'cloudimages_digest': 'sha256:abc'}, 'unverifiable', 'cloudimages_digest: sha256 digest must have 64'),
    ({'image_source': None}, 'unverifiable', 'image_source None is not an http'),
    ({'image_source': 'file:///etc/passwd'}, 'unverifiable', "image_source 'file:///etc/passwd' is not an http"),
])
def test_plan_finishes_what_cannot_be_verified(props, status, reason):
    result, step = _verify.plan(image(**props))
    assert step is None and result['status'] == status and reason in result['reason']


def test_plan_without_glance_checksum():
    img = dict(image(), checksum=None, status='queued')
    result, step = _verify.plan(img)
    assert step is None and result['status'] == 'unverifiable' and 'no checksum' in result['reason'] and 'queued' in result['reason']


def test_plan_rewrites_and_picks_the_stored_form():
    result, step = _verify.plan(image(), rewrites={'https://': 'http://127.0.0.1:9/'})
    assert step.url == 'http://127.0.0.1:9/cloud.debian.org/images/cloud/bookworm/20261116-1/debian-12-genericcloud-amd64.qcow2'
    assert result['source'] == step.url and step.digest == UPSTREAM and step.filename == 'debian-12-genericcloud-amd64.qcow2'
    assert (step.convert_to_raw, step.disk_format) == (False, 'qcow2')
    _result, raw_step = _verify.plan(image(disk_format='raw'))
    assert (raw_step.convert_to_raw, raw_step.disk_format) == (True, None)


def test_plan_uses_the_release_of_the_same_build():
    signed = release(url='http://mirror/x.qcow2', image_signature_url='http://mirror/x.qcow2.sig',
                     trust={'keyring': '/k.gpg', 'fingerprints': ['AB']})
    _result, step = _verify.plan(image(), {'debian-12': signed}, {'https://': 'http://other/'})
    assert (step.url, step.image_signature_url, step.trust) == ('http://mirror/x.qcow2', 'http://mirror/x.qcow2.sig', signed['trust'])
    assert step.vendor_checksum is None    # same algorithm and digest: already consistent
    _result, older = _verify.plan(image(cloudimages_build='20261001-1'), {'debian-12': signed})
    assert older.url == SOURCE and older.image_signature_url is None   # another build: the release says nothing about it


def test_vendor_digest_changed_for_the_same_build_is_a_mismatch_without_download():
    other = 'sha512:' + 'ab' * 64
    result, step = _verify.plan(image(), {'debian-12': release(checksum=other)})
    assert step is None and result['status'] == 'mismatch' and result['differs'] == ['vendor_digest']
    assert result['expected'] == {'vendor_digest': other} and result['actual']['vendor_digest'] == UPSTREAM
    assert 'vendor now publishes another digest for build 20261116-1' in result['reason']


def test_vendor_digest_in_another_algorithm_is_checked_after_download():
    sha256 = hashlib.sha256(DATA).hexdigest()
    result, step = _verify.plan(image(), {'debian-12': release(checksum='sha256:' + sha256)})
    assert step.vendor_checksum == ('sha256', sha256)
    assert _verify.compare(result, image(), digests(DATA), digests(DATA), step)['status'] == 'match'
    result, step = _verify.plan(image(), {'debian-12': release(checksum='sha256:' + '0' * 64)})
    done = _verify.compare(result, image(), digests(DATA), digests(DATA), step)
    assert done['status'] == 'mismatch' and done['differs'] == ['vendor_digest']


# ---------------------------------------------------------------- comparison

def test_match_qcow2_and_raw():
    result, step = _verify.plan(image())
    done = _verify.compare(result, image(), digests(DATA), digests(DATA), step)
    assert done['status'] == 'match' and done['differs'] == []
    assert done['expected'] == {'checksum': hashlib.md5(DATA).hexdigest(), 'os_hash_algo': 'sha512', 'os_hash_value': hashlib.sha512(DATA).hexdigest()}
    assert done['expected'] == done['actual']
    raw_image = image(data=RAW, disk_format='raw')
    result, step = _verify.plan(raw_image)
    done = _verify.compare(result, raw_image, digests(RAW), digests(DATA), step)
    assert done['status'] == 'match' and 'raw conversion' in done['reason']


def test_mismatch_names_both_digests():
    glance = image(data=b'other bytes')
    result, step = _verify.plan(glance)
    done = _verify.compare(result, glance, digests(DATA), digests(DATA), step)
    assert done['status'] == 'mismatch' and done['differs'] == ['checksum', 'os_hash_value']
    assert done['actual']['checksum'] == hashlib.md5(b'other bytes').hexdigest()
    assert done['expected']['checksum'] == hashlib.md5(DATA).hexdigest()
    assert 'Glance checksum %s != md5 %s of the upstream image' % (done['actual']['checksum'], done['expected']['checksum']) in done['reason']


def test_only_checksum_differs_and_other_hash_algo():
    glance = dict(image(), checksum=hashlib.md5(b'x').hexdigest())
    result, step = _verify.plan(glance)
    assert _verify.compare(result, glance, digests(DATA), digests(DATA), step)['differs'] == ['checksum']
    glance = dict(image(), os_hash_algo='sha384', os_hash_value=hashlib.sha384(DATA).hexdigest())
    result, step = _verify.plan(glance)
    done = _verify.compare(result, glance, digests(DATA), digests(DATA), step, {'sha384': hashlib.sha384(DATA).hexdigest()})
    assert done['status'] == 'match' and done['expected']['os_hash_algo'] == 'sha384'


def test_no_os_hash_value_compares_the_checksum_only():
    glance = dict(image(), os_hash_value=None)
    result, step = _verify.plan(glance)
    done = _verify.compare(result, glance, digests(DATA), digests(DATA), step)
    assert done['status'] == 'match' and 'Glance has no os_hash_value' in done['reason']


def test_summary_and_message():
    results = [{'status': s, 'name': 'n%d' % i, 'id': 'i%d' % i, 'differs': ['checksum']}
               for i, s in enumerate(['match', 'mismatch', 'source_gone', 'match'])]
    assert _verify.summarize(results) == {'match': 2, 'mismatch': 1, 'source_gone': 1, 'unverifiable': 0,
                                          'skipped': 0, 'error': 0, 'total': 4}
    assert _verify.mismatch_message(results, 'p') == '1 of 4 images of p do not match upstream: n1 (i1): checksum'


def test_glance_hash_algorithm_other_than_the_cached_ones(tmp_path):
    """Glance's os_hash_algo is configurable: the stored file is hashed again with it, whatever its spelling."""
    path = tmp_path / 'image'
    path.write_bytes(DATA)
    assert _hash_file(str(path), 'sha384') == hashlib.sha384(DATA).hexdigest()
    assert _hash_file(str(path), 'SHA3-256') == hashlib.sha3_256(DATA).hexdigest()
    with pytest.raises(ValueError):
        _hash_file(str(path), 'crc32')
