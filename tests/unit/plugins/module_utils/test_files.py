"""_files: a shared cache root is accepted, links out of it are not; temporary names are unique, lock files are never symlinks."""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import stat
import tempfile
import threading
import time

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._fetch import Cache, _hash_existing
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._files import (
    UnsafeCacheError, locked, temp_path, write_atomic)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import DiscoveryError
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import discover
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._registry import SOURCES


def test_cache_root_and_its_folders_are_created_0700(tmp_path):
    old = os.umask(0o022)
    try:
        Cache(str(tmp_path / 'cache'))
    finally:
        os.umask(old)
    for sub in ('', 'files', 'partial', 'locks'):
        assert stat.S_IMODE(os.stat(tmp_path / 'cache' / sub).st_mode) == 0o700, sub


def _ee_dir(path, owner=0):
    """The execution environment's cache folder: made by the image build, then ``chmod -R g+rwX``."""
    path.mkdir(parents=True)
    os.chown(path, owner, 0)
    path.chmod(0o775)
    return path


def _as_user(uid, gid, work):
    """Run ``work()`` in a child process as ``uid``:``gid`` (OpenShift's arbitrary uid with gid 0); its result."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os.write(write, repr(work()).encode())
            status = 0
        except BaseException as exc:  # pylint: disable=broad-except
            os.write(write, ('error: %r' % exc).encode())
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, 'rb') as handle:
        out = handle.read().decode()
    os.waitpid(pid, 0)
    return out


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='other uids need root to play them')


@pytest.fixture
def shared_tmp():
    """A folder other uids can reach (pytest's own is private to its user)."""
    path = tempfile.mkdtemp(prefix='cloudimages-shared-')
    os.chmod(path, 0o755)
    yield pathlib.Path(path)
    shutil.rmtree(path)


@pytest.mark.parametrize('mode', [0o770, 0o775, 0o2775])
def test_a_group_writable_root_is_accepted_and_shared_with_the_group(tmp_path, mode):
    # An fsGroup volume (2775, setgid) or the EE's folder (775): accepted without a warning;
    # what the cache makes there is usable by every uid of the group.
    root = tmp_path / 'volume'
    root.mkdir()
    root.chmod(mode)
    cache = Cache(str(root))
    assert cache.warnings == []
    for sub in ('files', 'partial', 'locks'):
        assert stat.S_IMODE(os.stat(root / sub).st_mode) == 0o700 | (mode & 0o2070), sub
    data = b'shared bytes'
    key = 'sha256-' + hashlib.sha256(data).hexdigest()
    part = temp_path(cache.partial(key))
    with open(part, 'wb') as handle:
        handle.write(data)
    cache.store(key, part, len(data), {}, 'https://example.invalid/x')
    with cache.lock(key):
        pass
    for path in (cache.path(key) + '.json', root / 'locks' / (key + '.lock')):
        assert stat.S_IMODE(os.stat(path).st_mode) & 0o060 == 0o060, path
    assert stat.S_IMODE(os.stat(cache.path(key)).st_mode) == 0o640  # complete: read by the group, never changed


def test_a_private_root_keeps_private_files(tmp_path):
    cache = Cache(str(tmp_path / 'cache'))
    part = temp_path(cache.partial('sha256-ab'))
    cache.store('sha256-ab', part, 0, {}, 'https://example.invalid/x')
    assert stat.S_IMODE(os.stat(cache.path('sha256-ab')).st_mode) == 0o600


def test_a_world_writable_root_is_accepted_with_a_warning_saying_what_was_seen(tmp_path):
    root = tmp_path / 'open'
    root.mkdir()
    root.chmod(0o777)
    (warning,) = Cache(str(root)).warnings
    assert 'writable by every user' in warning and 'mode 777, owner uid %d' % os.geteuid() in warning


@needs_root
def test_the_ee_folder_owned_by_root_is_used_by_an_arbitrary_uid_with_gid_0(shared_tmp):
    # OpenShift runs the EE as an arbitrary uid with gid 0 in a folder root made: uid 12345
    # stores a file, uid 23456 finds it (hashed again), both lock the same lock file.
    root = _ee_dir(shared_tmp / 'cloudimages')
    data = b'an image'
    key = 'sha256-' + hashlib.sha256(data).hexdigest()

    def first():
        cache = Cache(str(root))
        part = temp_path(cache.partial(key))
        with open(part, 'wb') as handle:
            handle.write(data)
        with cache.lock(key):
            cache.store(key, part, len(data), {}, 'https://example.invalid/x')
        return cache.warnings

    def second():
        cache = Cache(str(root))
        with cache.lock(key), cache.image_lock(key):
            found = cache.lookup(key)
        return found.digests['sha256'] if found else None

    assert _as_user(12345, 0, first) == '[]'
    assert _as_user(23456, 0, second) == repr(key.split('-', 1)[1])
    assert os.stat(cache_path := root / 'files' / key).st_uid == 12345, cache_path


@needs_root
def test_a_root_this_user_cannot_write_is_refused_saying_what_was_seen(shared_tmp):
    root = _ee_dir(shared_tmp / 'theirs')
    root.chmod(0o755)
    out = _as_user(12345, 0, lambda: Cache(str(root)))
    assert 'is not writable by this user (uid 12345, gids 0)' in out and 'mode 755, owner uid 0, gid 0' in out


def test_a_symlinked_root_is_refused(tmp_path):
    (tmp_path / 'real').mkdir(mode=0o700)
    os.symlink(tmp_path / 'real', tmp_path / 'link')
    with pytest.raises(UnsafeCacheError, match='is a symlink to .*real, not a directory'):
        Cache(str(tmp_path / 'link'))


def test_a_symlinked_folder_in_the_root_is_refused(tmp_path):
    (tmp_path / 'elsewhere').mkdir()
    (tmp_path / 'cache').mkdir(mode=0o770)
    os.symlink(tmp_path / 'elsewhere', tmp_path / 'cache' / 'files')
    with pytest.raises(UnsafeCacheError, match='files in the cache is a symlink to .*elsewhere'):
        Cache(str(tmp_path / 'cache'))
    assert os.listdir(tmp_path / 'elsewhere') == []


def test_a_cached_file_that_is_a_link_out_of_the_cache_is_never_used(tmp_path):
    cache = Cache(str(tmp_path / 'cache'))
    outside = tmp_path / 'outside'
    outside.write_bytes(b'bytes outside the cache')
    key = 'sha256-' + hashlib.sha256(outside.read_bytes()).hexdigest()
    os.symlink(outside, cache.path(key))
    (tmp_path / 'cache' / 'files' / (key + '.json')).write_text('{}')
    assert cache.lookup(key) is None
    assert not os.path.lexists(cache.path(key)) and outside.exists()  # the link went, not its target
    os.mkfifo(cache.path(key))  # a fifo would block a reader forever
    assert cache.lookup(key) is None


def test_a_partial_download_that_is_a_link_is_not_appended_through(tmp_path):
    cache = Cache(str(tmp_path / 'cache'))
    victim = tmp_path / 'victim'
    victim.write_bytes(b'abc')
    os.symlink(victim, cache.partial('sha256-ab'))
    assert _hash_existing(cache.partial('sha256-ab'), ('sha256',)).size == 0
    assert not os.path.lexists(cache.partial('sha256-ab')) and victim.read_bytes() == b'abc'


def test_discovery_refuses_a_symlinked_cache_before_reading_its_state(tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink(tmp_path / 'real', tmp_path / 'link')
    source = SOURCES['cirros']('0.6.3', 'x86_64', {})
    with pytest.raises(DiscoveryError, match='is a symlink'):
        discover(None, source, cache_dir=str(tmp_path / 'link'), allow_unsigned=True)


def test_write_atomic_never_writes_through_a_planted_temporary_name(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('untouched')
    target = tmp_path / 'state.json'
    for planted in ('state.json.tmp', 'state.json.%d.tmp' % os.getpid()):  # the names used before
        os.symlink(victim, tmp_path / planted)
    write_atomic(str(target), '{"a": 1}')
    write_atomic(str(target), b'{"a": 2}')
    assert target.read_text() == '{"a": 2}' and victim.read_text() == 'untouched'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['state.json', 'state.json.%d.tmp' % os.getpid(), 'state.json.tmp', 'victim']


def test_temp_paths_are_unique_and_private(tmp_path):
    first, second = temp_path(str(tmp_path / 'x')), temp_path(str(tmp_path / 'x'))
    assert first != second and os.path.dirname(first) == str(tmp_path)
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600


def test_a_symlinked_lock_file_is_refused_not_followed(tmp_path):
    cache = Cache(str(tmp_path / 'cache'))
    victim = tmp_path / 'victim'
    victim.write_text('untouched')
    os.symlink(victim, tmp_path / 'cache' / 'locks' / 'sha256-abc.lock')
    with pytest.raises(UnsafeCacheError, match='symlink'):
        with cache.lock('sha256-abc'):
            pass
    assert victim.read_text() == 'untouched'
    with locked(str(tmp_path / 'cache' / 'locks' / 'other.lock')):
        assert os.path.isfile(tmp_path / 'cache' / 'locks' / 'other.lock')


def _cached(cache, name, data, days_ago=0.0, now=1_800_000_000):
    """A file stored as fetch stores it (download, sidecar, image record), last used ``days_ago``."""
    part = cache.partial(name)
    with open(part, 'wb') as handle:
        handle.write(data)
    cache.store(name, part, len(data), {}, 'https://example.invalid/' + name)
    with open(cache.path(name) + '.image.json', 'w', encoding='utf-8') as handle:
        handle.write('{}')
    for path in (cache.path(name), cache.path(name) + '.json', cache.path(name) + '.image.json'):
        os.utime(path, (now - days_ago * 86400,) * 2)


def test_prune_removes_what_was_not_used_for_its_age_and_keeps_the_rest(tmp_path):
    now = 1_800_000_000
    cache = Cache(str(tmp_path / 'cache'))
    _cached(cache, 'sha256-old', b'x' * 100, days_ago=40)
    _cached(cache, 'sha256-recent', b'y' * 10, days_ago=3)
    for name, days in (('sha256-killed.part', 31), ('sha256-running.part', 0)):
        (tmp_path / 'cache' / 'partial' / name).write_bytes(b'z')
        os.utime(tmp_path / 'cache' / 'partial' / name, (now - days * 86400,) * 2)
    for kept in ('state/newest/ubuntu-24.04.json', 'keys/ubuntu.gpg'):  # not files of the cache
        (tmp_path / 'cache' / kept).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / 'cache' / kept).write_text('{}')
        os.utime(tmp_path / 'cache' / kept, (now - 400 * 86400,) * 2)
    before = sorted(os.listdir(tmp_path / 'cache' / 'files'))
    sidecar = os.path.getsize(cache.path('sha256-old') + '.json')

    assert cache.prune(30 * 86400, now=now, dry_run=True) == (['files/sha256-old', 'partial/sha256-killed'],
                                                              100 + 2 + sidecar + 1)
    assert sorted(os.listdir(tmp_path / 'cache' / 'files')) == before  # a dry run removes nothing
    removed, _freed = cache.prune(30 * 86400, now=now)
    assert removed == ['files/sha256-old', 'partial/sha256-killed']
    assert sorted(os.listdir(tmp_path / 'cache' / 'files')) == [
        'sha256-recent', 'sha256-recent.image.json', 'sha256-recent.json']
    assert os.listdir(tmp_path / 'cache' / 'partial') == ['sha256-running.part']
    assert (tmp_path / 'cache' / 'state/newest/ubuntu-24.04.json').exists() and (tmp_path / 'cache/keys/ubuntu.gpg').exists()


def test_a_lookup_is_a_use_and_keeps_an_old_file(tmp_path):
    cache = Cache(str(tmp_path / 'cache'))
    data = b'cloud image'
    key = 'sha256-' + hashlib.sha256(data).hexdigest()
    _cached(cache, key, data, days_ago=40, now=time.time())
    assert cache.lookup(key, discard=False) is not None  # check mode: read-only, no use recorded
    assert cache.prune(30 * 86400, dry_run=True)[0] == ['files/' + key]
    assert cache.lookup(key) is not None
    assert cache.prune(30 * 86400) == ([], 0) and os.path.exists(cache.path(key))


def test_prune_skips_a_key_another_run_holds(tmp_path):
    # A run resuming a month-old partial download holds the download's lock: its file stays.
    now = 1_800_000_000
    cache = Cache(str(tmp_path / 'cache'))
    _cached(cache, 'sha256-old', b'x', days_ago=40, now=now)
    with cache.lock('sha256-old'):
        assert cache.prune(30 * 86400, now=now) == ([], 0)
    with cache.image_lock('sha256-old'):
        assert cache.prune(30 * 86400, now=now) == ([], 0)
    assert cache.prune(30 * 86400, now=now)[0] == ['files/sha256-old']


def test_prune_removes_the_lock_files_of_keys_with_nothing_left(tmp_path):
    now = 1_800_000_000
    cache = Cache(str(tmp_path / 'cache'))
    locks = tmp_path / 'cache' / 'locks'
    _cached(cache, 'sha256-01d', b'x', days_ago=40, now=now)
    _cached(cache, 'sha256-0e1', b'y', days_ago=3, now=now)
    for key in ('sha256-01d', 'sha256-0e1', 'sha256-dead'):  # dead: a download that failed long ago
        with cache.lock(key), cache.image_lock(key):
            pass
    (locks / 'state-newest.lock').write_text('')  # the discovery state's lock, not a cache key's
    for lock in locks.iterdir():
        os.utime(lock, (now - 40 * 86400,) * 2)
    cache.prune(30 * 86400, now=now, dry_run=True)
    assert len(list(locks.iterdir())) == 7  # a dry run removes no lock file
    assert cache.prune(30 * 86400, now=now)[0] == ['files/sha256-01d']
    assert sorted(os.listdir(locks)) == ['image-sha256-0e1.lock', 'sha256-0e1.lock', 'state-newest.lock']


def test_a_locker_waiting_on_a_removed_lock_file_locks_the_new_one(tmp_path):
    # Pruning removes a lock file while holding it; a run that was waiting on that file must not
    # then hold a lock nobody else sees, beside a run that locks the file created next.
    path = str(tmp_path / 'sha256-ab.lock')
    got = threading.Event()

    def waiter():
        with locked(path):
            got.set()
            release.wait(10)

    release = threading.Event()
    with locked(path):
        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.2)  # the waiter is blocked on the file
        os.unlink(path)
    assert got.wait(10)
    with locked(path, wait=False) as free:
        assert not free  # the waiter holds the lock of the file now at the path
    release.set()
    thread.join(10)
    with locked(path, wait=False) as free:
        assert free
