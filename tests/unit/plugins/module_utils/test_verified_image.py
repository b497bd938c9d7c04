"""_verified_image: the fetch → signature → expand → inspect → convert composition, on the local mirror.

Real HTTP (the upstream mirror fixture), real gpgv, real qemu-img; nothing is mocked.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.verify import _verify
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._verified_image import (
    ImageFetchError, Limits, Progress, lookup, obtain, resolve_source)
from ansible_collections.cloudimages.openstack.plugins.module_utils.verify._verify_upstream import UpstreamCheck


@pytest.fixture
def cache_dir(tmp_path):
    return str(tmp_path / 'cache')


def release(mirror, server, distro, version):
    """The ``release`` dict upstream_release would return for a mirror release (the fields image_fetch reads)."""
    info = mirror.releases[distro, version]
    return {
        'url': server.rewrite(info.image_url),
        'filename': info.file_name,
        'checksum': 'sha256:' + info.sha256,
        'image_signature_url': server.rewrite(info.image_signature_url) if info.image_signature_url else None,
        'trust': {'keyring': str(mirror.keyring.trusted_keyring), 'fingerprints': [mirror.keyring.trusted_fingerprint]},
        'compression': {'xz': 'xz', 'bz2': 'bz2', 'gz': 'gz'}.get(info.compression, 'none'),
        'disk_format': info.disk_format,
    }


def get(source, cache_dir, **kwargs):
    return obtain(source, cache_dir, make_session(retries=2, backoff=0.01), backoff=0.01, retries=1, **kwargs)


def files(cache_dir):
    """Cache entries other than locks and sidecars (partial/ included: half-made files must not remain)."""
    found = []
    for sub in ('files', 'partial'):
        folder = os.path.join(cache_dir, sub)
        found += sorted('%s/%s' % (sub, name) for name in os.listdir(folder) if not name.endswith('.json')) if os.path.isdir(folder) else []
    return found


def sha256(path):
    with open(path, 'rb') as handle:
        return hashlib.file_digest(handle, 'sha256').hexdigest()


def test_plain_qcow2_then_from_cache(upstream, server, cache_dir):
    info = upstream.mirror.releases['ubuntu', '24.04']
    source = resolve_source(release(upstream.mirror, server, 'ubuntu', '24.04'))
    assert lookup(source, cache_dir) is None
    first = get(source, cache_dir)
    assert first['made'] == ['download'] and first['changed'] and not first['from_cache']
    assert first['format'] == 'qcow2' and first['virtual_size'] == info.virtual_size and first['min_disk'] == 1
    assert first['digests'] == first['upstream_digests'] == {'md5': info.md5, 'sha256': info.sha256, 'sha512': info.sha512}
    assert first['size'] == info.size and first['signer'] is None and first['raw'] is None
    server.reset_requests()
    again = get(source, cache_dir)
    assert again == dict(first, made=[], changed=False, from_cache=True)
    assert lookup(source, cache_dir) == again
    assert server.count() == 0


@pytest.mark.parametrize('distro', ['fedora-coreos', 'flatcar'])
def test_signed_compressed_image_expands_once(upstream, server, cache_dir, distro):
    info = upstream.mirror.releases[distro, 'stable']
    source = resolve_source(release(upstream.mirror, server, distro, 'stable'))
    assert source.compression == {'fedora-coreos': 'xz', 'flatcar': 'bz2'}[distro]
    first = get(source, cache_dir)
    assert first['made'] == ['download', 'expand']
    assert first['signer'] == upstream.mirror.keyring.trusted_fingerprint
    assert first['upstream_digests']['sha256'] == info.sha256 and first['upstream_digests']['md5'] == info.md5
    assert first['digests']['sha256'] == info.uncompressed_sha256 == sha256(first['path'])
    assert first['size'] == info.uncompressed_size and first['format'] == 'qcow2'
    expanded = os.stat(first['path'])
    server.reset_requests()
    again = get(source, cache_dir)
    assert again['made'] == [] and again['path'] == first['path'] and again['signer'] == first['signer']
    assert os.stat(again['path']).st_ino == expanded.st_ino  # not expanded again
    assert server.count() == 0  # neither the image nor its signature is fetched again


def test_trust_comes_only_from_the_record(upstream, server, cache_dir):
    """A download whose record is gone (a run killed after the download) is verified again, not trusted."""
    info = upstream.mirror.releases['fedora-coreos', 'stable']
    source = resolve_source(release(upstream.mirror, server, 'fedora-coreos', 'stable'))
    first = get(source, cache_dir)
    os.unlink(os.path.join(cache_dir, 'files', 'sha256-%s.image.json' % info.sha256))
    assert lookup(source, cache_dir) is None
    server.reset_requests()
    again = get(source, cache_dir)
    assert again['made'] == ['expand'] and again['signer'] == first['signer'] and again['path'] == first['path']
    assert [entry['path'] for entry in server.requests] == [server.rewrite(info.image_signature_url).split(str(server.port), 1)[1]]


@pytest.mark.parametrize('record', [
    {'signers': ['9BCC2955B796106E59FB2E7910C2EC9A25BAB3F3']},  # a verdict, as earlier versions kept it
    {'signature': base64.b64encode(b'-----BEGIN PGP SIGNATURE-----\nforged\n').decode()},
])
def test_a_signature_verdict_in_the_record_is_no_proof(upstream, server, cache_dir, record):
    info = upstream.mirror.releases['flatcar', 'stable']
    source = resolve_source(release(upstream.mirror, server, 'flatcar', 'stable'))
    get(source, cache_dir)
    path = os.path.join(cache_dir, 'files', 'sha256-%s.image.json' % info.sha256)
    with open(path, encoding='utf-8') as handle:
        meta = json.load(handle)
    meta.pop('signature')
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(dict(meta, **record), handle)
    assert lookup(source, cache_dir) is None
    server.reset_requests()
    again = get(source, cache_dir)
    assert again['made'] == [] and again['signer'] == upstream.mirror.keyring.trusted_fingerprint
    assert [entry['path'] for entry in server.requests] == [server.rewrite(info.image_signature_url).split(str(server.port), 1)[1]]


def _plant(cache_dir, key, data, **image_meta):
    """What another user of a shared cache could leave: bytes under a trusted name, with forged sidecars."""
    folder = os.path.join(cache_dir, 'files')
    os.makedirs(folder, mode=0o700, exist_ok=True)
    os.chmod(cache_dir, 0o700)
    with open(os.path.join(folder, key), 'wb') as handle:
        handle.write(data)
    algorithm, hexdigest = key.split('-', 1)
    forged = {'size': len(data), 'digests': {algorithm: hexdigest}, 'url': 'https://vendor.example/forged'}
    with open(os.path.join(folder, key + '.json'), 'w', encoding='utf-8') as handle:
        json.dump(forged, handle)
    if image_meta:
        with open(os.path.join(folder, key + '.image.json'), 'w', encoding='utf-8') as handle:
            json.dump(image_meta, handle)


def test_a_planted_download_with_forged_sidecars_is_downloaded_again(upstream, server, cache_dir):
    info = upstream.mirror.releases['fedora-coreos', 'stable']
    source = resolve_source(release(upstream.mirror, server, 'fedora-coreos', 'stable'))
    _plant(cache_dir, 'sha256-' + info.sha256, b'evil bytes', signers=[upstream.mirror.keyring.trusted_fingerprint])
    assert lookup(source, cache_dir) is None  # check mode does not take it either
    got = get(source, cache_dir)
    assert got['made'] == ['download', 'expand'] and not got['from_cache']
    assert got['upstream_digests']['sha256'] == info.sha256 == sha256(os.path.join(cache_dir, 'files', 'sha256-' + info.sha256))
    assert got['digests']['sha256'] == info.uncompressed_sha256 == sha256(got['path'])


def test_a_planted_expansion_under_a_false_name_is_not_used(upstream, server, cache_dir):
    info = upstream.mirror.releases['fedora-coreos', 'stable']
    source = resolve_source(release(upstream.mirror, server, 'fedora-coreos', 'stable'))
    first = get(source, cache_dir)
    with open(first['path'], 'r+b') as handle:  # the expanded file changed after it was verified
        handle.write(b'QFI\xfb evil')
    assert lookup(source, cache_dir) is None
    again = get(source, cache_dir)
    assert again['made'] == ['expand'] and sha256(again['path']) == info.uncompressed_sha256 == again['digests']['sha256']


def _plant_derived(cache_dir, genuine, what):
    """The mapping-edit attack: bytes like the genuine ``what`` file of a download but for one byte,
    stored under their own sha256 with a sidecar of the same shape, and the download's record
    ``files/<key>.image.json`` edited to name them. Returns the planted file's digests."""
    with open(genuine, 'rb') as handle:
        data = bytearray(handle.read())
    data[len(data) // 2] ^= 0xFF
    planted = {a: hashlib.new(a, data).hexdigest() for a in ('md5', 'sha256', 'sha512')}
    key = 'sha256-' + planted['sha256']
    with open(os.path.join(cache_dir, 'files', key), 'wb') as handle:
        handle.write(data)
    with open(genuine + '.json', encoding='utf-8') as handle:
        sidecar = json.load(handle)
    with open(os.path.join(cache_dir, 'files', key + '.json'), 'w', encoding='utf-8') as handle:
        json.dump(dict(sidecar, size=len(data), digests=planted), handle)
    record = [name for name in os.listdir(os.path.join(cache_dir, 'files')) if name.endswith('.image.json')]
    for name in record:
        path = os.path.join(cache_dir, 'files', name)
        with open(path, encoding='utf-8') as handle:
            meta = json.load(handle)
        if meta.get(what) == 'sha256-' + os.path.basename(genuine).split('-', 1)[1]:
            with open(path, 'w', encoding='utf-8') as handle:
                json.dump(dict(meta, **{what: key}), handle)
    return planted


def test_a_record_edited_to_name_a_planted_raw_is_never_used(upstream, server, cache_dir):
    # The attack: raw pointed at planted bytes got them published as the vendor's image.
    source = resolve_source(release(upstream.mirror, server, 'cirros', '0.6'))
    first = get(source, cache_dir, convert=True)
    planted = _plant_derived(cache_dir, first['raw']['path'], 'raw')
    assert lookup(source, cache_dir, convert=True) is None  # check mode does not take it either
    again = get(source, cache_dir, convert=True)
    assert again['made'] == ['convert'] and again['raw'] == first['raw']
    assert sha256(again['raw']['path']) == first['raw']['digests']['sha256'] != planted['sha256']
    (warning,) = again['warnings']
    assert 'sha256-%s as the raw form of' % planted['sha256'] in warning and 'it was made again' in warning
    assert get(source, cache_dir, convert=True)['made'] == []  # proven by comparison: no conversion


def test_a_record_edited_to_name_a_planted_expansion_is_never_used(upstream, server, cache_dir):
    info = upstream.mirror.releases['fedora-coreos', 'stable']
    source = resolve_source(release(upstream.mirror, server, 'fedora-coreos', 'stable'))
    first = get(source, cache_dir)
    planted = _plant_derived(cache_dir, first['path'], 'expanded')
    assert lookup(source, cache_dir) is None
    again = get(source, cache_dir)
    assert again['made'] == ['expand'] and again['digests']['sha256'] == info.uncompressed_sha256 != planted['sha256']
    assert 'as the expanded form of' in again['warnings'][0]
    assert get(source, cache_dir)['made'] == [] and lookup(source, cache_dir)['path'] == first['path']


def test_verify_with_the_attacked_cache_reports_the_mismatch(upstream, server, cache_dir):
    # An image published from planted raw bytes (as before this fix): image_verify, given the
    # very cache that was attacked, compares with what the vendor's file converts to.
    info = upstream.mirror.releases['cirros', '0.6']
    source = resolve_source(release(upstream.mirror, server, 'cirros', '0.6'))
    first = get(source, cache_dir, convert=True)
    planted = _plant_derived(cache_dir, first['raw']['path'], 'raw')
    image = {'id': 'i1', 'name': 'CirrOS 0.6 - Latest', 'visibility': 'public', 'status': 'active',
             'disk_format': 'raw', 'checksum': planted['md5'], 'os_hash_algo': 'sha512',
             'os_hash_value': planted['sha512'], 'properties': {
                 'cloudimages_release': 'cirros-0.6', 'cloudimages_build': info.version,
                 'cloudimages_digest': 'sha256:' + info.sha256, 'image_source': info.image_url}}
    result, step = _verify.plan(image, rewrites={'https://': server.url + '/'})
    check = UpstreamCheck(make_session(retries=1, backoff=0.01), cache_dir, 1 << 30, 30, 1)
    result = check(image, result, step)
    assert result['status'] == 'mismatch' and result['differs'] == ['checksum', 'os_hash_value'], result
    assert result['expected']['checksum'] == first['raw']['digests']['md5']
    assert any('sha256-%s as the raw form of' % planted['sha256'] in warning for warning in check.warnings)


def test_cached_digests_are_computed_not_read_from_the_sidecar(upstream, server, cache_dir):
    info = upstream.mirror.releases['ubuntu', '24.04']
    source = resolve_source(release(upstream.mirror, server, 'ubuntu', '24.04'))
    get(source, cache_dir)
    sidecar = os.path.join(cache_dir, 'files', 'sha256-%s.json' % info.sha256)
    with open(sidecar, encoding='utf-8') as handle:
        meta = json.load(handle)
    meta['digests']['md5'] = '0' * 32
    with open(sidecar, 'w', encoding='utf-8') as handle:
        json.dump(meta, handle)
    assert get(source, cache_dir)['digests']['md5'] == info.md5


def test_a_shared_cache_is_used_and_a_symlinked_one_refused(upstream, server, tmp_path):
    source = resolve_source(release(upstream.mirror, server, 'ubuntu', '24.04'))
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o2775)  # an fsGroup volume: every file in it is proven before use
    assert get(source, str(shared))['made'] == ['download']
    os.symlink(shared, tmp_path / 'link')
    with pytest.raises(ImageFetchError, match='is a symlink to'):
        get(source, str(tmp_path / 'link'))


