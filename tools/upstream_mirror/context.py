"""Filesystem, digest and signing helpers shared by every vendor writer.

Writers regenerate derived files (checksums, signatures, indexes) from what is on disk after
every change. ``write`` skips identical content so unchanged files keep their publish mtime
(stable ``Last-Modified``/``ETag``), and signatures are only redone when the signed bytes or the
injected fault change.
"""

from __future__ import annotations

import base64
import calendar
import datetime
import hashlib
import json
import os
import shutil

from . import signing

CANONICAL_SCHEME = 'https'


def b64_nopad(hexdigest):
    """Debian's JSON digest form: standard base64 of the raw digest, '=' padding stripped."""
    return base64.b64encode(bytes.fromhex(hexdigest)).decode().rstrip('=')


def epoch(day, hour=0, minute=0):
    """Simulated publish instant (UTC) as a POSIX timestamp."""
    return calendar.timegm(datetime.datetime(day.year, day.month, day.day, hour, minute).timetuple())


def iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _inode(stat):
    """What a digest cache entry is valid for: the inode, size, mtime and ctime of the file."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class Context:
    """What a vendor writer may touch: ``www/<host>/...`` under the mirror root."""

    def __init__(self, root, state, keyring, images):
        self.root = root
        self.www = os.path.join(root, 'www')
        self.state = state
        self.keyring = keyring
        self.images = images
        # Digests survive between operations (digests.json): re-hashing every 16 MB bootable disk on every
        # publish made advance()/inject() slow. Keyed by inode, size, mtime and ctime (which no utime can set back).
        self._digests_path = os.path.join(root, 'digests.json')
        self._digest_cache = {}
        if os.path.exists(self._digests_path):
            with open(self._digests_path, encoding='utf-8') as handle:
                self._digest_cache = {path: (tuple(key), value) for path, (key, value) in json.load(handle).items()}
        self._signed_path = os.path.join(root, 'signed.json')
        self._signed = {}
        if os.path.exists(self._signed_path):
            with open(self._signed_path, encoding='utf-8') as handle:
                self._signed = json.load(handle)

    # -- paths ----------------------------------------------------------------------------------
    def path(self, host, *parts):
        return os.path.join(self.www, host, *parts)

    def url(self, path):
        """Canonical upstream URL of a file under ``www`` (first path component is the host)."""
        rel = os.path.relpath(path, self.www).replace(os.sep, '/')
        return '%s://%s' % (CANONICAL_SCHEME, rel)

    # -- writing --------------------------------------------------------------------------------
    def write(self, path, data, mtime):
        """Write ``data`` unless identical content is already there; returns True when written."""
        if isinstance(data, str):
            data = data.encode()
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, 'rb') as handle:
                if handle.read() == data:
                    return False
            # A rewritten file is newer than what it replaces, so size+mtime ETags change too.
            mtime = max(mtime, int(os.path.getmtime(path)) + 1)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + '.partial'
        with open(tmp, 'wb') as handle:
            handle.write(data)
        os.utime(tmp, (mtime, mtime))
        # Atomic for a server reading concurrently; also breaks hard links, so an alias
        # never changes together with its sibling.
        os.replace(tmp, path)
        self._digest_cache.pop(path, None)
        return True

    def write_json(self, path, obj, mtime, indent=1):
        return self.write(path, json.dumps(obj, indent=indent, sort_keys=False) + '\n', mtime)

    def link(self, source, alias):
        """Hard-link ``alias`` to ``source`` (vendor aliases such as ``.latest.`` share bytes)."""
        if os.path.lexists(alias):
            if not os.path.islink(alias) and os.path.samefile(source, alias):
                return
            os.unlink(alias)
        os.makedirs(os.path.dirname(alias), exist_ok=True)
        before = os.stat(source)
        os.link(source, alias)
        self.relinked(before, os.stat(source))

    def relinked(self, before, after):
        """A link moved the ctime of an inode, never its bytes: digests current before stay current."""
        was = _inode(before)
        for path, (key, digests) in list(self._digest_cache.items()):
            if tuple(key[1:]) == was:
                self._digest_cache[path] = ((key[0],) + _inode(after), digests)

    @staticmethod
    def symlink(target, link):
        """Directory pointer (``release/``, ``current/``) as a relative symlink, like the real servers."""
        if os.path.islink(link) and os.readlink(link) == target:
            return
        if os.path.lexists(link):
            Context.remove(link)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(target, link)

    @staticmethod
    def remove(path):
        if os.path.islink(path) or os.path.isfile(path):
            os.unlink(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)

    @staticmethod
    def prune_empty(path, stop):
        """Remove empty parent directories of ``path`` up to ``stop``."""
        path = os.path.dirname(path)
        while path.startswith(stop) and path != stop and os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
            path = os.path.dirname(path)

    # -- digests ----------------------------------------------------------------------------------
    def pristine(self, path):
        """Where the original bytes of a tampered file are kept (checksums keep describing them)."""
        return os.path.join(self.root, 'pristine', os.path.relpath(path, self.www))

    def _key(self, source):
        """The digest cache's key of a file: its path in the tree, then _inode of it."""
        return (os.path.relpath(source, self.root),) + _inode(os.stat(source))

    def digest(self, path, algo='sha256'):
        source = self.pristine(path)
        if not os.path.exists(source):
            source = path
        key = self._key(source)
        cached = self._digest_cache.get(os.path.relpath(path, self.root))
        if not cached or cached[0] != key:
            with open(source, 'rb') as handle:
                data = handle.read()
            cached = (key, {name: hashlib.new(name, data).hexdigest() for name in ('md5', 'sha1', 'sha256', 'sha512')})
            self._digest_cache[os.path.relpath(path, self.root)] = cached
        return cached[1][algo]

    def current_digests(self):
        """The cached digests whose file is unchanged: ``{path: (key, digests)}``."""
        current = {}
        for path, (key, digests) in self._digest_cache.items():
            source = os.path.join(self.root, key[0])
            if os.path.exists(source) and tuple(self._key(source)) == tuple(key):
                current[path] = (key, digests)
        return current

    def adopt_digests(self, current):
        """Keep ``current`` (of this tree or of the one it was hard-linked from) where only the ctime
        moved: linking a file changes its ctime, never its bytes. Saved at once."""
        for path, (key, digests) in current.items():
            source = os.path.join(self.root, key[0])
            if os.path.exists(source):
                now = self._key(source)
                if tuple(now[:4]) == tuple(key[:4]):
                    self._digest_cache[path] = (now, digests)
        self.save()

    @staticmethod
    def size(path):
        return os.path.getsize(path)

    # -- signing ----------------------------------------------------------------------------------
    def sign(self, data_path, out_path, kind, fault=None):
        """Sign ``data_path`` into ``out_path``; ``fault`` is None, 'untrusted' or 'tampered'.

        For clearsigned kinds ``out_path`` receives the whole clearsigned document.
        """
        source = self.pristine(data_path)
        with open(source if os.path.exists(source) else data_path, 'rb') as handle:
            data = handle.read()
        stamp = '%s:%s:%s:%s' % (hashlib.sha256(data).hexdigest(), kind, fault or '', self.keyring.generation)
        rel = os.path.relpath(out_path, self.www)
        if self._signed.get(rel) == stamp and os.path.exists(out_path):
            return
        key = 'untrusted' if fault == 'untrusted' else 'trusted'
        if fault == 'tampered':
            # A genuine signature by the trusted key, but over other bytes than published.
            altered = data + b'# altered after signing\n'
            signature = self.keyring.sign(altered, kind, key)
            if kind == signing.CLEARSIGNED:
                signature = signature.replace(altered, data, 1)
        else:
            signature = self.keyring.sign(data, kind, key)
        self.write(out_path, signature, os.path.getmtime(data_path))
        self._signed[rel] = stamp

    def save(self):
        with open(self._signed_path, 'w', encoding='utf-8') as handle:
            json.dump(self._signed, handle, indent=0, sort_keys=True)
        live = {path: entry for path, entry in self._digest_cache.items() if os.path.exists(os.path.join(self.root, path))}
        with open(self._digests_path, 'w', encoding='utf-8') as handle:
            json.dump(live, handle, sort_keys=True)

    # -- faults recorded in state ------------------------------------------------------------------
    def faults(self, distro, release, version):
        return self.state['faults'].get('%s/%s/%s' % (distro, release, version), {})
