# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Download an upstream file once, into a cache of verified files keyed by digest.

Every cloud in a run (and every later run) reuses a cached file instead of downloading it
again. A download streams through every digest needed later in one pass, resumes with a
Range request after a dropped connection (also across runs: the partial file and its
validator stay in the cache), and only becomes visible in the cache, by an atomic rename,
once it matches the expected digest. Concurrent runs serialise on a per-digest lock.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import re
import time
from dataclasses import dataclass

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import (
    STANDARD_DIGESTS, ChecksumError, MultiHasher)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._files import (
    UnsafeCacheError, cache_root, locked, open_regular, share, subdir, write_atomic)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    BACKOFF, CHUNK, RETRIES, TRANSFER_DEADLINE, Deadline, DeadlineError, TruncatedError, UpstreamError, attempts,
    body, check_framed, get, retrying)

# The lock files of a cache key (Cache.lock, Cache.image_lock), which pruning removes with the key.
LOCK_NAME = re.compile(r'^(?:image-)?(?P<key>[a-z0-9_]+-[0-9a-f]+)\.lock$')


class FetchError(Exception):
    """The file could not be downloaded and verified; nothing was added to the cache."""


@dataclass(frozen=True)
class CachedFile:
    path: str
    size: int
    digests: dict
    from_cache: bool


