# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Fetch → verify signature → decompress → inspect → convert, each step at most once per cache.

The cache (``_fetch.Cache``) holds files keyed by digest. Besides the download it holds the
expanded image (key: sha256 of the expanded bytes) and the raw conversion (key: sha256 of the
raw bytes). What was derived from a download is recorded in its sidecar ``files/<key>.image.json``:
``signature`` (the vendor's detached signature), ``expanded`` and ``raw`` (cache keys).
That record only says where to look: the cache is untrusted storage (shared, or restored from
elsewhere), so a derived file is used only once this run proved it came from the download, itself
hashed against the vendor's digest in this run. An expansion is proven by expanding the download
again into nothing but hashes, a raw conversion by ``qemu-img compare`` with the image it was
converted from; both read only, so a conversion runs only when there is none to prove (a new build).
A record pointing at other bytes is dropped, said in a warning, and the file is derived again.

Rules for failures, so nothing half-made is left:

* bad, missing (HTTP 4xx) or unpinned signature: the download and all derived files are removed;
* decompression fails (corrupt, bomb): nothing expanded is kept; the compressed download stays,
  it is the vendor's verified bytes and not itself an image anyone would upload;
* inspection fails: the rejected file never stays in the cache (for an uncompressed image that
  is the download itself);
* conversion fails: no raw file is kept.

A ``file://`` URL (a local file: a customer's own image, a provider build) goes through the
same steps; its "download" is a copy into the cache, hashed in the same pass.

Runs serialise on a per-download lock held for the whole composition, so N clouds (forks or
separate runs) wait for one download, one decompression and one conversion, then reuse them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import stat
import tempfile
import time
import urllib.parse
from dataclasses import dataclass

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import (
    STANDARD_DIGESTS, Checksum, ChecksumError, MultiHasher, parse_digest)
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._decompress import (
    DecompressionError, compression_from_name, decompress, digest_expansion, normalize_compression)
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._diskimage import (
    DEFAULT_FORMATS, ConversionError, UnsafeImageError, convert_to_raw, expansion_cap, inspect, min_disk_gib,
    same_disk)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._fetch import (
    CHUNK, Cache, FetchError, fetch)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._files import (
    UnsafeCacheError, temp_path, write_atomic)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    BACKOFF, RETRIES, TRANSFER_DEADLINE, Deadline, UpstreamError, body, get, retrying)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._signatures import (
    SignatureError, normalize_fingerprint, verify_detached)

GIB = 1 << 30
DEFAULT_MAX_SIZE = 20 * GIB
DEFAULT_MAX_EXPANDED_SIZE = 64 * GIB
DEFAULT_MAX_VIRTUAL_SIZE = 128 * GIB
MAX_SIGNATURE_SIZE = 1 << 20


class ImageFetchError(Exception):
    """The image could not be fetched, verified, expanded, inspected or converted; the message names the cause."""


@dataclass(frozen=True)
class Source:
    url: str
    checksum: Checksum
    image_signature_url: str | None = None
    keyring: str | None = None
    fingerprints: tuple = ()
    compression: str | None = None      # None, 'xz', 'bz2' or 'gzip'
    disk_format: str | None = None      # expected format after decompression; None: qcow2 or raw


@dataclass(frozen=True)
class Limits:
    max_size: int = DEFAULT_MAX_SIZE
    max_expanded_size: int = DEFAULT_MAX_EXPANDED_SIZE
    max_virtual_size: int = DEFAULT_MAX_VIRTUAL_SIZE


def parse_checksum(value, name):
    """``'sha256:<hex>'`` (or bare hex, algorithm from its length) -> Checksum; sha256 or stronger."""
    try:
        algorithm, hexdigest = parse_digest(value, bare=True, what='checksum')
    except ChecksumError as exc:
        raise ImageFetchError(str(exc)) from None
    return Checksum(name, algorithm, hexdigest)


