# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Plumbing every upstream source shares: HTTP with URL rewrites, signature checks, results.

A source class knows its canonical URLs and file grammar; everything that touches the network
or gpgv goes through :class:`Context`, so the policies (HTTPS for unsigned metadata, fail-closed
signatures, request counting, size limits) live here once.
"""

from __future__ import annotations

import datetime
import email.utils
import ipaddress
import os
import re
import tempfile
import time
import urllib.parse

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _checksums, _signatures
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._files import subdir, write_atomic
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import (
    DEFAULT_ARCH, SPELLINGS, spelling)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    BACKOFF, RETRIES, TRANSFER_DEADLINE, Deadline, UpstreamError, attempts, body, check_framed, get,
    requests_sent, retrying)

# Metadata documents are small; Ubuntu's products file, the largest, is a few MB.
MAX_METADATA_BYTES = 64 * 1024 * 1024
# A cached vendor keyring older than this is fetched again (vendors add keys and subkeys).
KEYRING_MAX_AGE = 7 * 24 * 3600


class DiscoveryError(Exception):
    """The newest build could not be found or its metadata could not be trusted."""

    requests = 0   # HTTP requests made before the failure, set by the engine


class EndOfLife(DiscoveryError):
    """The vendor says the release has reached its end of life; ``date`` is an ISO date or True."""

    def __init__(self, date, reason):
        super().__init__(reason)
        self.date = date
        self.reason = reason


class NotFoundError(DiscoveryError):
    """An upstream document answered 404."""

    def __init__(self, message, url):
        super().__init__(message)
        self.url = url


class Response:
    def __init__(self, url, status, body=b'', etag=None, last_modified=None):
        self.url = url
        self.status = status
        self.body = body
        self.etag = etag
        self.last_modified = last_modified

    @property
    def text(self):
        try:
            return self.body.decode('utf-8')
        except UnicodeDecodeError:
            raise DiscoveryError('%s is not UTF-8 text' % self.url) from None

    def json(self):
        import json  # pylint: disable=import-outside-toplevel
        try:
            return json.loads(self.text)
        except ValueError as exc:
            raise DiscoveryError('%s is not valid JSON: %s' % (self.url, exc)) from None
        except RecursionError:  # '[' * 200000: the parser's recursion limit, not a crash of the run
            raise DiscoveryError('%s is not usable JSON: nested too deeply' % self.url) from None

    @property
    def modified_date(self):
        """ISO date of Last-Modified (UTC), or None."""
        if not self.last_modified:
            return None
        try:
            modified = email.utils.parsedate_to_datetime(self.last_modified)
            return modified.astimezone(datetime.timezone.utc).date().isoformat()
        except (TypeError, ValueError):
            return None


def is_loopback(host):
    if not host:
        return False
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


def secure_transport(url):
    """HTTPS, or plain HTTP from a loopback host (a local mirror): the only transports for what is unsigned."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme == 'https' or (parts.scheme == 'http' and is_loopback(parts.hostname))


def rewrite(url, rewrites):
    """Apply the longest matching prefix of ``rewrites`` (canonical prefix -> replacement)."""
    best = None
    for prefix in rewrites or {}:
        if url.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return url if best is None else rewrites[best] + url[len(best):]


def version_key(text):
    """Sort key that orders ``9.10`` after ``9.9`` and ``20261116.1`` after ``20261116``."""
    return tuple((0, int(part), '') if part.isdigit() else (1, 0, part) for part in re.findall(r'\d+|\D+', text))


def date_in(text):
    """ISO date of the first plausible ``YYYYMMDD`` in ``text``, or None."""
    for match in re.finditer(r'(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)', text):
        try:
            return datetime.date(int(match[1]), int(match[2]), int(match[3])).isoformat()
        except ValueError:
            continue
    return None


_HREF = re.compile(r'<a\s[^>]*?href="([^"?#]+)"', re.IGNORECASE)


def catalog_entry(release, title, lts=False, supported=None, support_eol=None):
    """One release of a vendor's list (Source.catalog); None where the vendor says nothing."""
    return {'release': release, 'title': title, 'lts': lts, 'supported': supported,
            'support_eol': support_eol}