def test_gzip_from_a_plain_http_server(upstream, tmp_path, cache_dir):
    info = upstream.mirror.releases['debian', '12']
    www = tmp_path / 'www'
    www.mkdir()
    with open(info.local_path, 'rb') as handle:
        (www / 'disk.qcow2.gz').write_bytes(gzip.compress(handle.read()))
    digest = sha256(www / 'disk.qcow2.gz')
    with _serve(www) as base:
        result = get(resolve_source(url=base + '/disk.qcow2.gz', checksum='sha256:' + digest), cache_dir)
    assert result['made'] == ['download', 'expand']
    assert result['upstream_digests']['sha256'] == digest and result['digests']['sha512'] == info.sha512


def test_raw_conversion_matches_qemu_img_and_is_cached(upstream, server, cache_dir, tmp_path):
    info = upstream.mirror.releases['cirros', '0.6']
    source = resolve_source(release(upstream.mirror, server, 'cirros', '0.6'))
    result = get(source, cache_dir, convert=True)
    assert result['made'] == ['download', 'convert']
    reference = tmp_path / 'reference.raw'
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', info.local_path, str(reference)], check=True)
    with open(reference, 'rb') as handle:
        assert result['raw']['digests']['md5'] == hashlib.file_digest(handle, 'md5').hexdigest()
    assert result['raw']['size'] == info.virtual_size == os.path.getsize(result['raw']['path'])
    assert result['digests']['md5'] == info.md5  # the qcow2 itself is still what `path` holds
    again = get(source, cache_dir, convert=True)
    assert again['made'] == [] and again['raw'] == result['raw']


