"""image_fetch through a real ansible-playbook, against the local upstream mirror (no OpenStack needed).

Library-level transport faults (resume, 503 retries, corrupt byte, 404, oversize, concurrent
threads) are in test_fetch.py; here are the module's own paths and every bad input as a user
meets it: a failed task whose message names the cause, and a cache with nothing half-made.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import subprocess
import threading

import pytest

from playbook_runner import run_playbook

SIGNED = ('fedora-coreos', 'flatcar')


def release(mirror, server, distro, version):
    """The fields of upstream_release's ``release`` that image_fetch reads, built from the mirror's catalogue."""
    info = mirror.releases[distro, version]
    return {
        'key': '%s-%s' % (distro, version),
        'url': server.rewrite(info.image_url),
        'filename': info.file_name,
        'checksum': 'sha256:' + info.sha256,
        'image_signature_url': server.rewrite(info.image_signature_url) if info.image_signature_url else None,
        'trust': {'keyring': str(mirror.keyring.trusted_keyring), 'fingerprints': [mirror.keyring.trusted_fingerprint]},
        'compression': info.compression or 'none',
        'disk_format': info.disk_format,
    }


def fetch(tmp_path, cases, check=False, expect_failures=False, tag='run'):
    results_file = tmp_path / ('%s.json' % tag)
    result = run_playbook('image_fetch.yml', check=check, extra_vars={
        'cases': cases, 'cache_dir': str(tmp_path / 'cache'), 'results_file': str(results_file),
        'expect_failures': expect_failures})
    assert result.rc == 0, result.output[-4000:]
    return result, json.loads(results_file.read_text())


def md5(path):
    with open(path, 'rb') as handle:
        return hashlib.file_digest(handle, 'md5').hexdigest()


def cache_files(cache_dir):
    """Files in the cache other than sidecars and locks; partial/ too, where half-made files would be."""
    found = []
    for sub in ('files', 'partial'):
        folder = os.path.join(cache_dir, sub)
        if os.path.isdir(folder):
            found += ['%s/%s' % (sub, name) for name in sorted(os.listdir(folder)) if not name.endswith('.json')]
    return found


def test_every_compression_then_from_cache(upstream, server, tmp_path):
    mirror = upstream.mirror
    progress = tmp_path / 'progress.log'
    cases = [
        {'name': 'ubuntu', 'release': release(mirror, server, 'ubuntu', '24.04'), 'convert_to_raw': True, 'progress_file': str(progress)},
        {'name': 'fcos', 'release': release(mirror, server, 'fedora-coreos', 'stable')},
        {'name': 'flatcar', 'release': release(mirror, server, 'flatcar', 'stable')},
    ]
    planned, results = fetch(tmp_path, cases, check=True, tag='plan')
    assert all(r['changed'] and not r['from_cache'] and 'path' not in r for r in results)
    assert server.count() == 0  # check mode downloads nothing

    results = fetch(tmp_path, cases)[1]
    assert all(r['changed'] for r in results)
    ubuntu, fcos, flatcar = ({k: r[k] for k in r if k not in ('invocation', 'item', 'ansible_loop_var', 'failed')} for r in results)
    info = mirror.releases['ubuntu', '24.04']
    assert ubuntu['digests'] == {'md5': info.md5, 'sha256': info.sha256, 'sha512': info.sha512} == ubuntu['upstream_digests']
    assert (ubuntu['format'], ubuntu['virtual_size'], ubuntu['min_disk'], ubuntu['signer']) == ('qcow2', info.virtual_size, 1, None)
    reference = tmp_path / 'reference.raw'
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', info.local_path, str(reference)], check=True)
    assert ubuntu['raw']['digests']['md5'] == md5(reference) == md5(ubuntu['raw']['path'])
    assert ubuntu['raw']['size'] == info.virtual_size
    for result, distro in ((fcos, 'fedora-coreos'), (flatcar, 'flatcar')):
        info = mirror.releases[distro, 'stable']
        assert result['signer'] == mirror.keyring.trusted_fingerprint
        assert result['upstream_digests']['sha256'] == info.sha256 and result['digests']['sha256'] == info.uncompressed_sha256
        assert result['size'] == info.uncompressed_size == os.path.getsize(result['path'])
        assert result['raw'] is None and result['changed'] and not result['from_cache']
    lines = progress.read_text().splitlines()
    mib = '%.1f' % (os.path.getsize(mirror.releases['ubuntu', '24.04'].local_path) / 2 ** 20)
    assert ' download 100%% %s/%s MiB ' % (mib, mib) in lines[-2] and 'convert' in lines[-1], lines

    server.reset_requests()
    repeated = fetch(tmp_path, cases, tag='again')[1]
    assert not any(r['changed'] for r in repeated) and server.count() == 0  # no image, no signature requested again
    for before, after in zip(results, repeated):
        assert after['from_cache'] and after['path'] == before['path'] and after['digests'] == before['digests']
        assert after['raw'] == before['raw'] and after['signer'] == before['signer']

    checked, cached = fetch(tmp_path, cases, check=True, tag='check')
    assert not any(r['changed'] for r in cached) and [r['path'] for r in cached] == [r['path'] for r in results]
    assert 'cached' in checked.output  # --diff lists the cache entries

    # Forty days later only Ubuntu is fetched again, with a cache age of 30 days: what Ubuntu uses is
    # kept (its lookup is a use), FCOS's and Flatcar's downloads and expansions go (check mode names them).
    files = tmp_path / 'cache' / 'files'
    for name in os.listdir(files):
        os.utime(files / name, (os.path.getmtime(files / name) - 40 * 86400,) * 2)
    gone = sorted({'files/' + os.path.basename(path).split('.')[0] for r in results[1:]
                   for path in (r['path'], os.path.join(files, 'sha256-' + r['upstream_digests']['sha256']))})
    ubuntu_case = [dict(cases[0], cache_max_age_days=30)]
    planned = fetch(tmp_path, ubuntu_case, check=True, tag='plan-prune')[1]
    assert planned[0]['pruned']['removed'] == gone and all(os.path.exists(r['path']) for r in results)
    pruned = fetch(tmp_path, ubuntu_case, tag='prune')[1]
    assert pruned[0]['pruned']['removed'] == gone and pruned[0]['changed'] and pruned[0]['from_cache']
    assert os.path.exists(ubuntu['path']) and os.path.exists(ubuntu['raw']['path'])
    assert not any(os.path.exists(r['path']) for r in results[1:])


def test_two_concurrent_runs_download_once(upstream, server, tmp_path):
    case = {'name': 'debian', 'release': release(upstream.mirror, server, 'debian', '12'), 'cache_dir': str(tmp_path / 'shared')}
    size = os.path.getsize(upstream.mirror.releases['debian', '12'].local_path)
    server.set_fault(case['release']['url'], 'slow', rate=size // 3)  # ~3 s transfer: the second run starts meanwhile
    outcomes = {}

    def run(tag):
        workdir = tmp_path / tag
        workdir.mkdir()
        outcomes[tag] = fetch(workdir, [case], tag=tag)[1][0]

    threads = [threading.Thread(target=run, args=(tag,)) for tag in ('one', 'two')]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r['from_cache'] for r in outcomes.values()) == [False, True]
    assert outcomes['one']['path'] == outcomes['two']['path']
    assert server.count(case['release']['url'], method='GET') == 1


class _Redirect(http.server.BaseHTTPRequestHandler):
    """Answers every GET with a 302 to the same path over https."""

    def do_GET(self):  # pylint: disable=invalid-name
        self.send_response(302)
        self.send_header('Location', 'https://127.0.0.1:%d%s' % (self.server.server_port, self.path))
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


@pytest.fixture
def redirector():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Redirect)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:%d' % httpd.server_port
    httpd.shutdown()
    httpd.server_close()


def test_bad_input_fails_clearly_and_leaves_nothing(upstream, tmp_path, redirector):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(tmp_path / 'mirror')
    try:
        mirror.inject('ubuntu', '24.04', 'tampered_image')
        mirror.inject('ubuntu', '22.04', 'backing_file', backing='/etc/hostname')
        mirror.inject('flatcar', 'stable', 'bad_signature', mode='tampered')
        mirror.inject('fedora-coreos', 'stable', 'decompression_bomb', expanded_size=64 << 20)
        with MirrorServer(mirror) as server:
            fcos = release(mirror, server, 'fedora-coreos', 'stable')
            missing_sig = dict(fcos, image_signature_url=fcos['image_signature_url'] + '.missing')
            server.set_fault(missing_sig['image_signature_url'], 'not_found')
            debian12, debian11 = release(mirror, server, 'debian', '12'), release(mirror, server, 'debian', '11')
            server.set_fault(debian12['url'], 'drop', after=4096)
            server.set_fault(debian11['url'], 'not_found')
            cases = {
                'checksum mismatch': ({'release': release(mirror, server, 'ubuntu', '24.04')}, r'sha256 mismatch .* the download was discarded'),
                'bad signature': ({'release': release(mirror, server, 'flatcar', 'stable')}, r'\.sig: check failed, the download was removed .*BAD signature'),
                'missing signature': ({'release': missing_sig}, r'\.sig\.missing: check failed.* is missing: HTTP 404'),
                'unknown signer': ({'release': fcos, 'trusted_fingerprints': [mirror.keyring.untrusted_fingerprint]},
                                   r'signed by %s, which is not in the trusted list' % mirror.keyring.trusted_fingerprint),
                'truncated': ({'release': debian12, 'retries': 1}, r'failed after 2 attempts \(\d+ bytes kept for the next run to resume\).*IncompleteRead'),
                'not found': ({'release': debian11}, r'download failed: GET .* answered HTTP 404'),
                'backing file': ({'release': release(mirror, server, 'ubuntu', '22.04')}, r'rejected: .* unsafe: qcow2 image names a backing file'),
                'bomb': ({'release': fcos, 'max_expanded_size': 1 << 20}, r'nothing expanded was kept: xz expands to more than the allowed 1048576'),
                'scheme change': ({'url': redirector + '/x.img', 'checksum': 'sha256:' + '0' * 64},
                                  r'redirected to https://127\.0\.0\.1:\d+/x\.img, which changes the scheme'),
                'oversize': ({'release': release(mirror, server, 'debian', '13'), 'max_size': 1000}, r'more than the limit of 1000 bytes'),
            }
            run = [dict(args, name=name, cache_dir=str(tmp_path / 'cache' / name.replace(' ', '-'))) for name, (args, unused) in cases.items()]
            results = fetch(tmp_path, run, expect_failures=True)[1]
    finally:
        mirror.close()
    for result, (name, (unused, message)) in zip(results, cases.items()):
        assert result['failed'] and re.search(message, result['msg']), (name, result['msg'])
        left = cache_files(tmp_path / 'cache' / name.replace(' ', '-'))
        if name == 'bomb':  # the vendor's verified compressed bytes stay; nothing expanded does
            assert left == ['files/sha256-' + fcos['checksum'].split(':')[1]], left
        elif name == 'truncated':  # kept for the next run to resume, never in files/
            part = 'partial/sha256-%s.part' % debian12['checksum'].split(':')[1]
            assert left == [part, part + '.validator'], left
        else:
            assert left == [], (name, left)
