"""Session fixtures for a real local OpenStack (tools/localcloud).

CLOUDIMAGES_STACK=full (default) or light (Keystone + Glance only; tests marked needs_nova /
needs_cinder are skipped). CLOUDIMAGES_STACK_BASE=<dir> reuses a stack a developer started with
``python -m localcloud start <dir>`` and leaves it running; otherwise a fresh stack is started in a
temp dir and stopped at the end of the session, whatever happened. That start begins in the background
as soon as the tests are collected, and the unit and mirror tests run first, beside it: on CI's 2 cores
they keep one core busy while the stack's start-up (about a minute, mostly waiting) takes the other.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from pathlib import Path

import pytest

STACK_MODES = ('full', 'light')


def pytest_configure(config):
    config.addinivalue_line('markers', 'needs_nova: needs the full local cloud (Nova servers)')
    config.addinivalue_line('markers', 'needs_cinder: needs the full local cloud (Cinder volumes)')


def stack_mode():
    mode = os.environ.get('CLOUDIMAGES_STACK', 'full')
    if mode not in STACK_MODES:
        raise pytest.UsageError('CLOUDIMAGES_STACK must be one of %s, not %r' % (', '.join(STACK_MODES), mode))
    return mode


INTEGRATION = Path(__file__).resolve().parent
_STARTING = {}  # the background start: stack, thread, error


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    # Integration tests last (a stable sort keeps each part's order): the stack starts meanwhile.
    items.sort(key=lambda item: INTEGRATION in item.path.parents)
    if stack_mode() != 'light':
        return
    for item in items:
        for marker in ('needs_nova', 'needs_cinder'):
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason='%s: CLOUDIMAGES_STACK=light runs Keystone + Glance only' % marker))


class Cloud:
    """What tests need from the stack: clouds.yaml, env for subprocesses, openstacksdk connections."""

    def __init__(self, stack, mode):
        self.stack = stack
        self.mode = mode

    @property
    def full(self):
        return self.mode == 'full'

    @property
    def clouds_yaml(self):
        return self.stack.clouds_yaml

    @property
    def endpoints(self):
        return self.stack.endpoints

    def env(self):
        return self.stack.env()

    def connect(self, name='admin', region='RegionOne'):
        """openstacksdk connection for a cloud of clouds.yaml (admin, demo, alt, demo-reader) in a region."""
        from openstack import config as occ, connection  # pylint: disable=import-outside-toplevel
        cfg = occ.OpenStackConfig(config_files=[self.clouds_yaml], load_envvars=False)
        return connection.Connection(config=cfg.get_one(cloud=name, region_name=region))


def pytest_collection_finish(session):
    """Start a fresh stack in a thread when a collected test needs it; the ``localcloud`` fixture waits for it."""
    if os.environ.get('CLOUDIMAGES_STACK_BASE') or session.config.option.collectonly:
        return
    if any('localcloud' in getattr(item, 'fixturenames', ()) for item in session.items):
        _start_in_background(session.config)


def _start_in_background(config):
    from localcloud import LocalCloud  # pylint: disable=import-outside-toplevel
    base = config._tmp_path_factory.mktemp('localcloud')  # pylint: disable=protected-access
    # Its progress goes to a file: the fixture prints it, so it shows with the first test's setup as before.
    out = open(base.parent / (base.name + '-start.log'), 'w', encoding='utf-8')  # pylint: disable=consider-using-with
    stack = LocalCloud(base, services=stack_mode(), out=out)

    def start():
        try:
            stack.start()
        except BaseException as exc:  # pylint: disable=broad-exception-caught
            _STARTING['error'] = exc  # raised by the fixture, in the tests that need the stack
        finally:
            out.close()
    thread = threading.Thread(target=start, name='localcloud-start', daemon=True)
    _STARTING.update(stack=stack, log=out.name, thread=thread)
    thread.start()
    # Also on an interrupted session, once the start is over (nothing it starts is left); stop() is idempotent.
    atexit.register(lambda: (thread.join(), stack.stop()))


@pytest.fixture(scope='session')
def localcloud(pytestconfig):
    """The started LocalCloud (see tools/localcloud)."""
    # Imported here: tools/ joins sys.path only in pytest_configure / the ``pythonpath`` ini option.
    from localcloud import LocalCloud  # pylint: disable=import-outside-toplevel
    reuse = os.environ.get('CLOUDIMAGES_STACK_BASE')
    if reuse:
        stack = LocalCloud(reuse, services=stack_mode())
        if not stack.status()[0]:
            pytest.exit('CLOUDIMAGES_STACK_BASE=%s: no stack running there; start it with '
                        'python -m localcloud start %s' % (reuse, reuse), returncode=3)
        yield stack.start()  # idempotent: checks health, starts nothing
        return
    if not _STARTING:
        _start_in_background(pytestconfig)
    _STARTING['thread'].join()
    with open(_STARTING['log'], encoding='utf-8') as log:
        print(log.read(), end='')
    _STARTING['stack'].out = sys.stdout  # its file is closed; stop() says what it stopped here
    try:
        if 'error' in _STARTING:
            raise _STARTING['error']
        yield _STARTING['stack']
    finally:
        _STARTING['stack'].stop()


@pytest.fixture(scope='session')
def cloud(localcloud):  # pylint: disable=redefined-outer-name
    return Cloud(localcloud, 'full' if localcloud.full else 'light')


@pytest.fixture(scope='session')
def booting_cloud(cloud, upstream):  # pylint: disable=redefined-outer-name
    """The cloud, whose servers really boot the mirror's bootable images (the default stack).

    Tests that judge a real console skip on the opt-in fake driver (CLOUDIMAGES_COMPUTE=fake): its
    console is a fixed text whatever the image.
    """
    if not cloud.stack.boots:
        pytest.skip('Nova runs the %s driver: its servers do not boot (CLOUDIMAGES_COMPUTE=fake)' % cloud.stack.compute)
    assert upstream.mirror.state.get('bootable'), 'the stack boots, so the mirror must serve bootable images'
    return cloud


@pytest.fixture
def daily_sync(cloud, server, upstream, tmp_path):  # pylint: disable=redefined-outer-name
    """Makes the test's DailySync (tests/integration/sync_support.py): ``daily_sync(prefix, mirror=None, **defaults)``.

    ``mirror``: None for the session's shared mirror (a test that does not change it), ``'copy'`` for
    a private copy of it (a test that advances it or injects faults), ``'stand-ins'`` for a private
    mirror of tiny non-booting images (a test that boots nothing: no 16 MB image to fetch, hash and
    upload per release), or a Mirror the test built; a private one is served for the test and closed
    after it. The provider's images are removed after the test in both regions, whatever happened.
    """
    from sync_support import DailySync  # pylint: disable=import-outside-toplevel
    from upstream_mirror import Mirror, MirrorServer  # pylint: disable=import-outside-toplevel
    private = {'copy': lambda: upstream.mirror.copy(tmp_path / 'mirror'),
               'stand-ins': lambda: Mirror(tmp_path / 'mirror', bootable=False).build()}
    with contextlib.ExitStack() as cleanup:
        def make(prefix, mirror=None, **defaults):
            served = server
            if mirror is not None:
                mirror = private[mirror]() if isinstance(mirror, str) else mirror
                cleanup.callback(mirror.close)
                served = cleanup.enter_context(MirrorServer(mirror))
            sync = DailySync(cloud, mirror or upstream.mirror, served, tmp_path, prefix, **defaults)
            cleanup.callback(sync.close)
            return sync
        yield make
