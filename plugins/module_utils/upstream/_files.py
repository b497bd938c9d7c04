# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Files under the cache directory: one place for how they are written, whoever else writes there.

The cache is untrusted storage: every file in it is proven before it is used (``_fetch``,
``_verified_image``), so a cache shared by a group (an AWX execution environment's directory,
a Kubernetes ``fsGroup`` volume, OpenShift's arbitrary uid with gid 0) is accepted. What stays
refused is what would make us write or read outside the cache: a root or sub-folder that is a
symlink, a file that is a link. Folders and files follow their parent's group permissions, so
every uid of the group can use them; temporary files get unique names from ``mkstemp``, so a
planted name or symlink is never written through; lock files are opened without following
symlinks, read-only (``flock`` needs no more), so a lock file another uid made locks as well.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile


class UnsafeCacheError(Exception):
    """The cache root (or a folder in it) is not a directory of its own, or this user cannot write it."""


def cache_root(root, create=True):
    """Check that ``root`` is a real directory this user can write; return the warnings about it.

    A missing root is created 0700 when ``create`` (else None is returned). Another owner and
    group or world write access are accepted: integrity does not rest on them. A symlink (a
    root that points elsewhere) is refused, and so is a root this user cannot write.
    """
    if create:
        os.makedirs(root, mode=0o700, exist_ok=True)
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        if create:
            raise
        return None
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeCacheError('cache directory %s is %s, not a directory; refusing to use it'
                               % (root, _what(root, info)))
    if create and not os.access(root, os.W_OK | os.X_OK):
        raise UnsafeCacheError('cache directory %s (%s) is not writable by this user (uid %d, gids %s)'
                               % (root, describe(info), os.geteuid(), _gids()))
    if info.st_mode & 0o002 and not info.st_mode & stat.S_ISVTX:
        return ['cache directory %s (%s) is writable by every user: its files are proven before use, but anyone '
                'on this host can fill or empty it; make it group-writable instead' % (root, describe(info))]
    return []


def describe(info):
    """What a permission check saw: ``mode 2775, owner uid 0, gid 0``."""
    return 'mode %o, owner uid %d, gid %d' % (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)


def _what(path, info):
    if stat.S_ISLNK(info.st_mode):
        return 'a symlink to %s' % os.readlink(path)
    return 'a file (%s)' % describe(info)


def _gids():
    return ','.join(str(gid) for gid in sorted({os.getegid(), *os.getgroups()}))


def subdir(root, *names):
    """Make the folder ``root/names...``, each level with its parent's group permissions; refuse a symlink."""
    path = root
    for name in names:
        parent, path = os.stat(path), os.path.join(path, name)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
            os.chmod(path, 0o700 | (parent.st_mode & 0o070) | (parent.st_mode & stat.S_ISGID))
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafeCacheError('%s in the cache is %s, not a directory; refusing to use it'
                                   % (path, _what(path, info)))
    return path


def _share(fd, path, write=True):
    """Give a file we made the read/write access of its folder's group (a group-shared cache: every uid uses it)."""
    group = os.stat(os.path.dirname(path) or '.').st_mode & (0o060 if write else 0o040)
    info = os.fstat(fd)
    if group and info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o060 != group:
        os.fchmod(fd, (stat.S_IMODE(info.st_mode) & 0o600) | group)


def open_file(path, flags=os.O_RDONLY, mode=0o600):
    """``os.open`` of a regular file in the cache: a symlink is refused, a fifo or device never blocks or is read.

    A new file gets its folder's group access (``_share``).
    """
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, 'O_CLOEXEC', 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink
            raise UnsafeCacheError('%s in the cache is a symlink; refusing to follow it' % path) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeCacheError('%s in the cache is not a regular file; refusing to use it' % path)
        os.set_blocking(fd, True)
        if flags & os.O_CREAT:
            _share(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def share(path, write=True):
    """Give the file ``path`` we made its folder's group access (read-only unless ``write``)."""
    fd = open_file(path)
    try:
        _share(fd, path, write)
    finally:
        os.close(fd)


def read_own(path):
    """The text of ``path`` when this user wrote it and only this user can change it, else None.

    For what is kept as a verdict (discovery state) rather than proven on use: in a shared
    cache another uid may have written the file; it is then not read (the caller checks anew).
    """
    try:
        with open_regular(path, 'r', encoding='utf-8') as handle:
            info = os.fstat(handle.fileno())
            if info.st_uid != os.geteuid() or info.st_mode & 0o022:
                return None
            return handle.read()
    except (OSError, UnsafeCacheError, UnicodeDecodeError):
        return None


def open_regular(path, mode='rb', **kwargs):
    """``open`` for a file in the cache through ``open_file`` (no symlink, no fifo); modes r, rb, ab, wb."""
    flags = {'r': os.O_RDONLY, 'rb': os.O_RDONLY, 'ab': os.O_WRONLY | os.O_CREAT | os.O_APPEND,
             'wb': os.O_WRONLY | os.O_CREAT | os.O_TRUNC}[mode]
    return os.fdopen(open_file(path, flags, 0o600), mode, **kwargs)


def temp_path(path, suffix='.tmp'):
    """A new, empty, uniquely named file next to ``path`` (same directory, so a rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.%s.' % os.path.basename(path), suffix=suffix)
    try:
        _share(fd, tmp)
    finally:
        os.close(fd)
    return tmp


def write_atomic(path, data, group_write=True):
    """Write ``data`` (str or bytes) to ``path``: readers see the old file or the whole new one.

    The file gets its folder's group access, without write access unless ``group_write``.
    """
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
        _share(fd, tmp, group_write)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data.encode('utf-8') if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path, wait=True):
    """Hold an exclusive lock on the file ``path``; a symlink there is refused, not followed.

    Yields True; without ``wait``, yields False at once (holding nothing) when another holds it.
    The lock is the file: whoever holds it may remove it (pruning), so a locker that finds the
    path gone or replaced once it got the lock locks the new file instead.
    """
    fd = _acquire(path, wait)
    try:
        yield fd is not None
    finally:
        if fd is not None:
            os.close(fd)  # closing releases the lock


def _acquire(path, wait):
    """A descriptor holding the lock of ``path``, or None when another holds it and not ``wait``."""
    while True:
        try:  # read-only: flock needs no more, so a lock file another uid of the group made locks too
            fd = open_file(path, os.O_RDONLY | os.O_CREAT, 0o660)
        except (OSError, UnsafeCacheError) as exc:
            raise UnsafeCacheError('cannot open the lock file %s (a symlink is refused): %s' % (path, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd
        os.close(fd)  # removed or replaced while we waited: lock what is there now


def _same_file(fd, path):
    try:
        current = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)
