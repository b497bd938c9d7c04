# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Run one source with what the last run remembered.

Flow: (1) one conditional GET of the source's entry document with the remembered ETag /
Last-Modified; 304 -> the remembered, already verified result. (2) Otherwise read the newest
build from it; when the entry names the same build and digest as the remembered result, reuse
that too (a shared index such as Fedora's releases.json changes when another release moves).
(3) Otherwise fetch checksums and signatures, verify, and remember the new result.

End of life as the vendor says it (Ubuntu's ``supported``/``support_eol``, a release Fedora no
longer lists) raises EndOfLife, also from a remembered result once its date has passed.
The vendor's list of releases (``vendor_catalog``) is one more conditional request per vendor
and run; it expands streams such as Fedora ``current`` and tells which releases are new. Where
that list is also the releases' entry document (Ubuntu's streams, Fedora's releases.json, CirrOS's
``version/released``), a run's ``Documents`` asks for it once.

State lives in ``<cache_dir>/state/<source>-<release>-<arch>-<config hash>.json``: the hash covers
every setting that influences trust or URLs, so a changed keyring or rewrite never reuses a
result verified under other settings.

Rollback guard: ``state/newest/<source>-<release>-<arch>.json`` (no config hash: a changed setting
cannot reset it) remembers the newest build of the release; a verified result older than it
(``_build_order``) fails the release instead of being returned. ``discover`` remembers every
build it verifies; the daily sync passes ``remember=False`` and remembers only builds that passed
everything up to publication (``remember_published``), so a build refused after verification
(say, dated in the future) does not turn the vendor's withdrawal of it into a refused rollback.
A published build the vendor withdrew is gone back from only with the operator's
``accept_withdrawal`` (``{withdrawn, back_to}``: exactly that step back, while the memory holds
``withdrawn``; the memory keeps it, so the option stays until upstream is past it).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import tempfile
import threading
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._build_order import (
    WITHDRAWAL_SPEC, check_withdrawal, describe, release_older, withdrawal_accepts,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._files import (
    UnsafeCacheError, cache_root, locked, read_own, subdir, write_atomic,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    RETRIES, TRANSFER_DEADLINE, make_session,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._lifecycle import end_of_life
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import (
    ARCHITECTURES, DEFAULT_ARCH)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    Context, DiscoveryError, EndOfLife, NotFoundError, Response,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._registry import SOURCES

STATE_FORMAT = 1


def make_source(name, release, arch=DEFAULT_ARCH, options=None):
    try:
        cls = SOURCES[name]
    except KeyError:
        raise DiscoveryError('unknown source %r (known: %s)' % (name, ', '.join(sorted(SOURCES)))) from None
    source = cls(release, arch, options)
    source.check()
    return source


def _keyring_digest(path):
    if not path:
        return None
    try:
        with open(path, 'rb') as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError as exc:
        raise DiscoveryError('cannot read keyring %s: %s' % (path, exc.strerror or exc)) from None


class KeyLocks:
    """One lock per key, made on first use: threads working on different keys do not wait for each other."""

    def __init__(self):
        self._locks, self._lock = {}, threading.Lock()

    def __call__(self, key):
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())


class Documents:
    """The entry documents of one run (a status check over many releases): each URL asked once.

    A 304 proves the validators sent current, a 200 gives the body and its validators; a later
    reader with those validators gets the 304, with others (or none) the body, without another
    request. Only within one process and run: across runs the state's validators do this.
    """

    def __init__(self):
        self._known = {}  # rewritten URL -> (validators now current, Response with the body or None)
        self._locks = KeyLocks()  # per rewritten URL: the clouds' threads share a run's Documents

    def get(self, ctx, canonical, validators=None, what='document'):
        url = ctx.url(canonical)
        with self._locks(url):  # one request per URL; other URLs are asked meanwhile
            return self._get(ctx, url, canonical, validators, what)

    def _get(self, ctx, url, canonical, validators, what):
        current, full = self._known.get(url, (None, None))
        wanted = _validators(validators)
        if current is not None and any(wanted.values()) and wanted == current:
            ctx.check_scheme(url)
            return Response(url, 304, etag=current['etag'], last_modified=current['last_modified'])
        if full is not None:
            ctx.check_scheme(full.url)
            return full
        response = ctx.get(canonical, validators, what)
        if response.status == 304:
            kept = {'etag': response.etag or wanted.get('etag'),
                    'last_modified': response.last_modified or wanted.get('last_modified')}
            self._known[url] = (_validators(kept), None)
        else:
            self._known[url] = (_validators({'etag': response.etag, 'last_modified': response.last_modified}), response)
        return response


def _validators(found):
    return {'etag': (found or {}).get('etag'), 'last_modified': (found or {}).get('last_modified')}


_STATE_KEYS = {}


def state_key_path():
    """Where the key that authenticates discovery state is kept: outside the cache, in this user's
    XDG state directory (``$XDG_STATE_HOME/cloudimages/state.key``, by default under ``~/.local/state``)."""
    base = os.environ.get('XDG_STATE_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, 'cloudimages', 'state.key')


def state_key(cache_dir):
    """The key of this user's discovery state (bytes), made on first use; None when none can be kept
    apart from the cache (then no state is ever reused: every run asks upstream and verifies anew).

    The cache is untrusted storage: a CI cache restored from elsewhere (files of this very uid), a
    shared volume. Its state records are verdicts reused without asking upstream (a release checked
    this run, a 304), so one is reused only when this key authenticates it: written by a run that
    held the key. A restored or copied cache is then a hint only; the key is never in it.
    """
    path = state_key_path()
    real, root = os.path.realpath(path), os.path.realpath(cache_dir)
    if (real, root) not in _STATE_KEYS:
        key = None
        try:
            if os.path.commonpath([real, root]) != root:  # a key inside the cache would travel with it
                key = _read_key(path)
                if key is None:
                    key = _make_key(path)
        except (OSError, ValueError):
            key = None
        _STATE_KEYS[real, root] = key
    return _STATE_KEYS[real, root]


def _read_key(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    with os.fdopen(fd, 'rb') as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise OSError('%s: not a private file of this user' % path)
        key = handle.read().strip()
    if len(key) < 32:
        raise OSError('%s: too short' % path)
    return key


def _make_key(path):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.state.key.')
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(secrets.token_hex(32).encode())
        try:
            os.link(tmp, path)  # never replaces a key another run made at the same time: then use that one
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return _read_key(path)


class StateStore:
    def __init__(self, cache_dir, source, config, writable=True):
        if cache_dir:
            try:  # no symlinked root: the state would be read and written elsewhere
                cache_root(cache_dir, create=writable)
            except (UnsafeCacheError, OSError) as exc:
                raise DiscoveryError(str(exc)) from None
        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]
        stem = re.sub(r'[^A-Za-z0-9._-]+', '_', '%s-%s-%s' % (source.name, source.release, source.arch))
        self.path = os.path.join(cache_dir, 'state', '%s-%s.json' % (stem, digest)) if cache_dir else None
        self.newest_path = os.path.join(cache_dir, 'state', 'newest', '%s.json' % stem) if cache_dir else None
        self.writable = writable and self.path is not None
        self.root = cache_dir
        self.key = state_key(cache_dir) if cache_dir else None

    def _mac(self, path, data):
        """The record's MAC under this user's state key, bound to its place in the cache."""
        name = os.path.relpath(path, self.root).replace(os.sep, '/')
        return hmac.new(self.key, json.dumps([name, data], sort_keys=True).encode(), hashlib.sha256).hexdigest()

    def _read(self, path):
        """The record at ``path`` when a run holding this user's state key wrote it there, else None."""
        if not path or self.key is None:
            return None
        try:  # a verdict, not proven on use: only what this user wrote (a shared cache's other uids did not)
            data = json.loads(read_own(path) or 'null')
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        mac = data.pop('mac', None)  # a restored or planted record (no MAC, or another key's) is not reused
        if not isinstance(mac, str) or not hmac.compare_digest(mac, self._mac(path, data)):
            return None
        return data

    def load(self):
        state = self._read(self.path)
        if not isinstance(state, dict) or state.get('format') != STATE_FORMAT:
            return None
        return state if isinstance(state.get('result'), dict) else None

    @contextlib.contextmanager
    def lock(self):
        """Serialise runs of one release: the clouds of a run (forks) then share one upstream check."""
        if not self.writable:
            yield
            return
        locks = subdir(os.path.dirname(os.path.dirname(self.path)), 'locks')
        with locked(os.path.join(locks, 'state-%s.lock' % os.path.basename(self.path))):
            yield

    def newest(self):
        """The newest build verified for this release under any settings: ``{version, build_date, checksum}``."""
        found = self._read(self.newest_path)
        return found if isinstance(found, dict) and found.get('version') else None

    def save(self, entry_url, etag, last_modified, result):
        state = {'format': STATE_FORMAT, 'entry_url': entry_url, 'etag': etag, 'last_modified': last_modified,
                 'checked_at': time.time(), 'result': result}
        self._write(self.path, state)

    def save_newest(self, result):
        self._write(self.newest_path, {key: result.get(key) for key in ('version', 'build_date', 'checksum')})

    def _write(self, path, data):
        if not self.writable:
            return
        if self.key is None:  # it could never be reused
            return
        subdir(self.root, *os.path.relpath(os.path.dirname(path), self.root).split(os.sep))
        data = dict(data, mac=self._mac(path, data))
        write_atomic(path, json.dumps(data, indent=1, sort_keys=True), group_write=False)


def validated(spec, params, what):
    """``params`` checked by the argument ``spec`` of a module option, with its defaults; ValueError if bad."""
    if not isinstance(params, dict):
        raise ValueError('%s must be a dict of options, not %r' % (what, params))
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise ValueError('%s: %s' % (what, '; '.join(result.error_messages)))
    return result.validated_parameters


# upstream_release's options; release_status_info checks each release's ``discover`` with them (validated,
# as image_rotate's remember.discover).
DISCOVER_SPEC = dict(
    source=dict(type='str', required=True, choices=sorted(SOURCES)),
    release=dict(type='str', required=True),
    arch=dict(type='str', default=DEFAULT_ARCH, choices=list(ARCHITECTURES)),
    options=dict(type='dict', default={}),
    url_rewrites=dict(type='dict', default={}),
    keyring=dict(type='path'),
    trusted_fingerprints=dict(type='list', elements='str'),
    signing_keys=dict(type='dict', default={}, no_log=False),
    allow_unsigned=dict(type='bool', default=False),
    cache_dir=dict(type='path', default='~/.cache/cloudimages'),
    checked_since=dict(type='float'),
    timeout=dict(type='int', default=30),
    transfer_deadline=dict(type='int', default=TRANSFER_DEADLINE),
    retries=dict(type='int', default=RETRIES),
    today=dict(type='str'),
    accept_withdrawal=WITHDRAWAL_SPEC,
)


def today_of(value):
    """ISO date ``value`` (validated), or UTC today when None."""
    if value is None:
        return datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    try:
        return datetime.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise DiscoveryError('today must be a date YYYY-MM-DD, not %r' % (value,)) from None


def _check_life(source, result, today):
    if 'end_of_life' in result:  # remembered EndOfLife
        raise EndOfLife(result['end_of_life'], result['reason'])
    found = end_of_life(result.get('lifecycle'), today)
    if found:
        raise EndOfLife(found[0], '%s has reached its end of life: %s' % (source.label(), found[1]))


def session_for(params):
    """The HTTP session for DISCOVER_SPEC parameters: their retry policy."""
    if params['retries'] < 0 or params['transfer_deadline'] <= 0 or params['timeout'] <= 0:
        raise DiscoveryError('retries must not be negative, timeout and transfer_deadline must be positive')
    return make_session(retries=params['retries'])


def remember_published(params, release, check_mode=False):
    """Remember ``release`` (a discovered release dict, now published in a cloud) as the newest
    build of its release for the rollback guard, unless one at least as new is remembered.
    ``params``: DISCOVER_SPEC parameters; True when the memory changed (or would)."""
    if not params.get('cache_dir') or not isinstance(release, dict) or not release.get('version'):
        return False
    source = make_source(params['source'], release.get('release') or params['release'], params['arch'],
                         params['options'])
    store = StateStore(params['cache_dir'], source, {}, writable=not check_mode)
    newest = store.newest()
    if newest and not release_older(newest, release):
        return False
    store.save_newest(release)  # written atomically: a reader sees the old or the new record
    return True


def discover_from(params, check_mode=False, session=None, remember=True, documents=None):
    """``discover`` with validated DISCOVER_SPEC parameters (a stream release expanded to its newest);
    ``documents``: the run's Documents, shared by its releases."""
    session, documents = session or session_for(params), documents or Documents()
    try:
        withdrawal = check_withdrawal(params.get('accept_withdrawal'))
    except ValueError as exc:
        raise DiscoveryError(str(exc)) from None
    source = make_source(params['source'], params['release'], params['arch'], params['options'])
    requests = 0
    if source.streams and params['release'] in source.streams:
        releases, requests = stream_releases(session, params, check_mode, documents)
        source = make_source(params['source'], releases[0], params['arch'], params['options'])
    try:
        release, unchanged, count = discover(
            session, source, cache_dir=params['cache_dir'], rewrites=_rewrites(params), keyring=params['keyring'],
            trusted_fingerprints=params['trusted_fingerprints'], signing_keys=params['signing_keys'],
            allow_unsigned=params['allow_unsigned'], timeout=params['timeout'], check_mode=check_mode,
            checked_since=params['checked_since'], today=params['today'], deadline=params['transfer_deadline'],
            remember=remember, documents=documents, withdrawal=withdrawal)
    except DiscoveryError as exc:
        exc.requests += requests
        raise
    return release, unchanged, count + requests


def _rewrites(params):
    return {str(k): str(v) for k, v in params['url_rewrites'].items()}


def vendor_catalog(session, params, check_mode=False, documents=None):
    """``(releases, requests)``: what the vendor of ``params['source']`` lists (Source.catalog), or None.

    One conditional request, remembered like a release's discovery (``checked_since`` included):
    a run asks each vendor once, however many releases and clouds it syncs; ``documents`` (this
    run's Documents) shares the request with the releases whose entry is the same document.
    """
    source = SOURCES[params['source']]('catalog', params['arch'])  # no release to check()
    url = source.catalog_url()
    if url is None:
        return None, 0
    settings = {'catalog': url, 'arch': source.arch, 'rewrites': _rewrites(params)}
    store = StateStore(params['cache_dir'], source, settings, writable=not check_mode)
    ctx = Context(session, _rewrites(params), params['timeout'], deadline=params['transfer_deadline'])
    try:
        with store.lock():
            state = store.load()
            if state and params['checked_since'] is not None and state.get('checked_at', 0) >= params['checked_since']:
                return state['result']['releases'], ctx.requests
            validators = {'etag': state.get('etag'), 'last_modified': state.get('last_modified')} if state else None
            entry = (documents or Documents()).get(ctx, url, validators, what='%s release list' % source.name)
            if entry.status == 304 and state:
                releases = state['result']['releases']
            else:
                releases = source.catalog(entry)
            store.save(ctx.url(url), entry.etag or (state or {}).get('etag'),
                       entry.last_modified or (state or {}).get('last_modified'), {'releases': releases})
            return releases, ctx.requests
    except DiscoveryError as exc:
        exc.requests = ctx.requests
        raise
    finally:
        ctx.close()


def stream_releases(session, params, check_mode=False, documents=None):
    """``(releases, requests)``: the concrete releases a stream release (Fedora ``current``) stands for."""
    source = make_source(params['source'], params['release'], params['arch'], params['options'])
    catalog, requests = vendor_catalog(session, params, check_mode, documents)
    releases = source.stream(catalog or [])
    if not releases:
        error = DiscoveryError('%s %s: the vendor lists no release to follow' % (source.name, params['release']))
        error.requests = requests
        raise error
    return releases, requests


def discover(session, source, cache_dir=None, rewrites=None, keyring=None, trusted_fingerprints=None,
             allow_unsigned=False, timeout=30, check_mode=False, gpgv=None, checked_since=None, signing_keys=None,
             deadline=TRANSFER_DEADLINE, today=None, remember=True, documents=None, withdrawal=None):
    """Return ``(release dict, upstream_unchanged, request count)``; raise DiscoveryError.

    ``remember``: record a newly verified build in the rollback guard (else see remember_published).
    ``withdrawal``: the operator's accepted step back (check_withdrawal), else every step back fails.

    A result checked at or after ``checked_since`` (epoch seconds) is returned without asking
    upstream: the daily sync passes the start of its run, so the clouds of a run share one check.
    """
    if source.signed is False and not allow_unsigned:
        raise DiscoveryError(
            '%s publishes no signature over its checksums, so its metadata can only be trusted as far as HTTPS '
            'goes. Set allow_unsigned: true to accept that (the checksum metadata must then come over https, '
            'or plain http from a loopback mirror).' % source.name)
    config = {'source': source.name, 'release': source.release, 'arch': source.arch, 'options': source.options,
              'rewrites': rewrites or {}, 'keyring': keyring, 'keyring_sha256': _keyring_digest(keyring),
              'fingerprints': list(trusted_fingerprints or []), 'allow_unsigned': bool(allow_unsigned),
              'signing_keys': signing_keys or {}}
    store = StateStore(cache_dir, source, config, writable=not check_mode)
    ctx = Context(session, rewrites, timeout, require_https=source.signed is False, keyring=keyring,
                  fingerprints=trusted_fingerprints, key_cache=os.path.join(cache_dir, 'keys') if cache_dir else None,
                  gpgv=gpgv, write_keys=not check_mode, signing_keys=signing_keys, deadline=deadline)
    try:
        entry_url = source.entry_url()
        if entry_url is None:  # sources without network (local artifact)
            return source.resolve(ctx, None, None), False, ctx.requests
        today = today_of(today)
        with store.lock():
            return _discover(ctx, source, store, entry_url, checked_since, today, remember,
                             documents or Documents(), withdrawal)
    except DiscoveryError as exc:
        exc.requests = ctx.requests
        raise
    finally:
        ctx.close()


def _went_back(result, newest, withdrawal):
    """``result`` is older than the remembered ``newest``, and not the step back the operator accepted."""
    return bool(newest) and release_older(result, newest) and not withdrawal_accepts(
        withdrawal, newest['version'], result.get('version'))


def _discover(ctx, source, store, entry_url, checked_since, today, remember, documents, withdrawal):
    state = store.load()
    newest = store.newest()
    if state and (state.get('entry_url') != ctx.url(entry_url) or _went_back(state['result'], newest, withdrawal)):
        state = None  # other URLs, or remembered under other settings before a newer build: never reused
    if state and checked_since is not None and state.get('checked_at', 0) >= checked_since:
        _check_life(source, state['result'], today)
        return state['result'], True, ctx.requests
    validators = {'etag': state.get('etag'), 'last_modified': state.get('last_modified')} if state else None
    try:
        entry = documents.get(ctx, entry_url, validators, what='%s index' % source.label())
    except NotFoundError as exc:
        built = '' if source.arch == DEFAULT_ARCH else ', or is not built for %s' % source.arch
        raise DiscoveryError('%s: %s; the release is unknown or has reached its end of life%s'
                             % (source.label(), exc, built)) from None
    if entry.status == 304 and state:
        store.save(ctx.url(entry_url), state.get('etag'), state.get('last_modified'), state['result'])
        _check_life(source, state['result'], today)
        return state['result'], True, ctx.requests
    try:
        candidate = source.newest(ctx, entry)
        _check_life(source, candidate, today)
    except EndOfLife as exc:
        # Remembered, so the next runs cost a conditional request (304) and say the same.
        store.save(ctx.url(entry_url), entry.etag, entry.last_modified, {'end_of_life': exc.date, 'reason': exc.reason})
        raise
    if state and candidate.get('hint') and candidate.get('version') == state['result'].get('version') \
            and candidate['hint'] == state['result'].get('checksum'):
        store.save(ctx.url(entry_url), entry.etag, entry.last_modified, state['result'])
        return state['result'], True, ctx.requests
    result = source.resolve(ctx, entry, candidate)
    # Fail rather than quietly keep the remembered build: a replayed index (or a build upstream
    # withdrew) is news a human must see, other releases go on, and the planner keeps Latest.
    if _went_back(result, newest, withdrawal):
        raise DiscoveryError(
            '%s: upstream index went back from %s to %s: refusing a rollback (an old index replayed by a mirror or '
            'the network; or upstream withdrew %s: only then accept it with accept_withdrawal {withdrawn: %s, '
            'back_to: %s} for this release, image_sync_accept_withdrawal in the daily sync)' % (
                source.label(), describe(newest['version'], newest.get('build_date')),
                describe(result['version'], result['build_date']), newest['version'], newest['version'],
                result['version']))
    store.save(ctx.url(entry_url), entry.etag, entry.last_modified, result)
    if remember and not (newest and release_older(result, newest)):  # an accepted step back keeps the memory
        store.save_newest(result)
    return result, False, ctx.requests
