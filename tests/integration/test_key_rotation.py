"""Vendor keys rotate, the key cache follows, the pins stay the trust anchor (mirror + real gpgv).

The mirror serves its test key at the vendor's keyring URL; discovery runs without a keyring of
its own, as the roles do, so the key is fetched into ``<cache>/keys`` and must be refreshed when
the vendor adds a signing subkey (Flatcar, yearly) or a new release key (Fedora, per release).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._signatures import keyring_fingerprints
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    KEYRING_MAX_AGE, DiscoveryError)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    discover, make_source)

pytestmark = pytest.mark.skipif(not shutil.which('gpgv'), reason='needs gpgv')

FLATCAR_KEY_URL = 'https://www.flatcar.org/security/image-signing-key/Flatcar_Image_Signing_Key.asc'
ALMA_KEY_URL = 'https://repo.almalinux.org/almalinux/RPM-GPG-KEY-AlmaLinux-9'


@pytest.fixture
def world(upstream, tmp_path):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(str(tmp_path / 'mirror'))
    try:
        with MirrorServer(mirror) as server:
            yield World(mirror, server, str(tmp_path / 'cache'))
    finally:
        mirror.close()


class World:
    def __init__(self, mirror, server, cache):
        self.mirror, self.server, self.cache = mirror, server, cache

    def discover(self, source, release, signing_keys):
        return discover(make_session(retries=1, backoff=0.01), make_source(source, release), cache_dir=self.cache,
                        rewrites={'https://': self.server.url + '/'}, signing_keys=signing_keys)

    def cached(self, name):
        return os.path.join(self.cache, 'keys', name)

    def serve_keys(self, url, *which):
        """The vendor's keyring file: every key named, concatenated (like fedora.gpg)."""
        target = self.mirror.publish_key(url, which[0], armored=False)
        with open(target, 'wb') as handle:
            for name in which:
                with open(self.mirror.keyring.public_key(name), 'rb') as key:
                    handle.write(key.read())

    def new_build(self, distro, release):
        self.mirror.advance(only=[(distro, release)])
        return self.mirror.releases[distro, release].version


def test_a_new_signing_subkey_is_fetched_after_no_pubkey(world):
    keys = world.mirror.keyring
    pins = {'*': [keys.trusted_fingerprint]}
    world.serve_keys(FLATCAR_KEY_URL, 'trusted')
    first, _unchanged, _requests = world.discover('flatcar', 'stable', pins)
    cached = world.cached('Flatcar_Image_Signing_Key.asc')
    assert first['trust']['keyring'] == cached and first['signature']['fingerprint'] == keys.trusted_fingerprint

    subkey = keys.add_signing_subkey('trusted')
    version = world.new_build('flatcar', 'stable')
    assert subkey not in keyring_fingerprints(cached)
    # The vendor has not published the new subkey yet: one refresh, then fail closed.
    world.server.reset_requests()
    with pytest.raises(DiscoveryError, match=r'the signing key is not in the keyring .*\[NO_PUBKEY\]'):
        world.discover('flatcar', 'stable', pins)
    assert world.server.count(FLATCAR_KEY_URL) == 1

    world.serve_keys(FLATCAR_KEY_URL, 'trusted')   # now with the subkey
    release, _unchanged, _requests = world.discover('flatcar', 'stable', pins)
    assert release['version'] == version and release['signature']['fingerprint'] == keys.trusted_fingerprint
    assert subkey in keyring_fingerprints(cached)


def test_a_new_pinned_release_key_is_fetched_before_verifying(world):
    keys = world.mirror.keyring
    world.serve_keys(ALMA_KEY_URL, 'trusted')
    world.discover('almalinux', '9', {'9': [keys.trusted_fingerprint]})

    new_key = keys.add_key('release-next')
    keys.use('release-next')
    version = world.new_build('almalinux', '9')
    world.serve_keys(ALMA_KEY_URL, 'trusted', 'release-next')
    world.server.reset_requests()
    release, _unchanged, _requests = world.discover('almalinux', '9', {'9': [new_key]})
    # Fetched because the cached keyring held none of the pins, not after a failure.
    assert world.server.count(ALMA_KEY_URL) == 1
    assert release['version'] == version and release['signature']['fingerprint'] == new_key
    assert new_key in keyring_fingerprints(world.cached('RPM-GPG-KEY-AlmaLinux-9'))


def test_a_key_the_pins_do_not_cover_fails_closed(world):
    keys = world.mirror.keyring
    world.serve_keys(ALMA_KEY_URL, 'trusted')
    world.discover('almalinux', '9', {'9': [keys.trusted_fingerprint]})

    keys.add_key('impostor')
    keys.use('impostor')
    world.new_build('almalinux', '9')
    world.serve_keys(ALMA_KEY_URL, 'trusted', 'impostor')   # the new keyring carries the other key
    refused = 'signed by %s, which is not in the trusted list' % keys.fingerprints['impostor']
    for _attempt in range(2):
        with pytest.raises(DiscoveryError, match=refused):
            world.discover('almalinux', '9', {'9': [keys.trusted_fingerprint]})


def test_the_cached_keyring_is_refreshed_after_its_maximum_age(world):
    keys = world.mirror.keyring
    pins = {'9': [keys.trusted_fingerprint]}
    world.serve_keys(ALMA_KEY_URL, 'trusted')
    world.discover('almalinux', '9', pins)
    cached = world.cached('RPM-GPG-KEY-AlmaLinux-9')

    world.new_build('almalinux', '9')
    world.server.reset_requests()
    world.discover('almalinux', '9', pins)
    assert world.server.count(ALMA_KEY_URL) == 0   # fresh: reused

    old = time.time() - KEYRING_MAX_AGE - 60
    os.utime(cached, (old, old))
    world.new_build('almalinux', '9')
    world.server.reset_requests()
    world.discover('almalinux', '9', pins)
    assert world.server.count(ALMA_KEY_URL) == 1 and os.path.getmtime(cached) > old + 60

    # A vendor site that fails keeps the old copy usable (it still holds a pinned key), with a warning.
    os.utime(cached, (old, old))
    os.remove(os.path.join(world.mirror.www, 'repo.almalinux.org', 'almalinux', 'RPM-GPG-KEY-AlmaLinux-9'))
    version = world.new_build('almalinux', '9')
    release, _unchanged, _requests = world.discover('almalinux', '9', pins)
    assert release['version'] == version
    assert any('kept the cached RPM-GPG-KEY-AlmaLinux-9' in warning for warning in release['warnings'])
