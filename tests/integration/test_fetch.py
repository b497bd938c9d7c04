"""_fetch against the local upstream mirror: real HTTP, real faults, real files on disk."""

from __future__ import annotations

import os
import threading

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import Checksum
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._fetch import Cache, FetchError, fetch
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session

LIMIT = 64 * 1024 * 1024


@pytest.fixture
def debian(upstream, server):
    """Debian 12's newest image: its info, mirror URL and the checksum its SHA512SUMS promises."""
    info = upstream.mirror.releases['debian', '12']
    return info, server.rewrite(info.image_url), Checksum(info.file_name, 'sha512', info.sha512)


@pytest.fixture
def cache(tmp_path):
    return Cache(str(tmp_path / 'cache'))


def session():
    return make_session(retries=3, backoff=0.01)


def leftovers(cache):
    return sorted(name for sub in ('files', 'partial') for name in os.listdir(os.path.join(cache.root, sub)))


def test_download_once_then_from_cache(server, debian, cache):
    info, url, expected = debian
    first = fetch(session(), url, expected, cache, LIMIT)
    assert not first.from_cache
    assert first.digests == {'md5': info.md5, 'sha256': info.sha256, 'sha512': info.sha512}
    assert first.size == info.size == os.path.getsize(first.path)
    with open(first.path, 'rb') as handle, open(info.local_path, 'rb') as original:
        assert handle.read() == original.read()
    server.reset_requests()
    again = fetch(session(), url, expected, cache, LIMIT)
    assert again.from_cache and again.path == first.path and again.digests == first.digests
    assert server.count() == 0


def test_cut_headers_are_retried_not_taken_for_an_empty_file(server, debian, cache):
    info, url, expected = debian
    server.set_fault(url, 'cut_headers', times=1)
    assert fetch(session(), url, expected, cache, LIMIT, backoff=0.01).digests['sha512'] == info.sha512
    assert [entry['fault'] for entry in server.requests] == ['cut_headers', None]
    server.set_fault(url, 'cut_headers')
    with pytest.raises(FetchError, match=r'failed after 6 attempts \(0 bytes kept .*\): the connection ended '
                                         r'inside the response headers'):
        fetch(session(), url, expected, Cache(cache.root + '-2'), LIMIT, backoff=0.01)


def test_dropped_connections_resume_with_range(server, debian, cache):
    info, url, expected = debian
    server.set_fault(url, 'drop', after=5000, times=2)
    result = fetch(session(), url, expected, cache, LIMIT, backoff=0.01)
    assert result.digests['sha512'] == info.sha512
    gets = [entry for entry in server.requests if entry['method'] == 'GET']
    assert len(gets) == 3
    assert gets[1]['range'] and gets[2]['range'], gets  # resumed, not restarted
    assert sum(entry['bytes'] for entry in gets) == info.size


def test_server_errors_are_retried(server, debian, cache):
    info, url, expected = debian
    server.set_fault(url, 'error', status=503, times=2)
    assert fetch(session(), url, expected, cache, LIMIT).digests['sha512'] == info.sha512
    assert [entry['status'] for entry in server.requests] == [503, 503, 200]


def test_corrupt_byte_is_refused_and_nothing_kept(server, debian, cache):
    url, expected = debian[1], debian[2]
    server.set_fault(url, 'corrupt')
    with pytest.raises(FetchError, match='sha512 mismatch.*discarded'):
        fetch(session(), url, expected, cache, LIMIT)
    assert leftovers(cache) == []


def test_listed_file_missing(server, debian, cache):
    url, expected = debian[1], debian[2]
    server.set_fault(url, 'not_found')
    with pytest.raises(FetchError, match='HTTP 404'):
        fetch(session(), url, expected, cache, LIMIT)
    assert leftovers(cache) == []


def test_oversize_is_refused(debian, cache):
    info, url, expected = debian
    with pytest.raises(FetchError, match='more than the limit'):
        fetch(session(), url, expected, cache, info.size - 1)
    assert leftovers(cache) == []


def test_gives_up_after_attempts_but_keeps_bytes_to_resume(server, debian, cache):
    info, url, expected = debian
    server.set_fault(url, 'drop', after=4096)
    with pytest.raises(FetchError, match='after 2 attempts'):
        fetch(session(), url, expected, cache, LIMIT, retries=1, backoff=0.01)
    assert leftovers(cache) == [Cache.key(expected) + '.part', Cache.key(expected) + '.part.validator']
    server.clear_faults()
    server.reset_requests()
    # The next run (think: after the process was killed) resumes from the kept bytes.
    result = fetch(session(), url, expected, cache, LIMIT)
    assert result.digests['sha512'] == info.sha512
    assert [entry['range'] is not None for entry in server.requests] == [True]
    assert leftovers(cache) == sorted([Cache.key(expected), Cache.key(expected) + '.json'])


def test_changed_upstream_restarts_instead_of_splicing(server, debian, cache):
    info, url, expected = debian
    part = cache.partial(Cache.key(expected))
    with open(part, 'wb') as handle:
        handle.write(b'x' * 1000)  # bytes of some other file
    with open(part + '.validator', 'w', encoding='utf-8') as handle:
        handle.write('"stale-etag"')
    result = fetch(session(), url, expected, cache, LIMIT)
    assert result.digests['sha512'] == info.sha512
    assert [entry['status'] for entry in server.requests] == [200]  # If-Range did not match: whole file


def test_concurrent_runs_download_once(server, debian, cache):
    info, url, expected = debian
    server.set_fault(url, 'slow', rate=2_000_000)  # seconds for a bootable image: the others wait on the lock
    results = []
    threads = [threading.Thread(target=lambda: results.append(fetch(session(), url, expected, Cache(cache.root), LIMIT))) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and {r.digests['sha512'] for r in results} == {info.sha512}
    assert sum(not r.from_cache for r in results) == 1
    assert server.count(url, method='GET') == 1


def test_slow_drip_ends_at_the_transfer_deadline_and_keeps_bytes(server, debian, cache):
    """A server dripping bytes never trips the read timeout; the deadline of the whole transfer ends it."""
    import time  # pylint: disable=import-outside-toplevel
    info, url, expected = debian
    server.set_fault(url, 'slow', rate=4000)  # the image takes longer than 2 s at this rate
    started = time.monotonic()
    with pytest.raises(FetchError, match=r'not complete within the transfer deadline of 2 s \(transfer_deadline\)'):
        fetch(session(), url, expected, cache, LIMIT, timeout=(5, 5), backoff=0.01, deadline=2)
    assert time.monotonic() - started < 4
    assert leftovers(cache) == [Cache.key(expected) + '.part', Cache.key(expected) + '.part.validator']
    server.clear_faults()
    assert fetch(session(), url, expected, cache, LIMIT).digests['sha512'] == info.sha512


@pytest.mark.parametrize('fault, message', [
    ('redirect_loop', r'too many redirects \(a redirect loop\?\)'),
    ('scheme_change', r'which changes the scheme; refusing it'),
])
def test_redirect_faults_fail_cleanly(server, debian, cache, fault, message):
    _info, url, expected = debian
    server.set_fault(url, fault)
    with pytest.raises(FetchError, match=message):
        fetch(session(), url, expected, cache, LIMIT, backoff=0.01)
    assert leftovers(cache) == []