def listing_names(html):
    """Entry names of an Apache/nginx directory index: files as ``name``, directories as ``name/``."""
    names = []
    for href in _HREF.findall(html):
        href = urllib.parse.unquote(href)
        if href.startswith(('/', '../', './')) or '://' in href or href.count('/') > (1 if href.endswith('/') else 0):
            continue
        if href not in names:
            names.append(href)
    return names


def newest_match(names, pattern):
    """``(name, version)`` of the name fully matching ``pattern`` with the highest version.

    The version is the group named ``version``, else group 1. Returns None when nothing matches.
    """
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    best = None
    for name in names:
        match = regex.fullmatch(name)
        if not match:
            continue
        version = match.groupdict().get('version') or (match.group(1) if regex.groups else name)
        if best is None or version_key(version) > version_key(best[1]):
            best = (name, version)
    return best


class Context:
    """One discovery run: HTTP session and rewrites, trust settings, request count."""

    def __init__(self, session, rewrites=None, timeout=30, require_https=False, keyring=None,
                 fingerprints=None, key_cache=None, gpgv=None, write_keys=True, signing_keys=None,
                 deadline=TRANSFER_DEADLINE):
        self.session = session
        self.rewrites = dict(rewrites or {})
        self.timeout = timeout
        self.deadline = deadline
        self.require_https = require_https
        self.user_keyring = keyring
        self.user_fingerprints = list(fingerprints or [])
        self.signing_keys = dict(signing_keys or {})
        self.refreshed = set()      # keyring names fetched during this run
        self.key_cache = key_cache
        self.gpgv = gpgv
        self.write_keys = write_keys
        self.requests = 0
        self.warnings = []
        self.trust = {'keyring': None, 'fingerprints': []}
        self._tmp = None

    # -- HTTP ------------------------------------------------------------------------------------
    def url(self, canonical):
        return rewrite(canonical, self.rewrites)

    def check_scheme(self, url):
        """Unsigned metadata is only as good as its transport: HTTPS, or plain HTTP on loopback."""
        if not self.require_https or secure_transport(url):
            return
        raise DiscoveryError('%s: unsigned checksum metadata must come over https (plain http is allowed only from a '
                             'loopback host, for a local mirror); fix url_rewrites or the source URL' % url)

    def get(self, canonical, validators=None, what='document'):
        """GET ``canonical`` (rewritten); a 304 answer to ``validators`` gives status 304 and no body."""
        url = self.url(canonical)
        self.check_scheme(url)
        headers = {}
        if validators:
            if validators.get('etag'):
                headers['If-None-Match'] = validators['etag']
            if validators.get('last_modified'):
                headers['If-Modified-Since'] = validators['last_modified']
        deadline = Deadline(self.deadline)
        counted, before = [], requests_sent(self.session)

        def attempt():
            with get(self.session, url, deadline, headers=headers, timeout=self.timeout) as response:
                counted.append(1 + len(response.history))
                return self._read(response, url, what, deadline)

        try:
            return retrying(attempt, url, deadline, getattr(self.session, 'retries', RETRIES),
                            getattr(self.session, 'backoff', BACKOFF))
        except UpstreamError as exc:
            tries = ' (after %s)' % attempts(exc.attempts) if exc.attempts > 1 else ''
            raise DiscoveryError('%s %s: request failed%s: %s' % (what, url, tries, exc)) from None
        finally:
            # What the server saw: the adapter's retries and every redirect hop (a plain
            # session, as in unit tests, counts hops only).
            after = requests_sent(self.session)
            self.requests += (after - before if after is not None else sum(counted)) or 1

    def _read(self, response, url, what, deadline):
        self.check_scheme(response.url)
        if response.status_code == 404:
            raise NotFoundError('%s %s does not exist (HTTP 404)' % (what, url), url)
        if response.status_code == 304:
            return Response(url, 304, etag=response.headers.get('ETag'),
                            last_modified=response.headers.get('Last-Modified'))
        if response.status_code != 200:
            raise DiscoveryError('%s %s: HTTP %s %s' % (what, url, response.status_code, response.reason))
        data = bytearray()
        for chunk in body(response, url, deadline, 64 * 1024, decode=True):
            data += chunk
            if len(data) > MAX_METADATA_BYTES:
                raise DiscoveryError('%s %s is larger than %d bytes; refusing it' % (what, url, MAX_METADATA_BYTES))
        check_framed(response, len(data))
        length = response.headers.get('Content-Length')
        if length is not None and not response.headers.get('Content-Encoding') and len(data) < int(length):
            raise UpstreamError('%s ended after %d of %s bytes' % (url, len(data), length), transient=True)
        return Response(url, 200, bytes(data), response.headers.get('ETag'), response.headers.get('Last-Modified'))

    # -- checksum lists ----------------------------------------------------------------------------
    def parse_checksums(self, text, source_url):
        """All entries of a checksum list; lines that were not used become run warnings."""
        try:
            entries = _checksums.parse(text, source=source_url)
        except _checksums.ChecksumError as exc:
            raise DiscoveryError(str(exc)) from None
        self.warnings = list(dict.fromkeys(self.warnings + entries.warnings))
        return entries

    def find_checksum(self, text, name, source_url, algorithm=None):
        """Digest of ``name`` in a checksum list; its own line is read strictly (see _checksums)."""
        return select_checksum(self.parse_checksums(text, source_url), name, source_url, algorithm)

    # -- trust -----------------------------------------------------------------------------------
    def _workdir(self):
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix='cloudimages-discovery-')
        return self._tmp.name

    def close(self):
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def pins(self, source, pin_key=None):
        """Pinned fingerprints for ``pin_key`` (default the release) from ``signing_keys``, ``*`` for all."""
        key = str(pin_key or source.release)
        pins = self.signing_keys.get(key, self.signing_keys.get('*')) or []
        return [pins] if isinstance(pins, str) else list(pins)

    def use_trust(self, source, pin_key=None):
        """Keyring path and pinned fingerprints for ``source`` (user settings win); records them in ``trust``."""
        pins = self.user_fingerprints or self.pins(source, pin_key)
        if not pins:
            raise DiscoveryError('%s: no pinned signing key for %s; add its fingerprint to signing_keys (the '
                                 'distribution role\'s <distribution>_signing_keys) or pass trusted_fingerprints'
                                 % (source.name, pin_key or source.release))
        try:
            pins = [_signatures.normalize_fingerprint(pin) for pin in pins]
        except _signatures.SignatureError as exc:
            raise DiscoveryError(str(exc)) from None
        keyring = self.user_keyring or self.vendor_keyring(source, pins)
        self.trust = {'keyring': keyring, 'fingerprints': pins}
        return keyring, pins

    def vendor_keyring(self, source, pins, refresh=False):
        """The vendor's published keyring, cached under the key cache and fetched again when needed.

        Fetching it is safe because gpgv only accepts signatures whose signer is pinned: a
        swapped key on the vendor's site (or in the cache) cannot make a forged signature pass.
        The cached copy is fetched again when it holds none of the pinned keys (a new release
        key), is older than KEYRING_MAX_AGE, or ``refresh`` is set (a signature named a missing
        or expired key: a rotated subkey). At most once per run and keyring. In check mode a
        fetched key goes to a temporary file instead of the cache.
        """
        if not source.keyring_url:
            raise DiscoveryError('%s publishes no keyring URL; pass keyring' % source.name)
        name = keyring_file_name(source)
        cached = os.path.join(self.key_cache, name) if self.key_cache else None
        temporary = os.path.join(self._workdir(), name)
        current = temporary if os.path.isfile(temporary) else cached
        if current and os.path.isfile(current) and os.path.getsize(current):
            stale = refresh or time.time() - os.path.getmtime(current) > KEYRING_MAX_AGE \
                or not set(pins) & _signatures.keyring_fingerprints(current)
            if not stale or name in self.refreshed:
                return current
        try:
            data = self.get(source.keyring_url, what='signing key').body
        except DiscoveryError as exc:
            usable = current and os.path.isfile(current) and set(pins) & _signatures.keyring_fingerprints(current)
            if usable and not refresh:
                self.warnings.append('kept the cached %s: fetching a newer copy failed: %s' % (name, exc))
                self.refreshed.add(name)
                return current
            raise
        self.refreshed.add(name)
        target = cached if cached and self.write_keys else temporary
        if target == cached:  # the temporary one's folder exists (_workdir)
            subdir(*os.path.split(self.key_cache))
        write_atomic(target, data)
        return target

    def _checked(self, source, trust, check):
        """Run ``check(keyring, pins)``; once more with a fresh vendor keyring when the key was missing or expired."""
        keyring, pins = trust
        try:
            return check(keyring, pins)
        except _signatures.SignatureError as exc:
            if self.user_keyring or not exc.missing_key or keyring_file_name(source) in self.refreshed:
                raise
        keyring = self.vendor_keyring(source, pins, refresh=True)
        self.trust = {'keyring': keyring, 'fingerprints': pins}
        return check(keyring, pins)

    def _file(self, name, data):
        path = os.path.join(self._workdir(), name)
        with open(path, 'wb') as handle:
            handle.write(data)
        return path

    def verify_detached(self, source, data, signature_url, pin_key=None, modified=None):
        """Fetch ``signature_url`` and check it over ``data``; return the signer fingerprint.

        ``modified``: the data's Last-Modified, to tell a file rebuilt after it was signed.
        """
        trust = self.use_trust(source, pin_key)
        try:
            signature = self.get(signature_url, what='signature').body
        except NotFoundError:
            raise DiscoveryError('signature %s is missing (HTTP 404); %s signs its checksums, so the unsigned '
                                 'metadata is refused' % (self.url(signature_url), source.name)) from None
        data_path, signature_path = self._file('data', data), self._file('signature', signature)
        try:
            what = 'signature %s' % self.url(signature_url)
            return self._checked(source, trust, lambda keyring, pins: _signatures.verify_detached(
                data_path, signature_path, keyring, pins, gpgv=self.gpgv, what=what, warnings=self.warnings))
        except _signatures.SignatureError as exc:
            raise DiscoveryError(str(exc) + _rebuilt_after_signing(exc, signature, modified)) from None

    def verify_clearsigned(self, source, response, pin_key=None):
        """Check a clearsigned document; return ``(fingerprint, signed body text)``."""
        trust, warnings = self.use_trust(source, pin_key), []
        try:
            return self._checked(source, trust, lambda keyring, pins: _signatures.verify_clearsigned(
                response.body, keyring, pins, gpgv=self.gpgv, warnings=warnings))
        except _signatures.SignatureError as exc:
            raise DiscoveryError('%s: %s' % (response.url, exc)) from None
        finally:
            self.warnings.extend('%s: %s' % (response.url, warning) for warning in warnings)


