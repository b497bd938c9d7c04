"""HTTP semantics of MirrorServer: ranges, validators, redirects, listings, faults, request log."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import time

import pytest
import requests

from mirror_helpers import read


def test_get_and_head(server, base_mirror):
    info = base_mirror.releases['debian', '12']
    url = server.rewrite(info.image_url)
    assert url == '%s/cloud.debian.org/images/cloud/bookworm/%s/%s' % (server.url, info.version, info.file_name)
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert hashlib.sha512(response.content).hexdigest() == info.sha512
    assert response.headers['Content-Type'] == 'application/octet-stream'
    assert response.headers['Accept-Ranges'] == 'bytes'
    assert response.headers['Last-Modified'] == 'Mon, 16 Nov 2026 01:52:00 GMT'
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b''
    assert head.headers['Content-Length'] == str(info.size) and head.headers['ETag'] == response.headers['ETag']
    assert requests.get(server.base_for('cloud.debian.org') + 'nope', timeout=10).status_code == 404
    assert server.base_for('cloud.debian.org') == server.url + '/cloud.debian.org/'


def test_range_requests(server, base_mirror):
    info = base_mirror.releases['ubuntu', '24.04']
    url = server.rewrite(info.image_url)
    data = read(info.local_path, 'rb')
    for header, expected in (('bytes=0-99', data[:100]), ('bytes=100-', data[100:]), ('bytes=-10', data[-10:]),
                             ('bytes=%d-999999999' % (len(data) - 5), data[-5:])):
        response = requests.get(url, headers={'Range': header}, timeout=10)
        assert response.status_code == 206, header
        assert response.content == expected, header
        start = len(data) - len(expected)
        if header == 'bytes=0-99':
            start = 0
        assert response.headers['Content-Range'] == 'bytes %d-%d/%d' % (start, start + len(expected) - 1, len(data))
    unsatisfiable = requests.get(url, headers={'Range': 'bytes=%d-' % len(data)}, timeout=10)
    assert unsatisfiable.status_code == 416
    assert unsatisfiable.headers['Content-Range'] == 'bytes */%d' % len(data)
    assert requests.get(url, headers={'Range': 'bytes=0-1,5-6'}, timeout=10).status_code == 200
    etag = requests.head(url, timeout=10).headers['ETag']
    assert requests.get(url, headers={'Range': 'bytes=0-9', 'If-Range': etag}, timeout=10).status_code == 206
    assert requests.get(url, headers={'Range': 'bytes=0-9', 'If-Range': '"stale"'}, timeout=10).status_code == 200


def test_conditional_requests(server, base_mirror):
    url = server.rewrite(base_mirror.releases['almalinux', '9'].checksum_url)
    first = requests.get(url, timeout=10)
    etag, modified = first.headers['ETag'], first.headers['Last-Modified']
    assert requests.get(url, headers={'If-None-Match': etag}, timeout=10).status_code == 304
    assert requests.get(url, headers={'If-None-Match': '"other", %s' % etag}, timeout=10).status_code == 304
    assert requests.get(url, headers={'If-None-Match': '"other"'}, timeout=10).status_code == 200
    assert requests.get(url, headers={'If-Modified-Since': modified}, timeout=10).status_code == 304
    assert requests.get(url, headers={'If-Modified-Since': 'Sun, 01 Nov 2026 00:00:00 GMT'}, timeout=10).status_code == 200
    not_modified = requests.head(url, headers={'If-None-Match': etag}, timeout=10)
    assert not_modified.status_code == 304 and not_modified.headers['ETag'] == etag


def test_redirects(server, base_mirror):
    info = base_mirror.releases['fedora', '44']
    response = requests.get(server.rewrite(info.image_url), timeout=10)
    assert response.status_code == 200 and hashlib.sha256(response.content).hexdigest() == info.sha256
    assert [r.status_code for r in response.history] == [302]
    assert response.history[0].headers['Location'] == server.url + '/dl.fedoraproject.org' + info.image_url.split('.org', 1)[1]
    cirros = base_mirror.releases['cirros', '0.6']
    gh = requests.get(server.rewrite(cirros.extra['github_url']), allow_redirects=False, timeout=10)
    assert gh.status_code == 302 and '/objects.githubusercontent.com/' in gh.headers['Location']
    assert hashlib.sha256(requests.get(gh.headers['Location'], timeout=10).content).hexdigest() == cirros.sha256
    directory = requests.get(server.base_for('cloud.debian.org') + 'images/cloud/bookworm', allow_redirects=False, timeout=10)
    assert directory.status_code == 301 and directory.headers['Location'].endswith('/images/cloud/bookworm/')


def test_listings(server, base_mirror):
    ubuntu = requests.get(server.base_for('cloud-images.ubuntu.com') + 'releases/noble/', timeout=10).text
    assert '<title>Ubuntu Cloud Images</title>' in ubuntu
    serials = re.findall(r'<a href="([^"]+)/">(?:release-)?([0-9]+)(-[0-9]+)?/</a>', ubuntu)
    assert [s[1] for s in serials] == [b['version'] for b in base_mirror.builds('ubuntu', '24.04')]
    assert '2026-11-16 16:27' in ubuntu, 'listing shows simulated publish times'
    debian = requests.get(server.base_for('cloud.debian.org') + 'images/cloud/trixie/', timeout=10).text
    assert '<title>Index of /images/cloud/trixie</title>' in debian and '<a href="latest/">latest/</a>' in debian
    assert len(re.findall(r'<a href="(\d{8}-\d+)/">', debian)) == 3
    rocky = requests.get(server.base_for('dl.rockylinux.org') + 'pub/rocky/9/images/x86_64/', timeout=10).text
    assert 'Rocky-9-GenericCloud-Base.latest.x86_64.qcow2' in rocky


def test_path_escape_is_refused(server):
    with socket.create_connection(('127.0.0.1', server.port), timeout=5) as sock:
        sock.sendall(b'GET /cloud.debian.org/../../state.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        assert sock.recv(100).startswith(b'HTTP/1.1 404')


def test_request_log_counts_and_resets(server, base_mirror):
    url = server.rewrite(base_mirror.releases['rocky', '9'].image_url)
    requests.head(url, timeout=10)
    requests.get(url, headers={'Range': 'bytes=0-9'}, timeout=10)
    log = server.requests
    assert [(e['method'], e['status'], e['bytes']) for e in log] == [('HEAD', 200, 0), ('GET', 206, 10)]
    assert log[1]['range'] == 'bytes=0-9' and log[1]['path'].startswith('/dl.rockylinux.org/')
    assert server.count('https://dl.rockylinux.org/') == 2 and server.count('https://cloud.debian.org/') == 0
    assert server.count(method='HEAD') == 1
    server.reset_requests()
    assert server.requests == []


def test_fault_drop_after_n_bytes(server, base_mirror):
    info = base_mirror.releases['ubuntu', '22.04']
    server.set_fault(info.image_url, 'drop', after=1000, times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(server.rewrite(info.image_url), timeout=10).content  # pylint: disable=expression-not-assigned
    assert server.requests[-1]['bytes'] == 1000 and server.requests[-1]['fault'] == 'drop'
    # times=1: the retry (e.g. a resumed Range request) succeeds
    resumed = requests.get(server.rewrite(info.image_url), headers={'Range': 'bytes=1000-'}, timeout=10)
    assert resumed.status_code == 206 and resumed.content == read(info.local_path, 'rb')[1000:]


def test_fault_5xx_for_first_k_requests(server, base_mirror):
    url = server.rewrite(base_mirror.releases['ubuntu', '24.04'].checksum_url)
    server.set_fault(url, 'error', status=502, times=2)
    assert [requests.get(url, timeout=10).status_code for _i in range(3)] == [502, 502, 200]


def test_fault_corrupt_one_byte(server, base_mirror):
    info = base_mirror.releases['cirros', '0.6']
    server.set_fault(info.image_url, 'corrupt', offset=4096)
    body = requests.get(server.rewrite(info.image_url), timeout=10).content
    original = read(info.local_path, 'rb')
    assert len(body) == len(original)
    assert [i for i in range(len(body)) if body[i] != original[i]] == [4096]
    server.clear_faults(info.image_url)
    server.set_fault('/download.cirros-cloud.net/*', 'corrupt')  # glob + default offset (middle)
    body = requests.get(server.rewrite(info.image_url), timeout=10).content
    assert [i for i in range(len(body)) if body[i] != original[i]] == [len(original) // 2]


def test_fault_slow_drip(server, base_mirror):
    info = base_mirror.releases['windows', '2022']
    server.set_fault(info.image_url, 'slow', rate=200000)
    started = time.monotonic()
    body = requests.get(server.rewrite(info.image_url), timeout=10).content
    assert hashlib.sha256(body).hexdigest() == info.sha256
    assert time.monotonic() - started >= info.size / 200000.0 * 0.8


def test_fault_not_found_and_clear(server, base_mirror):
    url = server.rewrite(base_mirror.releases['debian', '13'].checksum_url)
    server.set_fault(url, 'not_found')
    assert requests.get(url, timeout=10).status_code == 404
    assert os.path.exists(os.path.join(base_mirror.www, url.split('/', 3)[3]))
    server.clear_faults()
    assert requests.get(url, timeout=10).status_code == 200
    with pytest.raises(ValueError):
        server.set_fault(url, 'explode')
    with pytest.raises(ValueError):
        server.set_fault(url, 'drop', bogus=1)


def test_fault_redirect_loop_scheme_change_and_truncate(server, base_mirror):
    info = base_mirror.releases['debian', '12']
    url = server.rewrite(info.image_url)
    server.set_fault(url, 'redirect_loop')
    with pytest.raises(requests.TooManyRedirects):
        requests.get(url, timeout=10)
    server.set_fault(url, 'scheme_change')
    answer = requests.get(url, timeout=10, allow_redirects=False)
    assert answer.status_code == 302 and answer.headers['Location'] == url.replace('http://', 'https://', 1)
    server.set_fault(url, 'truncate', size=1000)
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == read(info.local_path, 'rb')[:1000]
    server.set_fault(url, 'truncate')  # default: half, a clean short answer the client cannot tell from the file
    answer = requests.get(url, timeout=10)
    assert int(answer.headers['Content-Length']) == len(answer.content) == info.size // 2


def test_fault_cut_headers(server, base_mirror):
    """Half the header block, then the end of the connection: a plain client reads an empty 200."""
    url = server.rewrite(base_mirror.releases['ubuntu', '24.04'].checksum_url)
    server.set_fault(url, 'cut_headers', times=1)
    path = url.split('/', 3)[3]
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(('GET /%s HTTP/1.1\r\nHost: x\r\n\r\n' % path).encode())
        received = b''.join(iter(lambda: sock.recv(4096), b''))
    assert received.startswith(b'HTTP/1.1 200 OK\r\n') and b'\r\n\r\n' not in received
    assert b'Content-Length' not in received and server.requests[-1]['fault'] == 'cut_headers'
    server.set_fault(url, 'cut_headers', after=40)
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == b'' and 'Content-Length' not in answer.headers


def test_server_follows_mirror_changes_live(mirror):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    with MirrorServer(mirror) as live:
        pointer = live.base_for('cloud-images.ubuntu.com') + 'releases/noble/release/unpacked/build-info.txt'
        before = requests.get(pointer, timeout=10).text
        mirror.advance()
        after = requests.get(pointer, timeout=10).text
        assert before != after and 'serial=20261117' in after