def test_failed_conversion_keeps_no_raw_file(upstream, server, cache_dir, monkeypatch, tmp_path):
    source = resolve_source(release(upstream.mirror, server, 'ubuntu', '22.04'))
    monkeypatch.setenv('PATH', str(tmp_path))  # an environment without qemu-img
    with pytest.raises(ImageFetchError, match='converting .* failed, nothing was kept: qemu-img not found'):
        get(source, cache_dir, convert=True)
    assert files(cache_dir) == ['files/sha256-' + upstream.mirror.releases['ubuntu', '22.04'].sha256]


def test_bad_signature_removes_the_download_and_what_came_from_it(upstream, tmp_path, cache_dir):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    try:
        with MirrorServer(mirror) as own:
            good = release(mirror, own, 'flatcar', 'stable')
            # A run that was not given the signature caches download and expansion ...
            unsigned = get(resolve_source(dict(good, image_signature_url=None)), cache_dir)
            assert unsigned['signer'] is None and len(files(cache_dir)) == 2
            # ... then the vendor's signature turns out not to be from a pinned key.
            mirror.inject('flatcar', 'stable', 'bad_signature', mode='untrusted')
            with pytest.raises(ImageFetchError, match=r'\.sig: check failed, the download was removed.*signing key is not in the keyring'):
                get(resolve_source(good), cache_dir)
    finally:
        mirror.close()
    assert files(cache_dir) == []