def resolve_source(release=None, url=None, checksum=None, image_signature_url=None, keyring=None,
                   trusted_fingerprints=None, compression=None, disk_format=None, filename=None):
    """Merge a ``release`` dict (upstream_release's) with explicit options; explicit ones win."""
    release = release or {}
    trust = release.get('trust') or {}

    def pick(explicit, key, default=None):
        return explicit if explicit is not None else release.get(key, default)

    url = pick(url, 'url')
    if not url:
        raise ImageFetchError('no url: give release (from upstream_release) or url')
    if not re.match(r'(?i)(https?|file)://', url):
        raise ImageFetchError('url %s is not http://, https:// or file://' % url)
    path = local_path(url)
    if path is not None and not os.path.isfile(path):
        raise ImageFetchError('local file %s does not exist or is not a regular file' % path)
    checksum = pick(checksum, 'checksum')
    if not checksum:
        raise ImageFetchError('no checksum for %s: the digest from the signed metadata is required' % url)
    filename = pick(filename, 'filename') or urllib.parse.unquote(url.rstrip('/').rsplit('/', 1)[-1].split('?', 1)[0])
    # "" is unset, not "unsigned": an empty option must not switch off the release's signature check.
    signature_url = pick(image_signature_url or None, 'image_signature_url') or None
    if signature_url and not re.match(r'(?i)https?://', signature_url):
        raise ImageFetchError('image_signature_url %s is not http:// or https://' % signature_url)
    keyring = keyring if keyring is not None else trust.get('keyring')
    fingerprints = trusted_fingerprints if trusted_fingerprints is not None else trust.get('fingerprints')
    if isinstance(fingerprints, str):
        fingerprints = [fingerprints]
    try:
        fingerprints = tuple(normalize_fingerprint(f) for f in fingerprints or ())
    except SignatureError as exc:
        raise ImageFetchError('trusted_fingerprints: %s' % exc) from None
    if signature_url and not (keyring and fingerprints):
        raise ImageFetchError('%s is signed (%s) but no keyring and trusted fingerprints were given; '
                              'refusing to skip the signature check' % (url, signature_url))
    return Source(url=url, checksum=parse_checksum(checksum, filename), image_signature_url=signature_url,
                  keyring=keyring, fingerprints=fingerprints,
                  compression=_compression(pick(compression, 'compression'), filename),
                  disk_format=pick(disk_format, 'disk_format') or None)


