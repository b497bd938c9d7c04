"""image_verify finds a Rocky/AlmaLinux build where the vendor moved it (vault) and says so.

Real HTTP against the upstream mirror, which moves an older minor's builds to the vault like
dl.rockylinux.org/vault and vault.almalinux.org; nothing is mocked.
"""

from __future__ import annotations

import hashlib

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.verify import _verify
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._checksum_dir import archive_urls
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    discover, make_source)
from ansible_collections.cloudimages.openstack.plugins.module_utils.verify._verify_upstream import UpstreamCheck


@pytest.fixture
def moved(upstream, tmp_path):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(str(tmp_path / 'mirror'))
    try:
        with MirrorServer(mirror) as server:
            yield mirror, server
    finally:
        mirror.close()


def glance_image(path, release, image_source):
    with open(path, 'rb') as handle:
        data = handle.read()
    return {'id': 'i-' + release['key'], 'name': release['key'], 'visibility': 'public', 'status': 'active',
            'disk_format': 'qcow2', 'checksum': hashlib.md5(data).hexdigest(), 'os_hash_algo': 'sha512',
            'os_hash_value': hashlib.sha512(data).hexdigest(),
            'properties': {'cloudimages_release': release['key'], 'cloudimages_build': release['version'],
                           'cloudimages_digest': release['checksum'], 'image_source': image_source}}


@pytest.mark.parametrize('source,distro,vault', [
    ('rocky', 'rocky', 'https://dl.rockylinux.org/vault/rocky/9.6/images/x86_64/'),
    ('almalinux', 'almalinux', 'https://vault.almalinux.org/9.6/cloud/x86_64/images/'),
])
@pytest.mark.parametrize('recorded', ['release_dir', 'major_alias'])
def test_a_moved_build_is_found_in_the_vault(moved, tmp_path, source, distro, vault, recorded):
    mirror, server = moved
    rewrites = {'https://': server.url + '/'}
    session = make_session(retries=1, backoff=0.01)
    release, _unchanged, _requests = discover(session, make_source(source, '9'), cache_dir=str(tmp_path / 'state'),
                                              rewrites=rewrites, allow_unsigned=True,
                                              keyring=mirror.keyring.trusted_keyring,
                                              trusted_fingerprints=[mirror.keyring.trusted_fingerprint])
    path = mirror.releases[distro, '9'].local_path
    image_source = release['image_source']
    assert '/9.6/' in image_source   # the release's own directory, not the /9/ alias
    if recorded == 'major_alias':   # how images were recorded before
        image_source = mirror.releases[distro, '9'].image_url
    image = glance_image(path, release, image_source)

    mirror.advance(bump=(distro,), only=[(distro, '9')])   # 9.7 is out: 9.6's builds move to the vault
    assert session.get(server.rewrite(image_source)).status_code == 404
    assert archive_urls(image_source)[-1] == vault + release['filename']

    result, step = _verify.plan(image, {}, rewrites)
    check = UpstreamCheck(session, str(tmp_path / 'cache'), 1 << 30, 30, 1)
    check(image, result, step)
    assert result['status'] == 'match', result['reason']
    assert result['source'] == server.rewrite(vault + release['filename'])
    assert 'is gone: the vendor moved the build to its archive' in result['reason']


def test_gone_everywhere_stays_source_gone(moved, tmp_path):
    mirror, server = moved
    rewrites = {'https://': server.url + '/'}
    info = mirror.releases['rocky', '9']
    name = info.file_name.replace('20261116', '20200101')
    release = {'key': 'rocky-9', 'version': '9.6-20200101.0', 'checksum': 'sha256:' + info.sha256}
    image = glance_image(info.local_path, release, 'https://dl.rockylinux.org/pub/rocky/9.6/images/x86_64/' + name)
    result, step = _verify.plan(image, {}, rewrites)
    assert len(step.archives) == 1   # the vault only: the recorded URL is the release directory already
    UpstreamCheck(make_session(retries=1, backoff=0.01), str(tmp_path / 'cache'), 1 << 30, 30, 1)(image, result, step)
    assert result['status'] == 'source_gone'


def test_archive_urls():
    name = 'Rocky-10-GenericCloud-LVM-10.1-20251116.0.aarch64.qcow2'
    assert archive_urls('https://dl.rockylinux.org/pub/rocky/10/images/aarch64/' + name) == [
        'https://dl.rockylinux.org/pub/rocky/10.1/images/aarch64/' + name,
        'https://dl.rockylinux.org/vault/rocky/10.1/images/aarch64/' + name]
    assert archive_urls('https://repo.almalinux.org/almalinux/10/cloud/x86_64/images/'
                        'AlmaLinux-10-GenericCloud-10.0-20250528.0.x86_64.qcow2')[-1] == (
        'https://vault.almalinux.org/10.0/cloud/x86_64/images/AlmaLinux-10-GenericCloud-10.0-20250528.0.x86_64.qcow2')
    for other in ('https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
                  'https://dl.rockylinux.org/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2',
                  'https://evil.test/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base-9.6-20250531.0.x86_64.qcow2',
                  None):
        assert archive_urls(other) == []