def test_decompression_bomb_keeps_only_the_compressed_download(upstream, tmp_path, cache_dir):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    try:
        mirror.inject('fedora-coreos', 'stable', 'decompression_bomb', expanded_size=64 << 20)
        with MirrorServer(mirror) as own:
            source = resolve_source(release(mirror, own, 'fedora-coreos', 'stable'))
            with pytest.raises(ImageFetchError, match='nothing expanded was kept: xz expands to more than the allowed 1048576 bytes'):
                get(source, cache_dir, limits=Limits(max_expanded_size=1 << 20))
    finally:
        mirror.close()
    assert files(cache_dir) == ['files/' + 'sha256-' + source.checksum.hexdigest]


@pytest.mark.parametrize('distro, expands_to, message', [
    # The qcow2 header declares 16 MiB: the expansion may not pass 16 + 2 + 4 MiB, far below the 64 GiB default.
    ('fedora-coreos', 'qcow2', r'xz expands to more than the allowed 23068672 bytes by the header of the expanded image'),
    ('flatcar', 'qcow2', r'bz2 expands to more than the allowed 23068672 bytes by the header of the expanded image'),
    # Declared qcow2, expands to raw: refused on the first 4 MiB.
    ('fedora-coreos', 'raw', r'refused after the first 4194304 expanded bytes: it was declared qcow2 but its content is raw'),
])
def test_bombs_are_refused_early_with_the_default_limits(upstream, tmp_path, cache_dir, distro, expands_to, message):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    written = []
    try:
        mirror.inject(distro, 'stable', 'decompression_bomb', expanded_size=256 << 20, expands_to=expands_to)
        with MirrorServer(mirror) as own:
            source = resolve_source(release(mirror, own, distro, 'stable'))
            progress = Progress(log=None)
            progress.step = lambda what: (lambda done, total=None: written.append(done) if what == 'expand' else None)
            with pytest.raises(ImageFetchError, match='nothing expanded was kept: ' + message):
                get(source, cache_dir, progress=progress)
    finally:
        mirror.close()
    assert max(written) <= 23068672  # of the 256 MiB the bomb expands to (hashing 1 GiB for it cost 2 s a test)
    assert files(cache_dir) == ['files/' + 'sha256-' + source.checksum.hexdigest]