def local_path(url):
    """The path of a ``file://`` URL, None for other schemes.

    Only this host's files: ``file:///p``, ``file://localhost/p``.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != 'file':
        return None
    if parts.netloc not in ('', 'localhost') or not parts.path.startswith('/') or parts.query or parts.fragment:
        raise ImageFetchError('url %s is not a file:// URL of an absolute local path (file:///path/to/image)' % url)
    return urllib.parse.unquote(parts.path)


def copy_local(path, expected, cache, max_bytes, progress=None):
    """Copy the local file ``path`` into ``cache``, hashing it in the same pass; only a verified copy is stored.

    The digests are those of the bytes copied, so a file changing while it is read fails the
    check instead of caching something else under its digest.
    """
    key = Cache.key(expected)
    part = temp_path(cache.partial(key), '.copy')
    hasher = MultiHasher(STANDARD_DIGESTS + (expected.algorithm,))
    try:
        with open(path, 'rb') as source:
            info = os.fstat(source.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ImageFetchError('local file %s is not a regular file' % path)
            if info.st_size > max_bytes:
                raise ImageFetchError('%s is %d bytes, more than the limit of %d bytes'
                                      % (path, info.st_size, max_bytes))
            with open(part, 'wb') as out:
                for chunk in iter(lambda: source.read(CHUNK), b''):
                    if hasher.size + len(chunk) > max_bytes:
                        raise ImageFetchError('%s exceeds the limit of %d bytes' % (path, max_bytes))
                    out.write(chunk)
                    hasher.update(chunk)
                    if progress:
                        progress(hasher.size, info.st_size)
        hasher.verify(expected, what=path)
        return cache.store(key, part, hasher.size, hasher.hexdigests(), 'file://' + urllib.parse.quote(path))
    except ChecksumError as exc:
        raise ImageFetchError('%s; nothing was added to the cache' % exc) from None
    except OSError as exc:
        raise ImageFetchError('cannot copy %s into the cache: %s' % (path, exc)) from None
    finally:
        _unlink(part)  # a no-op once stored (renamed)


def _compression(value, filename):
    text = str(value or 'auto').strip().lower()
    if text == 'none':
        return None
    if text == 'auto':
        return compression_from_name(filename)
    try:
        return normalize_compression(text)
    except DecompressionError as exc:
        raise ImageFetchError(str(exc)) from None


class Progress:
    """Progress of long steps: a line per ``interval`` seconds to ``path`` (``tail -f`` it), ``log`` every 10 %."""

    def __init__(self, path=None, log=None, interval=1.0, clock=time.monotonic):
        self.path, self.log, self.interval, self.clock = path, log, interval, clock

    def step(self, what):
        """A ``callback(done, total=None)`` for one step (download, expand, convert)."""
        started = self.clock()
        state = {'written': None, 'decile': 0}

        def callback(done, total=None):
            now = self.clock()
            final = total is not None and done >= total
            if self.path and (final or state['written'] is None or now - state['written'] >= self.interval):
                state['written'] = now
                self._write(self._line(what, done, total, now - started))
            if self.log and total:
                decile = min(10, done * 10 // total)
                if decile > state['decile']:
                    state['decile'] = decile
                    self.log(self._line(what, done, total, now - started))
        return callback

    def note(self, text):
        if self.path:
            self._write('%s %s' % (time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), text))
        if self.log:
            self.log(text)

    @staticmethod
    def _line(what, done, total, elapsed):
        rate = done / elapsed / (1 << 20) if elapsed > 0 else 0.0
        share = '%3d%% ' % (done * 100 // total) if total else ''
        of = '/%.1f' % (total / (1 << 20)) if total else ''
        stamp = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        return '%s %s %s%.1f%s MiB %.1f MiB/s' % (stamp, what, share, done / (1 << 20), of, rate)

    def _write(self, line):
        with open(self.path, 'a', encoding='utf-8') as handle:
            handle.write(line + '\n')


def _algorithms(source):
    return tuple(dict.fromkeys(STANDARD_DIGESTS + (source.checksum.algorithm,)))


class _Run:
    """One composition under the download's lock; ``made`` lists what this run added to the cache."""

    def __init__(self, source, cache, session, limits, timeout, transport, progress, readonly=False):
        self.source, self.cache, self.session, self.limits = source, cache, session, limits
        self.readonly = readonly  # check mode: a cached file that fails its re-hash is not removed
        self.timeout, (self.retries, self.backoff, self.deadline) = timeout, transport
        self.progress = progress or Progress()
        self.key = Cache.key(source.checksum)
        self.meta = _read_json(self._meta_path())
        self.made, self.warnings = [], []

    def _meta_path(self):
        return self.cache.path(self.key) + '.image.json'

    def _save_meta(self):
        _write_json(self._meta_path(), self.meta)

    # -- steps ------------------------------------------------------------------------------------
    def download(self):
        found = self.cache.lookup(self.key)  # re-hashed: a planted file with forged sidecars is removed here
        if found:
            return found
        self.meta = {}  # whatever was recorded belongs to bytes that are gone
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._meta_path())
        path = local_path(self.source.url)
        if path is not None:
            self.progress.note('copy %s' % path)
            got = copy_local(path, self.source.checksum, self.cache, self.limits.max_size, self.progress.step('copy'))
            self.made.append('copy')
            return got
        self.progress.note('download %s' % self.source.url)
        try:
            got = fetch(self.session, self.source.url, self.source.checksum, self.cache, self.limits.max_size,
                        timeout=self.timeout, retries=self.retries, backoff=self.backoff, deadline=self.deadline,
                        progress=self.progress.step('download'))
        except (FetchError, UpstreamError) as exc:
            raise ImageFetchError('download failed: %s' % exc) from None
        self.made.append('download')
        return got

    def signature(self, download):
        """The pinned fingerprint that signed the download (None when the vendor signs no image file).

        The record keeps the signature, not a verdict: it is checked again over the proven bytes
        in every run (``gpgv``, local), and fetched again when it does not verify.
        """
        source = self.source
        if not source.image_signature_url:
            return None
        signer = self.cached_signer(download)
        if signer:
            return signer
        fd, sig = tempfile.mkstemp(prefix='cloudimages-', suffix='.sig')
        os.close(fd)
        try:
            self._get_signature(sig)
            signer = verify_detached(download.path, sig, source.keyring, list(source.fingerprints))
            with open(sig, 'rb') as handle:
                self.meta['signature'] = base64.b64encode(handle.read()).decode('ascii')
        except SignatureError as exc:
            self.forget()
            raise ImageFetchError('image signature %s: check failed, the download was removed from the cache: %s'
                                  % (source.image_signature_url, exc)) from None
        finally:
            _unlink(sig)
        self.meta.pop('signers', None)  # a verdict stored by earlier versions: never trusted
        self._save_meta()
        return signer

    def cached_signer(self, download):
        """The pinned signer of the signature the record keeps, checked now over ``download``; None without one."""
        try:
            data = base64.b64decode(self.meta.get('signature') or '', validate=True)
        except (TypeError, ValueError):
            return None
        if not data:
            return None
        fd, sig = tempfile.mkstemp(prefix='cloudimages-', suffix='.sig')
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
            return verify_detached(download.path, sig, self.source.keyring, list(self.source.fingerprints))
        except SignatureError:
            return None  # another signature than the vendor's, or other pins: fetched again
        finally:
            _unlink(sig)

    def _get_signature(self, dest):
        url = self.source.image_signature_url
        deadline = Deadline(self.deadline)

        def attempt():
            with get(self.session, url, deadline, timeout=self.timeout) as response:
                if 400 <= response.status_code < 500:
                    raise SignatureError('signature %s is missing: HTTP %d' % (url, response.status_code))
                if response.status_code != 200:
                    raise ImageFetchError('cannot get the image signature %s: HTTP %d' % (url, response.status_code))
                data = b''
                for chunk in body(response, url, deadline, decode=True):
                    data += chunk
                    if len(data) > MAX_SIGNATURE_SIZE:
                        break
                return data

        try:
            data = retrying(attempt, url, deadline, self.retries, self.backoff)
        except UpstreamError as exc:
            raise ImageFetchError('cannot get the image signature %s: %s' % (url, exc)) from None
        if len(data) > MAX_SIGNATURE_SIZE:
            raise SignatureError('signature %s is larger than %d bytes' % (url, MAX_SIGNATURE_SIZE))
        with open(dest, 'wb') as handle:
            handle.write(data)

    def image(self, download):
        """The cached file to upload (the download, or its expansion) and its inspection."""
        if not self.source.compression:
            try:
                return download, self.inspect(download.path)
            except ImageFetchError:
                self.forget()
                raise
        found = self.proven_expanded(download)
        if found:
            try:
                return found, self.inspect(found.path)
            except ImageFetchError:
                self._drop('expanded')
                raise
        tmp = temp_path(self.cache.partial(self.key), '.expanded')
        self.progress.note('expand %s (%s)' % (download.path, self.source.compression))
        try:
            try:
                result = decompress(download.path, tmp, self.source.compression, self.limits.max_expanded_size,
                                    _algorithms(self.source), progress=self.progress.step('expand'),
                                    check_head=self._expansion_cap)
            except DecompressionError as exc:
                raise ImageFetchError('decompressing %s failed, nothing expanded was kept: %s'
                                      % (self.source.url, exc)) from None
            if any(result['compressed'][a] != v for a, v in download.digests.items() if a in result['compressed']):
                self.forget()
                raise ImageFetchError('the cached download %s changed on disk; it was removed, run again to download it'
                                      % download.path)
            info = self.inspect(tmp)
            key = 'sha256-' + result['expanded']['sha256']
            stored = self.cache.store(key, tmp, result['size'], result['expanded'], self.source.url + ' (expanded)')
        finally:
            _unlink(tmp)
        self.meta['expanded'] = key
        self._save_meta()
        self.made.append('expand')
        return stored, info

    def _expansion_cap(self, path):
        """Refuse a bomb from its first MiBs (format, virtual size) instead of after expanding it all."""
        allowed = (self.source.disk_format,) if self.source.disk_format else DEFAULT_FORMATS
        return expansion_cap(path, self.source.disk_format, allowed, self.limits.max_virtual_size)

    def inspect(self, path):
        source = self.source
        allowed = (source.disk_format,) if source.disk_format else DEFAULT_FORMATS
        try:
            return inspect(path, expected_format=source.disk_format, allowed_formats=allowed,
                           max_virtual_size=self.limits.max_virtual_size)
        except UnsafeImageError as exc:
            raise ImageFetchError('image from %s rejected: %s' % (source.url, exc)) from None

    def raw(self, image, info):
        if info.format == 'raw':
            return {'path': image.path, 'size': image.size, 'digests': image.digests}
        found = self.proven_raw(image, info)
        if not found:
            tmp = temp_path(self.cache.partial(self.key), '.raw')
            self.progress.note('convert %s from %s to raw' % (image.path, info.format))
            try:
                result = convert_to_raw(image.path, tmp, info.format, self.limits.max_virtual_size,
                                        _algorithms(self.source))
                key = 'sha256-' + result['digests']['sha256']
                found = self.cache.store(key, tmp, result['size'], result['digests'], self.source.url + ' (raw)')
            except (ConversionError, UnsafeImageError) as exc:
                raise ImageFetchError('converting %s to raw failed, nothing was kept: %s' % (image.path, exc)) from None
            finally:
                _unlink(tmp)
            self.meta['raw'] = key
            self._save_meta()
            self.made.append('convert')
        return {'path': found.path, 'size': found.size, 'digests': found.digests}

    def proven_expanded(self, download):
        """The recorded expansion of ``download``, once proven (``_expanded_from``); else None."""
        return self._derived('expanded', lambda found: self._expanded_from(download, found))

    def proven_raw(self, image, info):
        """The recorded raw conversion of ``image``, once proven (``_raw_of``); else None."""
        return self._derived('raw', lambda found: self._raw_of(image, info, found))

    def _derived(self, what, proof):
        """The cached file recorded as ``what`` (expanded, raw), once ``proof(file)`` showed it is derived from
        this run's download; None when there is none to prove, or it is not (then the record is dropped)."""
        key = self.meta.get(what)
        found = self.cache.lookup(key, discard=not self.readonly) if isinstance(key, str) else None
        if found is None or proof(found):
            return found
        self.warnings.append('the cache recorded %s as the %s form of %s, but it is not derived from these bytes '
                             '(the cache was edited or damaged); %s' % (
                                 found.path, what, self.cache.path(self.key),
                                 'it is not used' if self.readonly else 'it was made again'))
        if not self.readonly:
            self.meta.pop(what)  # the file stays: under its own digest it may be what another record names
            self._save_meta()
        return None

    def _expanded_from(self, download, found):
        """Does the proven ``download`` expand to ``found``? One decompression, hashed, written nowhere."""
        self.progress.note('prove %s against %s' % (found.path, download.path))
        try:
            got = digest_expansion(download.path, self.source.compression, found.size, ('sha256',),
                                   self.progress.step('prove expansion'))
        except DecompressionError:
            return False  # more bytes than the cached file, or no longer what was expanded before
        return (got['compressed']['sha256'] == download.digests['sha256'] and got['size'] == found.size
                and got['expanded']['sha256'] == found.digests['sha256'])

    def _raw_of(self, image, info, found):
        """Is ``found`` the raw disk of the proven ``image``? ``qemu-img compare``, read-only."""
        self.progress.note('prove %s against %s' % (found.path, image.path))
        try:
            return same_disk(image.path, info.format, info.virtual_size, found.path)
        except (ConversionError, OSError) as exc:
            raise ImageFetchError('cannot compare the cached raw %s with %s: %s'
                                  % (found.path, image.path, exc)) from None

    def _drop(self, what):
        key = self.meta.pop(what, None)
        if key:
            _unlink(self.cache.path(key) + '.json')  # the sidecar goes first: it marks a complete file
            _unlink(self.cache.path(key))
            self._save_meta()

    def forget(self):
        """Remove the download and the files derived from it: their origin is no longer trusted."""
        for what in ('raw', 'expanded'):
            self._drop(what)
        for path in (self._meta_path(), self.cache.path(self.key) + '.json', self.cache.path(self.key)):
            _unlink(path)
        self.meta = {}


