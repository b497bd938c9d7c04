# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Files under the cache directory, which later runs trust: one place for how they are written.

The cache root is private (0700, ours); temporary files get unique names from ``mkstemp`` in
the target's directory, so a planted name or symlink is never written through; lock files are
opened without following symlinks.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile


class UnsafeCacheError(Exception):
    """The cache root is not a private directory of this user: nothing in it can be trusted."""


def private_dir(root, create=True):
    """Make sure ``root`` is a directory owned by us and not writable by group or others.

    A missing root is created 0700 when ``create``; otherwise None is returned for it.
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
        raise UnsafeCacheError('cache directory %s is not a directory (a symlink or file); refusing to use it' % root)
    if info.st_uid != os.geteuid():
        raise UnsafeCacheError('cache directory %s is owned by uid %d, not by this user (uid %d); refusing to trust '
                               'files another user can plant there' % (root, info.st_uid, os.geteuid()))
    if info.st_mode & 0o022:
        raise UnsafeCacheError('cache directory %s is writable by group or others (mode %o); refusing to trust it: '
                               'chmod 700 it' % (root, stat.S_IMODE(info.st_mode)))
    return root


def temp_path(path, suffix='.tmp'):
    """A new, empty, uniquely named file next to ``path`` (same directory, so a rename is atomic)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.%s.' % os.path.basename(path), suffix=suffix)
    os.close(fd)
    return tmp


def write_atomic(path, data):
    """Write ``data`` (str or bytes) to ``path``: readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.%s.' % os.path.basename(path), suffix='.tmp')
    try:
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
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0), 0o600)
        except OSError as exc:
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