def test_unsafe_uncompressed_image_does_not_stay(upstream, tmp_path, cache_dir):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    try:
        mirror.inject('debian', '13', 'data_file')
        with MirrorServer(mirror) as own:
            with pytest.raises(ImageFetchError, match='rejected: .* is unsafe: qcow2 image uses an external data file'):
                get(resolve_source(release(mirror, own, 'debian', '13')), cache_dir)
    finally:
        mirror.close()
    assert files(cache_dir) == []


def test_declared_format_must_match(upstream, server, cache_dir):
    source = resolve_source(release(upstream.mirror, server, 'debian', '11'), disk_format='raw')
    with pytest.raises(ImageFetchError, match='declared raw but its content is qcow2'):
        get(source, cache_dir)
    assert files(cache_dir) == []


def test_resolve_source_options_override_release():
    base = {'url': 'https://example.org/a/fcos.qcow2.xz', 'checksum': 'sha256:' + 'a' * 64, 'compression': 'xz',
            'image_signature_url': 'https://example.org/a/fcos.qcow2.xz.sig', 'disk_format': 'qcow2',
            'trust': {'keyring': '/k.gpg', 'fingerprints': ['f9968afa1e69fa456c9c10c8c139041aeb1eaa8b']}}
    source = resolve_source(base)
    assert (source.compression, source.disk_format, source.keyring) == ('xz', 'qcow2', '/k.gpg')
    assert source.fingerprints == ('F9968AFA1E69FA456C9C10C8C139041AEB1EAA8B',)
    assert (source.checksum.algorithm, source.checksum.name) == ('sha256', 'fcos.qcow2.xz')
    plain = resolve_source(base, url='https://example.org/b/disk.img.bz2', checksum='b' * 128, compression='auto', image_signature_url='')
    assert (plain.url, plain.compression, plain.image_signature_url, plain.checksum.algorithm) == (
        'https://example.org/b/disk.img.bz2', 'bz2', base['image_signature_url'], 'sha512')
    assert resolve_source(base, compression='none').compression is None
    assert resolve_source(url='http://h/x.gz', checksum='sha384:' + 'c' * 96).compression == 'gzip'


