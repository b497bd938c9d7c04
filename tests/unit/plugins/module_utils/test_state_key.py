"""Discovery state from a restored cache is a hint only (issue 21: the cache is untrusted storage).

A state record is a verdict reused without asking upstream (a release checked in this run, a 304).
A CI cache restored from elsewhere holds files of this very uid, so ownership proves nothing: a
record is reused only when this user's state key (kept outside the cache) authenticates it. Real
discovery of Ubuntu 24.04 against the upstream mirror (signed checksums), nothing mocked.
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources import _engine
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    discover, make_source)

PLANTED = 'sha256:' + 'ab' * 32


@pytest.fixture
def machine(monkeypatch, tmp_path):
    """``machine(name)``: run as on machine ``name`` from now on (its own XDG state directory, so its own key)."""
    def use(name):
        monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / name / 'state'))
        _engine._STATE_KEYS.clear()  # pylint: disable=protected-access
    yield use
    _engine._STATE_KEYS.clear()  # pylint: disable=protected-access


@pytest.fixture
def run(upstream):
    mirror = upstream.mirror
    rewrites = {'https://': upstream.server.url + '/'}

    def discover_in(cache, **kwargs):
        return discover(make_session(retries=1, backoff=0.01), make_source('ubuntu', '24.04'), cache_dir=str(cache),
                        rewrites=rewrites, keyring=mirror.keyring.trusted_keyring,
                        trusted_fingerprints=[mirror.keyring.trusted_fingerprint], **kwargs)
    return discover_in


def state_files(cache):
    state = cache / 'state'
    return [path for path in state.iterdir() if path.is_file()], state / 'newest' / 'ubuntu-24.04-x86_64.json'


def edit(path, **changes):
    data = json.loads(path.read_text())
    for key, value in changes.items():
        target = data['result'] if key == 'checksum' else data
        target[key] = value
    path.write_text(json.dumps(data))  # the file keeps its owner and mode: only the MAC can tell


def test_a_restored_cache_is_asked_again_and_a_planted_verdict_is_never_used(machine, run, tmp_path, upstream):
    machine('ci-runner-1')
    cache, since = tmp_path / 'cache', time.time()
    first, unchanged, requests = run(cache, checked_since=since)
    assert not unchanged and requests > 0 and first['checksum'] == 'sha256:' + upstream.mirror.releases['ubuntu', '24.04'].sha256
    assert run(cache, checked_since=since) == (first, True, 0)  # this run's own check: reused
    (state,), newest = state_files(cache)
    assert json.loads(state.read_text())['mac'] and json.loads(newest.read_text())['mac']

    # A restored CI cache: the same uid's files, another machine's key. Every verdict in it is asked
    # for again and verified in this run; what the run proved is then reused.
    restored = tmp_path / 'restored'
    shutil.copytree(cache, restored)
    machine('ci-runner-2')
    release, unchanged, requests = run(restored, checked_since=since)
    assert (release, unchanged) == (first, False) and requests > 0
    assert run(restored, checked_since=since) == (first, True, 0)

    # Planted: a verdict naming other bytes, "checked" far in the future, with the MAC it had; a
    # rollback memory claiming a newer build, without one. Neither is used; upstream says the truth.
    (state,), newest = state_files(restored)
    edit(state, checksum=PLANTED, checked_at=time.time() + 10 ** 6)
    newest.write_text(json.dumps({'version': '99990101', 'build_date': '9999-01-01', 'checksum': PLANTED}))
    release, unchanged, requests = run(restored, checked_since=since)
    assert (release, unchanged) == (first, False) and requests > 0
    assert json.loads(newest.read_text())['version'] == first['version']  # rewritten from this run's proof

    # A record moved to another release's place is not that release's verdict.
    moved = state.with_name(state.name.replace('ubuntu-24.04', 'ubuntu-22.04'))
    shutil.copyfile(state, moved)
    assert _engine.StateStore(str(restored), make_source('ubuntu', '22.04'), {}).load() is None


def test_no_state_is_kept_when_the_key_would_be_inside_the_cache(monkeypatch, run, tmp_path):
    cache = tmp_path / 'cache'
    monkeypatch.setenv('XDG_STATE_HOME', str(cache / 'xdg'))  # it would travel with the cache
    _engine._STATE_KEYS.clear()  # pylint: disable=protected-access
    try:
        first, unchanged, requests = run(cache, checked_since=time.time())
        assert not unchanged and requests > 0
        assert run(cache, checked_since=time.time() - 60) == (first, False, requests)  # asked again, every time
        assert not (cache / 'state').exists() and not (cache / 'xdg').exists()
    finally:
        _engine._STATE_KEYS.clear()  # pylint: disable=protected-access


def test_the_key_is_private_and_one_per_user(machine, tmp_path):
    machine('host')
    key = _engine.state_key(str(tmp_path / 'cache'))
    path = tmp_path / 'host' / 'state' / 'cloudimages' / 'state.key'
    assert path.read_bytes() == key and len(key) == 64 and path.stat().st_mode & 0o077 == 0
    _engine._STATE_KEYS.clear()  # pylint: disable=protected-access
    assert _engine.state_key(str(tmp_path / 'other-cache')) == key  # made once, then read
    path.chmod(0o644)  # readable by others: not a secret any more, so no state is trusted with it
    _engine._STATE_KEYS.clear()  # pylint: disable=protected-access
    assert _engine.state_key(str(tmp_path / 'cache')) is None
