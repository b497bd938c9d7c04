"""Session fixtures for a real local OpenStack (tools/localcloud).

CLOUDIMAGES_STACK=full (default) or light (Keystone + Glance only; tests marked needs_nova /
needs_cinder are skipped). CLOUDIMAGES_STACK_BASE=<dir> reuses a stack a developer started with
``python -m localcloud start <dir>`` and leaves it running; otherwise a fresh stack is started in a
temp dir and stopped at the end of the session, whatever happened.
"""

from __future__ import annotations

import atexit
import contextlib
import os

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


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
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


@pytest.fixture(scope='session')
def localcloud(tmp_path_factory):
    """The started LocalCloud (see tools/localcloud)."""
    # Imported here: tools/ joins sys.path only in pytest_configure / the ``pythonpath`` ini option.
    from localcloud import LocalCloud  # pylint: disable=import-outside-toplevel
    mode = stack_mode()
    reuse = os.environ.get('CLOUDIMAGES_STACK_BASE')
    if reuse:
        stack = LocalCloud(reuse, services=mode)
        if not stack.status()[0]:
            pytest.exit('CLOUDIMAGES_STACK_BASE=%s: no stack running there; start it with '
                        'python -m localcloud start %s' % (reuse, reuse), returncode=3)
        yield stack.start()  # idempotent: checks health, starts nothing
        return
    stack = LocalCloud(tmp_path_factory.mktemp('localcloud'), services=mode)
    atexit.register(stack.stop)  # also on an interrupted session; stop() is idempotent
    try:
        yield stack.start()
    finally:
        stack.stop()


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
    a private copy of it (a test that advances it or injects faults), or a Mirror the test built; a
    private one is served for the test and closed after it. The provider's images are removed after
    the test in both regions, whatever happened.
    """
    from sync_support import DailySync  # pylint: disable=import-outside-toplevel
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    with contextlib.ExitStack() as cleanup:
        def make(prefix, mirror=None, **defaults):
            served = server
            if mirror is not None:
                mirror = upstream.mirror.copy(tmp_path / 'mirror') if mirror == 'copy' else mirror
                cleanup.callback(mirror.close)
                served = cleanup.enter_context(MirrorServer(mirror))
            sync = DailySync(cloud, mirror or upstream.mirror, served, tmp_path, prefix, **defaults)
            cleanup.callback(sync.close)
            return sync
        yield make