def _rebuilt_after_signing(error, signature, modified):
    """What a BAD signature means when the signed file is newer than its signature, else ''."""
    signed = _signatures.signature_created(signature) if 'BADSIG' in error.keywords else None
    try:
        changed = email.utils.parsedate_to_datetime(modified).timestamp() if modified and signed else None
    except (TypeError, ValueError):
        changed = None
    if changed is None or changed <= signed:
        return ''
    when = [datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
            for t in (signed, changed)]
    return ('; the file was rebuilt after it was signed (signature made %s, file last modified %s): the vendor '
            'changed it without signing it again, so it is refused until the vendor re-signs it' % tuple(when))


def keyring_file_name(source):
    """File name of the vendor keyring of ``source`` in the key cache."""
    return re.sub(r'[^A-Za-z0-9._-]+', '_', source.keyring_name or source.name)


def select_checksum(entries, name, source_url, algorithm=None):
    try:
        return _checksums.select(entries, name, algorithm=algorithm, source=source_url)
    except _checksums.ChecksumError as exc:
        raise DiscoveryError(str(exc)) from None


class Source:
    """One vendor family. Subclasses set the class attributes and implement the two steps.

    * :meth:`entry_url`: the document that changes when a new build appears; the engine fetches
      it conditionally and reuses the last result on 304.
    * :meth:`newest`: read the entry document, return a candidate dict (``version`` and, when the
      entry carries one, an unverified ``hint`` digest ``algo:hex``).
    * :meth:`resolve`: fetch and verify the rest; return the ``release`` dict via :meth:`result`.
    """

    name = ''
    distro = ''
    family = None              # release key prefix when not ``name`` (generic sources: their distro)
    signed = True
    login_user = None
    disk_format = 'qcow2'
    compression = 'none'
    keyring_url = None
    keyring_name = None

    def __init__(self, release, arch=DEFAULT_ARCH, options=None):
        self.release = str(release)
        self.arch = arch
        self.options = dict(options or {})
        self.vendor_arch = spelling(self.name, arch)
        if self.vendor_arch is None:
            raise DiscoveryError('%s publishes no images for architecture %s (it builds %s)'
                                 % (self.name, arch, ', '.join(SPELLINGS.get(self.name, ()))))

    def built_for(self):
        """Refuse an arch the provider's ``options.architectures`` leaves out (checksum_file, local_artifact)."""
        built = self.options.get('architectures')
        if built is None:
            return
        built = [built] if isinstance(built, str) else list(built)
        if self.arch not in built:
            raise DiscoveryError('%s %s: the provider builds it for %s only (options.architectures), not for %s; '
                                 'leave %s out of its architectures' % (
                                     self.options.get('distro') or self.name, self.release,
                                     ', '.join(map(str, built)) or 'no architecture', self.arch, self.arch))

    # -- per vendor --------------------------------------------------------------------------------
    def entry_url(self):
        raise NotImplementedError

    def newest(self, ctx, entry):
        raise NotImplementedError

    def resolve(self, ctx, entry, candidate):
        raise NotImplementedError

    # -- what the vendor lists (optional) -------------------------------------------------------------
    # Release names that follow the vendor (``current``), expanded by ``stream``.
    streams = ()
    # Announce only long-term releases of the catalog (``_lifecycle.available``).
    announce_lts_only = False

    def catalog_url(self):
        """The document listing every release (Ubuntu's streams, Fedora's releases.json...), or None."""
        return None

    def catalog(self, entry):
        """Releases in the ``catalog_url`` document, newest first, as ``catalog_entry``."""
        raise NotImplementedError

    def stream(self, catalog):  # pylint: disable=unused-argument
        """The concrete releases ``self.release`` (one of ``streams``) stands for, newest first."""
        return []

    def check(self):
        """Validate options before any request (raise DiscoveryError)."""

    # -- shared ------------------------------------------------------------------------------------
    @property
    def key(self):
        return _managed.release_key(self.family or self.name, self.release, self.arch)

    def label(self):
        return '%s %s' % (self.name, self.release)

    def result(self, ctx, version, build_date, image_url, checksum, checksum_url, signature_kind='none',
               signature_url=None, fingerprint=None, image_signature_url=None, filename=None, image_source=None):
        """The ``release`` dict of docs/architecture.md; URLs are canonical and get rewritten here."""
        if not build_date:
            raise DiscoveryError('%s: cannot tell the build date of %s' % (self.label(), version))
        try:
            _checksums.require_strong(checksum.algorithm, '%s %s checksum' % (self.label(), version))
        except _checksums.ChecksumError as exc:
            raise DiscoveryError(str(exc)) from None
        return {
            'key': self.key,
            'distro': self.distro,
            'release': self.release,
            'version': version,
            'build_date': build_date,
            'url': ctx.url(image_url),
            'image_source': image_source or image_url,
            'filename': filename or image_url.rstrip('/').rsplit('/', 1)[-1],
            'checksum': '%s:%s' % (checksum.algorithm, checksum.hexdigest),
            'checksum_url': ctx.url(checksum_url) if checksum_url else None,
            'signature': {'kind': signature_kind, 'url': ctx.url(signature_url) if signature_url else None,
                          'fingerprint': fingerprint},
            'image_signature_url': ctx.url(image_signature_url) if image_signature_url else None,
            'trust': dict(ctx.trust),
            'disk_format': self.disk_format,
            'compression': self.compression,
            'login_user': self.login_user,
            'warnings': list(ctx.warnings),
        }


def dir_of(url):
    return url.rsplit('/', 1)[0] + '/'


def hint_of(algorithm, hexdigest):
    """``algo:hex`` from an unverified JSON digest, or None when it is unusable."""
    try:
        algorithm, hexdigest = _checksums.normalize_hex(hexdigest, algorithm)
    except _checksums.ChecksumError:
        return None
    return '%s:%s' % (algorithm, hexdigest)


def same_digest(checksum, expected, what):
    """Refuse a verified checksum that disagrees with the discovery document's digest."""
    if expected and expected != '%s:%s' % (checksum.algorithm, checksum.hexdigest):
        raise DiscoveryError('%s: the index says %s but the checksum file says %s:%s; refusing the '
                             'inconsistent upstream' % (what, expected, checksum.algorithm, checksum.hexdigest))