class Cache:
    """``files/<algo>-<hex>`` plus a JSON sidecar; ``partial/`` for resumable transfers; ``locks/``.

    The cache is untrusted storage (``_files.cache_root``): it may be shared with a group or
    restored from elsewhere, so a file is hashed again each time it is looked up. ``warnings``
    says what the root check saw that a user should know.
    """

    def __init__(self, root):
        self.warnings = cache_root(root)
        self.root = root
        for sub in ('files', 'partial', 'locks'):
            subdir(root, sub)

    @staticmethod
    def key(checksum):
        return '%s-%s' % (checksum.algorithm, checksum.hexdigest)

    def path(self, key):
        return os.path.join(self.root, 'files', key)

    def partial(self, key):
        return os.path.join(self.root, 'partial', key + '.part')

    def lookup(self, key, discard=True):
        """The cached file for ``key``, or None. The sidecar is written last, so it marks completeness.

        The bytes are hashed again against the digest in ``key`` and the returned digests are
        those computed now, not the sidecar's: a file planted or changed in the cache is never
        returned as verified. A mismatch removes the file (unless not ``discard``: check mode).
        """
        path = self.path(key)
        try:
            with open_regular(path + '.json', 'r', encoding='utf-8') as handle:
                json.load(handle)
            algorithm, hexdigest = key.split('-', 1)
            hasher = MultiHasher(STANDARD_DIGESTS + (algorithm,)).update_file(open_regular(path))
        except UnsafeCacheError:  # a symlink or fifo is no cached file
            if discard:
                self.remove(key)
            return None
        except (OSError, ValueError):
            return None
        digests = hasher.hexdigests()
        if not hmac.compare_digest(digests[algorithm], hexdigest):
            if discard:
                self.remove(key)
            return None
        if discard:  # not in check mode: the sidecar's mtime is the file's last use, which prune reads
            with contextlib.suppress(OSError):  # another uid's sidecar we may not touch: pruned a day early
                os.utime(path + '.json', follow_symlinks=False)
        return CachedFile(path, hasher.size, digests, True)

    def prune(self, max_age, now=None, dry_run=False, keep=()):
        """Remove what was not used for ``max_age`` seconds, but the keys in ``keep``; return
        ``(names, bytes)`` removed.

        A cached file goes with its sidecars (its last use: the newest of their mtimes, which
        ``lookup`` and ``store`` set), a partial transfer by its own mtime. Keyrings and discovery
        state (the rollback guard's memory) are no cache of files and stay; the lock files of a
        key go once nothing of it is left. A file in use was looked up moments ago, so an age of a
        day or more never removes it under a run; a key whose lock another run holds (a download
        resuming an old partial file) is skipped.
        """
        cutoff = (time.time() if now is None else now) - max_age
        groups = {}
        for sub in ('files', 'partial'):
            folder = os.path.join(self.root, sub)
            for name in os.listdir(folder):
                groups.setdefault((sub, name.split('.', 1)[0]), []).append(os.path.join(folder, name))
        removed, freed = [], 0
        for (sub, key), paths in sorted(groups.items()):
            stats = []
            for path in paths:
                with contextlib.suppress(FileNotFoundError):  # another run pruning beside this one
                    stats.append((path, os.lstat(path)))
            if key in keep or not stats or max(stat.st_mtime for _path, stat in stats) >= cutoff:
                continue
            with self.lock(key, wait=False) as free, self.image_lock(key, wait=False) as image_free:
                if not (free and image_free):
                    continue
                removed.append('%s/%s' % (sub, key))
                freed += sum(stat.st_size for _path, stat in stats)
                if dry_run:
                    continue
                for path, _stat in sorted(stats, key=lambda item: not item[0].endswith('.json')):  # sidecars first
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path)
        if not dry_run:
            left = {key for sub, key in groups if '%s/%s' % (sub, key) not in removed}
            self._prune_locks(cutoff, left | set(keep))
        return removed, freed

    def _prune_locks(self, cutoff, kept):
        """Remove the old lock files of keys not in ``kept`` (nothing of them left), each while holding it."""
        folder = os.path.join(self.root, 'locks')
        for name in os.listdir(folder):
            match = LOCK_NAME.match(name)
            if not match or match['key'] in kept:
                continue
            path = os.path.join(folder, name)
            with contextlib.suppress(FileNotFoundError):
                if os.lstat(path).st_mtime >= cutoff:
                    continue
                with locked(path, wait=False) as free:
                    if free:
                        os.unlink(path)  # a run waiting on it locks the file created next (_files.locked)

    def remove(self, key):
        for path in (self.path(key) + '.json', self.path(key)):  # the sidecar first: it marks completeness
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def lock(self, key, wait=True):
        """The lock of a download (held while it is fetched)."""
        return locked(os.path.join(self.root, 'locks', key + '.lock'), wait)

    def image_lock(self, key, wait=True):
        """The lock of what is made from a download (signature check, expansion, inspection, raw)."""
        return self.lock('image-' + key, wait)

    def store(self, key, source, size, digests, url):
        share(source, write=False)  # complete: the group reads it, only a new file (by rename) replaces it
        os.replace(source, self.path(key))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(source + '.validator')
        write_atomic(self.path(key) + '.json', json.dumps({'size': size, 'digests': digests, 'url': url}))
        return CachedFile(self.path(key), size, digests, False)


def fetch(session, url, expected, cache, max_bytes, timeout=(15, 120), retries=RETRIES, backoff=BACKOFF,
          deadline=TRANSFER_DEADLINE, progress=None):
    """Return the verified :class:`CachedFile` for ``url`` whose digest must equal ``expected`` (a Checksum).

    A dropped transfer is resumed up to ``retries`` times, all within ``deadline`` seconds.
    ``progress(done, total)`` is called after every chunk; ``total`` is None without a Content-Length.
    """
    key = Cache.key(expected)
    found = cache.lookup(key)
    if found:
        return found
    with cache.lock(key):
        found = cache.lookup(key)  # another run may have finished it while we waited
        if found:
            return found
        part = cache.partial(key)
        algorithms = STANDARD_DIGESTS + (expected.algorithm,)
        policy = (retries, backoff, Deadline(deadline))
        hasher = _download(session, url, part, algorithms, max_bytes, timeout, policy, progress)
        try:
            hasher.verify(expected, what=url)
        except ChecksumError as exc:
            _discard(part)
            raise FetchError('%s; the download was discarded' % exc) from exc
        return cache.store(key, part, hasher.size, hasher.hexdigests(), url)


