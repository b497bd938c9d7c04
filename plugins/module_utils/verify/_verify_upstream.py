# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Check one Glance image against its upstream file: download it (or reuse the verified cache),
reproduce the stored form, compare digests, and tell a changed file from a gone one."""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils.verify import _verify
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import (
    ChecksumError, MultiHasher)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._fetch import Cache, FetchError, fetch
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._files import UnsafeCacheError
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    TRANSFER_DEADLINE, Deadline, UpstreamError, get)
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._verified_image import (
    ImageFetchError, Limits, lookup, obtain, resolve_source)

GONE_STATUSES = (404, 410)


class UpstreamCheck:
    """One per run: the HTTP session, cache and limits shared by every image checked."""

    def __init__(self, session, cache_dir, max_size, timeout, retries, keyring=None, fingerprints=None,
                 deadline=TRANSFER_DEADLINE):
        self.session, self.cache_dir, self.max_size = session, cache_dir, max_size
        self.timeout, self.retries, self.deadline = timeout, retries, deadline
        self.keyring, self.fingerprints = keyring, fingerprints
        self.warnings = []  # what the cache's checks and proofs saw, for the module to show

    def __call__(self, image, result, step):
        """Download (or reuse) the upstream file of ``step`` and fill ``result`` with the comparison."""
        limits, timeout = Limits(max_size=self.max_size), (self.timeout, self.timeout)
        trust, moved = step.trust, None
        try:
            source = self._source(step, step.url, trust)
            fetched = lookup(source, self.cache_dir, step.convert_to_raw, limits)
            if fetched is None:
                gone = self._download(source, limits, timeout)
                if gone and gone[0] == 'source_gone':
                    source, moved = self._archived(step, trust, limits, timeout) or (source, None)
                    gone = None if moved else gone
                if gone:
                    return _verify.outcome(result, *gone)
                fetched = lookup(source, self.cache_dir, step.convert_to_raw, limits) if moved else None
                if fetched is None:
                    fetched = obtain(source, self.cache_dir, self.session, step.convert_to_raw, limits, timeout=timeout,
                                     retries=self.retries, deadline=self.deadline)
                    fetched['from_cache'] = False
        except ImageFetchError as exc:
            return _verify.outcome(result, 'error', str(exc))
        self.warnings.extend(fetched.get('warnings', ()))
        result.update(from_cache=fetched['from_cache'], signer=fetched.get('signer'))
        stored = fetched['raw'] if step.convert_to_raw else fetched
        algo = _verify.actual(image)['os_hash_algo']
        try:
            extra = {} if algo in stored['digests'] else {algo: _hash_file(stored['path'], algo)}
        except ValueError:
            return _verify.outcome(result, 'error',
                                   'Glance os_hash_algo %r is no hash algorithm this Python knows' % algo)
        if moved:
            gone_url, step.url = step.url, moved
            result['source'] = moved
        result = _verify.compare(result, image, stored['digests'], fetched['upstream_digests'], step, extra)
        if moved:
            result['reason'] += ' (%s is gone: the vendor moved the build to its archive, %s)' % (gone_url, moved)
        return result

    def _source(self, step, url, trust):
        return resolve_source(url=url, checksum=step.digest, image_signature_url=step.image_signature_url or None,
                              keyring=self.keyring if self.keyring is not None else trust.get('keyring'),
                              trusted_fingerprints=self.fingerprints if self.fingerprints is not None
                              else trust.get('fingerprints'),
                              disk_format=step.disk_format, filename=step.filename)

    def _archived(self, step, trust, limits, timeout):
        """``(source, url)`` of the first vendor archive (vault) that serves the recorded bytes, or None."""
        for url in step.archives:
            source = self._source(step, url, trust)
            if lookup(source, self.cache_dir, step.convert_to_raw, limits) is not None \
                    or self._download(source, limits, timeout) is None:
                return source, url
        return None

    def _download(self, source, limits, timeout):
        """Put the upstream file into the cache; (status, reason) when it cannot be, None when it is there.

        Done before ``obtain`` (which then finds it cached) to tell the causes apart: other bytes
        than recorded (the checksum error), a gone source (probed), or a plain failure.
        """
        try:
            fetch(self.session, source.url, source.checksum, Cache(self.cache_dir), limits.max_size,
                  timeout=timeout, retries=self.retries, deadline=self.deadline)
            return None
        except FetchError as exc:
            if isinstance(exc.__cause__, ChecksumError):
                return ('unverifiable', 'the upstream file no longer matches the digest recorded at upload, so '
                        'nothing trusted is left to compare with (the vendor replaced it, or the mirror serves '
                        'other bytes): %s' % exc)
            failure = str(exc)
        except UpstreamError as exc:
            failure = str(exc)
        except UnsafeCacheError as exc:
            return ('error', str(exc))
        gone = self._probe_gone(source.url)
        return ('source_gone', gone) if gone else ('error', 'download failed: %s' % failure)

    def _probe_gone(self, url):
        """Why ``url`` is gone (404/410, unreachable after retries), or '' when it is there."""
        try:
            with get(self.session, url, Deadline(self.deadline), timeout=(self.timeout, self.timeout)) as response:
                if response.status_code in GONE_STATUSES:
                    return '%s answered HTTP %d %s' % (url, response.status_code, response.reason)
        except UpstreamError as exc:
            if exc.transient:
                return 'cannot reach %s after %d retries: %s' % (url, self.retries, exc)
        return ''


def _hash_file(path, algorithm):
    """Glance may use another os_hash_algo than the sha512 the cache records."""
    return MultiHasher([algorithm]).update_file(path).hexdigest(algorithm)
