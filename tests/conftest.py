"""Make the working tree importable as ``ansible_collections.cloudimages.openstack``.

Unit tests import module_utils by their collection path and integration tests run
``ansible-playbook``; both need the tree under an ``ansible_collections/<ns>/<name>``
parent. A symlink farm in a temp dir gives that without copying or touching the repo.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent
_FARM = None
# The test infrastructure (local cloud, upstream mirror) lives in tools/.
sys.path.insert(0, str(ROOT / 'tools'))


def pytest_configure(config):  # pylint: disable=unused-argument
    global _FARM  # pylint: disable=global-statement
    _FARM = Path(tempfile.mkdtemp(prefix='cloudimages-collections-'))
    namespace = _FARM / 'ansible_collections' / 'cloudimages'
    namespace.mkdir(parents=True)
    (namespace / 'openstack').symlink_to(ROOT)
    sys.path.insert(0, str(_FARM))
    os.environ['ANSIBLE_COLLECTIONS_PATH'] = str(_FARM)


# Seconds per test file (setup, call and teardown of its tests), printed after the run: CI's time
# budget is watched from its output, and the tail of short tests adds up where --durations cuts off.
_FILE_SECONDS = {}


def pytest_runtest_logreport(report):
    path = report.nodeid.split('::', 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if not _FILE_SECONDS:
        return
    terminalreporter.section('seconds per test file')
    short = [seconds for seconds in _FILE_SECONDS.values() if seconds < 1]
    for path, seconds in sorted(_FILE_SECONDS.items(), key=lambda item: -item[1]):
        if seconds >= 1:
            terminalreporter.write_line('%8.1f s  %s' % (seconds, path))
    terminalreporter.write_line('%8.1f s  %d files under 1 s each' % (sum(short), len(short)))
    terminalreporter.write_line('%8.1f s  in all' % sum(_FILE_SECONDS.values()))


def pytest_unconfigure(config):  # pylint: disable=unused-argument
    if _FARM is not None:
        shutil.rmtree(_FARM, ignore_errors=True)


@pytest.fixture(scope='session')
def upstream(tmp_path_factory):
    """The local upstream mirror (tools/upstream_mirror), built once and served on 127.0.0.1.

    Tests that change it (advance, eol, faults in content) take a ``mirror.copy()``; transport
    faults set on ``server`` must be cleared by the test that sets them.
    """
    from localcloud import boots  # pylint: disable=import-outside-toplevel
    from upstream_mirror import Mirror, MirrorServer  # pylint: disable=import-outside-toplevel
    # Bootable images where the session's stack really boots: the stack decides (a reused one,
    # CLOUDIMAGES_STACK_BASE, by its own configuration). Stand-ins only on an opt-in fake driver.
    bootable = boots(os.environ.get('CLOUDIMAGES_STACK_BASE'), os.environ.get('CLOUDIMAGES_STACK', 'full'))
    mirror = Mirror(tmp_path_factory.mktemp('upstream') / 'mirror', bootable=bootable).build()
    try:
        with MirrorServer(mirror) as server:
            yield SimpleNamespace(mirror=mirror, server=server)
    finally:
        mirror.close()


@pytest.fixture
def server(upstream):
    """The shared mirror's server with no faults and an empty request log; faults are cleared after the test."""
    upstream.server.clear_faults()
    upstream.server.reset_requests()
    yield upstream.server
    upstream.server.clear_faults()


@pytest.fixture
def ssh_listener():
    """A real TCP server on 127.0.0.1 that sends ``state['banner']`` to each client, as a guest's
    sshd sends its identification line first. Yields ``(port, state)``; stopped afterwards."""
    sock = socket.create_server(('127.0.0.1', 0))
    sock.settimeout(0.2)  # so the thread notices ``stop``
    state = {'banner': b'SSH-2.0-OpenSSH_9.6\r\n'}
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _addr = sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(state['banner'])
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1], state
    stop.set()
    thread.join(5)
    sock.close()