def test_an_empty_image_signature_url_does_not_skip_the_release_signature():
    signed = {'url': 'https://example.org/a/fcos.qcow2.xz', 'checksum': 'sha256:' + 'a' * 64,
              'image_signature_url': 'https://example.org/a/fcos.qcow2.xz.sig',
              'trust': {'keyring': '/k.gpg', 'fingerprints': ['f9968afa1e69fa456c9c10c8c139041aeb1eaa8b']}}
    assert resolve_source(signed, image_signature_url='').image_signature_url == signed['image_signature_url']
    assert resolve_source(dict(signed, image_signature_url='')).image_signature_url is None
    with pytest.raises(ImageFetchError, match='no keyring and trusted fingerprints'):
        resolve_source(signed, image_signature_url='', keyring='', trusted_fingerprints=[])


@pytest.mark.parametrize('checksum', ['md5:' + 'c' * 32, 'sha1:' + 'c' * 40, 'c' * 32, 'c' * 40, 'sha224:' + 'c' * 56])
def test_md5_or_sha1_alone_is_no_checksum(checksum):
    with pytest.raises(ImageFetchError, match='alone cannot identify a file; give a sha256 or stronger digest'):
        resolve_source(url='https://example.org/x.img', checksum=checksum)


@pytest.mark.parametrize('options, message', [
    ({'checksum': 'sha256:abc'}, 'sha256 digest must have 64 hex characters'),
    ({'checksum': None}, 'no checksum'),
    ({'url': 'ftp://example.org/x.img'}, 'not http://, https:// or file://'),
    ({'url': 'file://fileserver/x.img'}, 'not a file:// URL of an absolute local path'),
    ({'url': 'file:///nonexistent/x.img'}, 'local file /nonexistent/x.img does not exist or is not a regular file'),
    ({'url': 'file:///'}, 'local file / does not exist or is not a regular file'),
    ({'image_signature_url': 'file:///etc/hostname'}, 'image_signature_url file:///etc/hostname is not http:// or https://'),
    ({'trusted_fingerprints': ['EB1EAA8B']}, 'not a full OpenPGP fingerprint'),
    ({'trusted_fingerprints': []}, 'no keyring and trusted fingerprints were given; refusing to skip the signature check'),
    ({'compression': 'zstd'}, "unsupported compression 'zstd'"),
])
def test_resolve_source_refuses(options, message):
    base = dict(url='https://example.org/x.img', checksum='sha256:' + 'a' * 64, image_signature_url='https://example.org/x.img.sig',
                keyring='/k.gpg', trusted_fingerprints=['F9968AFA1E69FA456C9C10C8C139041AEB1EAA8B'])
    base.update(options)
    with pytest.raises(ImageFetchError, match=message):
        resolve_source(**base)


