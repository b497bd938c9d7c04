"""Fixtures for the upstream mirror's own tests: one built mirror per session, copies to mutate."""

from __future__ import annotations

import datetime
import shutil

import pytest

from upstream_mirror import Mirror, MirrorServer

TODAY = datetime.date(2026, 11, 16)


@pytest.fixture(scope='session')
def base_mirror(tmp_path_factory):
    if not (shutil.which('qemu-img') and shutil.which('gpg')):
        pytest.skip('needs qemu-img and gpg')
    # Stand-ins only: these tests are about layouts; test_bootable.py builds a bootable mirror.
    mirror = Mirror(tmp_path_factory.mktemp('base') / 'mirror', today=TODAY, bootable=False).build()
    yield mirror
    mirror.close()


@pytest.fixture(scope='session')
def base_server(base_mirror):
    with MirrorServer(base_mirror) as server:
        yield server


@pytest.fixture
def server(base_server):
    """The session server with a clean log and no faults."""
    base_server.clear_faults()
    base_server.reset_requests()
    yield base_server
    base_server.clear_faults()


@pytest.fixture
def mirror(base_mirror, tmp_path):
    """A private copy to advance, end-of-life or poison."""
    copy = base_mirror.copy(tmp_path / 'mirror')
    yield copy
    copy.close()