def _hash_existing(part, algorithms):
    """Hash the bytes already on disk (from a dropped attempt or a killed run), so the transfer can resume.

    Re-reading the local partial file on each attempt keeps the digests right whatever the
    previous attempt did (appended, or restarted from zero after the upstream file changed).
    """
    hasher = MultiHasher(algorithms)
    try:
        return hasher.update_file(open_regular(part))
    except FileNotFoundError:
        return hasher
    except UnsafeCacheError:  # a symlink or fifo planted in partial/: never appended through
        _discard(part)
        return hasher


def _discard(part):
    for path in (part, part + '.validator'):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _download(session, url, part, algorithms, max_bytes, timeout, policy, progress):
    retries, backoff, deadline = policy

    def attempt():
        # Re-hashing the partial file each time resumes from whatever the last attempt left.
        hasher = _hash_existing(part, algorithms)
        return _transfer(session, url, part, hasher, algorithms, max_bytes, timeout, deadline, progress)

    try:
        return retrying(attempt, url, deadline, retries, backoff)
    except FetchError:
        _discard(part)
        raise
    except UpstreamError as exc:
        if not exc.transient and not isinstance(exc, DeadlineError):
            _discard(part)
            raise FetchError('downloading %s failed: %s' % (url, exc)) from None
        kept = os.path.getsize(part) if os.path.exists(part) else 0
        raise FetchError('downloading %s failed after %s (%d bytes kept for the next run to resume): %s'
                         % (url, attempts(exc.attempts), kept, exc)) from None


def _transfer(session, url, part, hasher, algorithms, max_bytes, timeout, deadline, progress):
    validator = _read(part + '.validator')
    headers = {}
    if hasher.size and validator:
        # If-Range: the server sends the whole file (200) if it changed since our partial copy.
        headers = {'Range': 'bytes=%d-' % hasher.size, 'If-Range': validator}
    with get(session, url, deadline, headers=headers, timeout=timeout) as response:
        if response.status_code == 206 and headers and _range_start(response) == hasher.size:
            mode = 'ab'
        elif response.status_code == 200:
            mode, hasher = 'wb', MultiHasher(algorithms)
        elif response.status_code == 416 and headers:
            _discard(part)  # our partial copy is longer than the file: start over
            raise TruncatedError('range not satisfiable, restarting %s' % url)
        else:
            raise FetchError('GET %s answered HTTP %d %s' % (url, response.status_code, response.reason))
        length = response.headers.get('Content-Length')
        if length is not None and hasher.size + int(length) > max_bytes:
            raise FetchError('%s is %d bytes, more than the limit of %d bytes'
                             % (url, hasher.size + int(length), max_bytes))
        new_validator = response.headers.get('ETag') or response.headers.get('Last-Modified')
        if new_validator:
            write_atomic(part + '.validator', new_validator)
        expected_end = hasher.size + int(length) if length is not None else None
        begun = hasher.size
        with open_regular(part, mode) as out:
            for chunk in body(response, url, deadline, CHUNK):
                if hasher.size + len(chunk) > max_bytes:
                    raise FetchError('%s exceeds the limit of %d bytes' % (url, max_bytes))
                out.write(chunk)
                hasher.update(chunk)
                if progress:
                    progress(hasher.size, expected_end)
        check_framed(response, hasher.size - begun)
        if expected_end is not None and hasher.size < expected_end:
            raise TruncatedError('%s ended after %d of %d bytes' % (url, hasher.size, expected_end))
    return hasher


def _range_start(response):
    """First byte position of a ``Content-Range: bytes <start>-<end>/<total>`` header, or None."""
    value = response.headers.get('Content-Range', '')
    try:
        return int(value.split(' ', 1)[1].split('-', 1)[0])
    except (IndexError, ValueError):
        return None


def _read(path):
    try:
        with open_regular(path, 'r', encoding='utf-8') as handle:
            return handle.read().strip() or None
    except (FileNotFoundError, UnsafeCacheError):
        return None