def obtain(source, cache_dir, session, convert=False, limits=Limits(), timeout=(15, 120), retries=RETRIES,
           backoff=BACKOFF, deadline=TRANSFER_DEADLINE, progress=None):
    """Fetch and verify ``source`` into the cache at ``cache_dir``; return the image_fetch result dict.

    Every transfer (image, signature) is retried ``retries`` times and ends after ``deadline`` seconds.
    ``changed`` in the result is true when this call added anything to the cache.
    """
    cache = _cache(cache_dir)
    with cache.image_lock(Cache.key(source.checksum)):
        run = _Run(source, cache, session, limits, timeout, (retries, backoff, deadline), progress)
        download = run.download()
        signer = run.signature(download)
        image, info = run.image(download)
        raw = run.raw(image, info) if convert else None
        return dict(_result(download, image, info, raw, signer, run.made), **_warnings(cache, run))


def lookup(source, cache_dir, convert=False, limits=Limits()):
    """What :func:`obtain` would return without network or new files, or None when it would have to make something.

    Used in check mode: read-only, takes no lock, never downloads.
    """
    root = os.path.expanduser(cache_dir)
    if not os.path.isdir(os.path.join(root, 'files')):
        return None
    cache = _cache(root)
    run = _Run(source, cache, None, limits, None, (0, 0, 0), None, readonly=True)
    download = cache.lookup(run.key, discard=False)
    if download is None:
        return None
    signer = None
    if source.image_signature_url:
        signer = run.cached_signer(download)
        if signer is None:
            return None
    image = run.proven_expanded(download) if source.compression else download
    if image is None:
        return None
    info = run.inspect(image.path)
    raw = None
    if convert:
        if info.format == 'raw':
            raw = {'path': image.path, 'size': image.size, 'digests': image.digests}
        else:
            found = run.proven_raw(image, info)
            if found is None:
                return None
            raw = {'path': found.path, 'size': found.size, 'digests': found.digests}
    return dict(_result(download, image, info, raw, signer, []), **_warnings(cache, run))