def test_progress_lines_and_ten_percent_logs(tmp_path):
    now = [0.0]
    logged = []
    progress = Progress(str(tmp_path / 'progress'), logged.append, interval=1.0, clock=lambda: now[0])
    step = progress.step('download')
    for done in range(0, 101, 5):
        now[0] += 0.5
        step(done << 20, 100 << 20)
    lines = (tmp_path / 'progress').read_text().splitlines()
    assert len(lines) == 11 and lines[-1].endswith('download 100% 100.0/100.0 MiB 9.5 MiB/s')  # every 1 s, plus the end
    assert [line.split()[2] for line in logged] == ['%d%%' % p for p in range(10, 101, 10)]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


class _serve:  # pylint: disable=invalid-name
    """http.server on 127.0.0.1 serving ``root`` in a thread."""

    def __init__(self, root):
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), lambda *a: _Quiet(*a, directory=str(root)))

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return 'http://127.0.0.1:%d' % self.httpd.server_port

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_cache_dir_is_expanded(upstream, server, monkeypatch, tmp_path):
    monkeypatch.setenv('HOME', str(tmp_path))
    result = get(resolve_source(release(upstream.mirror, server, 'ubuntu', '24.04')), '~/.cache/cloudimages')
    assert result['path'].startswith(str(tmp_path / '.cache' / 'cloudimages' / 'files'))
    shutil.rmtree(tmp_path / '.cache')


# -- local files (file:// URLs): copied into the cache in one hashing pass, then the same checks --

def _qcow2(path, *extra):
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', *extra, str(path), '64M'], check=True)
    return str(path)


def test_local_file_is_copied_verified_and_cached(tmp_path, cache_dir):
    path = _qcow2(tmp_path / 'my image.qcow2')
    digest = sha256(path)
    source = resolve_source(url='file://' + urllib.parse.quote(path), checksum='sha256:' + digest)
    assert source.checksum.name == 'my image.qcow2'
    assert lookup(source, cache_dir) is None
    first = get(source, cache_dir, convert=True)
    assert first['made'] == ['copy', 'convert'] and first['path'] != path
    assert sha256(first['path']) == first['digests']['sha256'] == first['upstream_digests']['sha256'] == digest
    assert (first['format'], first['virtual_size'], first['min_disk']) == ('qcow2', 64 << 20, 1)
    assert first['raw']['size'] == 64 << 20 and sha256(first['raw']['path']) == first['raw']['digests']['sha256']
    os.unlink(path)  # the verified copy is what later runs use
    again = get(source, cache_dir, convert=True)
    assert again == dict(first, made=[], changed=False, from_cache=True)
    assert lookup(source, cache_dir, convert=True) == again


def test_local_file_with_the_wrong_checksum_leaves_nothing(tmp_path, cache_dir):
    path = _qcow2(tmp_path / 'x.qcow2')
    source = resolve_source(url='file://localhost' + path, checksum='sha256:' + 'a' * 64)
    with pytest.raises(ImageFetchError, match=r'sha256 mismatch for %s: expected a{64}, got %s; nothing was added to the cache'
                       % (re.escape(path), sha256(path))):
        get(source, cache_dir)
    assert files(cache_dir) == []


def test_local_file_over_the_size_limit_leaves_nothing(tmp_path, cache_dir):
    path = _qcow2(tmp_path / 'x.qcow2')
    source = resolve_source(url='file://' + path, checksum='sha256:' + sha256(path))
    with pytest.raises(ImageFetchError, match='more than the limit of 1000 bytes'):
        get(source, cache_dir, limits=Limits(max_size=1000))
    assert files(cache_dir) == []


def test_local_qcow2_with_a_backing_file_is_rejected_and_not_kept(tmp_path, cache_dir):
    path = _qcow2(tmp_path / 'evil.qcow2', '-b', '/etc/hostname', '-F', 'raw')
    source = resolve_source(url='file://' + path, checksum='sha256:' + sha256(path), disk_format='qcow2')
    with pytest.raises(ImageFetchError, match='image from file://%s rejected: .* is unsafe: qcow2 image names a backing file' % re.escape(path)):
        get(source, cache_dir)
    assert files(cache_dir) == []