def prune_cache(cache_dir, max_age_days, source, result, dry_run=False):
    """``{'removed': [...], 'bytes': n}``: the cache's files not used for ``max_age_days`` days removed
    (only named with ``dry_run``), never those of ``source`` and its ``result`` (which check mode's
    read-only lookup did not mark as used). With an age of 0 or without a cache nothing is pruned."""
    root = os.path.expanduser(cache_dir)
    if not max_age_days or not os.path.isdir(os.path.join(root, 'files')):
        return {'removed': [], 'bytes': 0}
    used = [result.get('path'), (result.get('raw') or {}).get('path')]
    keep = {Cache.key(source.checksum)} | {os.path.basename(path) for path in used if path}
    try:
        removed, freed = _cache(root).prune(max_age_days * 86400, dry_run=dry_run, keep=keep)
    except OSError as exc:
        raise ImageFetchError('cannot prune the cache %s: %s' % (root, exc)) from None
    return {'removed': removed, 'bytes': freed}


def _cache(cache_dir):
    try:
        return Cache(os.path.expanduser(cache_dir))
    except (UnsafeCacheError, OSError) as exc:
        raise ImageFetchError(str(exc)) from None


def _warnings(cache, run):
    """What the cache check and the proofs saw that a user should know, as Ansible's ``warnings`` (none: no key)."""
    warnings = cache.warnings + run.warnings
    return {'warnings': warnings} if warnings else {}


def _result(download, image, info, raw, signer, made):
    return {
        'changed': bool(made),
        'made': list(made),
        'path': image.path,
        'size': image.size,
        'format': info.format,
        'virtual_size': info.virtual_size,
        'min_disk': min_disk_gib(info.virtual_size),
        'digests': dict(image.digests),
        'upstream_digests': dict(download.digests),
        'raw': raw,
        'signer': signer,
        'from_cache': not made,
    }


def _read_json(path):
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path, data):
    write_atomic(path, json.dumps(data, sort_keys=True))


def _unlink(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
