"""aarch64 trees beside the x86_64 ones, in each vendor's real layout and spelling.

Every vendor but the provider's Windows pipeline builds each release for both architectures:
the aarch64 build is the same version at the same place with the vendor's name for the
architecture (Ubuntu and Debian arm64, Flatcar's arm64-usr board, aarch64 elsewhere), listed in
its own checksum file and index, signed as the x86_64 one is.
"""

from __future__ import annotations

import json
import os

from mirror_helpers import clearsigned_body, gpgv, read

# The vendor's spelling of (x86_64, aarch64) in URLs, from reference/upstreams.md.
SPELLING = {'ubuntu': ('amd64', 'arm64'), 'ubuntu-minimal': ('amd64', 'arm64'), 'debian': ('amd64', 'arm64'),
            'flatcar': ('amd64-usr', 'arm64-usr')}
URLS = ('image_url', 'pointer_url', 'checksum_url', 'checksum_signature_url', 'image_signature_url', 'index_url')


def local(mirror, url):
    path = url.split('://', 1)[1].replace('download.fedoraproject.org', 'dl.fedoraproject.org', 1)
    return os.path.join(mirror.www, path)


def test_every_release_but_windows_has_an_aarch64_build_in_the_vendor_layout(base_mirror):
    x86, arm = base_mirror.releases, base_mirror.releases_of('aarch64')
    assert set(arm) == {key for key in x86 if key[0] != 'windows'}
    assert len({info.sha256 for info in arm.values()} | {info.sha256 for info in x86.values()}) == len(arm) + len(x86)
    for key, info in arm.items():
        other = x86[key]
        old, new = SPELLING.get(key[0], ('x86_64', 'aarch64'))
        assert (info.arch, other.arch, info.version, info.build_date) == ('aarch64', 'x86_64', other.version,
                                                                          other.build_date), key
        for name in URLS:
            assert getattr(info, name) == ((getattr(other, name) or '').replace(old, new) or None), (key, name)
        assert os.path.isfile(info.local_path) and new in info.file_name + info.image_url
        if info.checksum_url:  # listed by name and digest (Debian and Flatcar: sha512)
            text = read(local(base_mirror, info.checksum_url))
            digest = info.sha512 if key[0] in ('debian', 'flatcar') else info.sha256
            assert any(digest in line and info.file_name in line for line in text.splitlines()), key


def test_aarch64_signatures_verify_with_the_test_key(base_mirror):
    keyring = base_mirror.keyring.trusted_keyring
    for key, info in base_mirror.releases_of('aarch64').items():
        if info.image_signature_url:
            assert gpgv(keyring, local(base_mirror, info.image_signature_url), info.local_path), key
        if info.checksum_signature_url:
            signature = local(base_mirror, info.checksum_signature_url)
            if read(signature).startswith('-----BEGIN PGP SIGNED MESSAGE-----'):  # Fedora, Flatcar's DIGESTS.asc
                assert gpgv(keyring, signature), key
            else:  # Rocky signs the directory's CHECKSUM
                signed = info.extra.get('dir_checksum_url', info.checksum_url)
                assert gpgv(keyring, signature, local(base_mirror, signed)), key


def test_aarch64_indexes(base_mirror):
    arm = base_mirror.releases_of('aarch64')
    ubuntu = arm['ubuntu', '24.04']
    streams = json.loads(read(local(base_mirror, ubuntu.index_url)))['products']
    product = streams['com.ubuntu.cloud:server:24.04:arm64']
    assert product['arch'] == 'arm64'
    assert product['versions'][ubuntu.version]['items']['disk1.img']['sha256'] == ubuntu.sha256
    fedora = arm['fedora', '44']
    entries = json.loads(read(local(base_mirror, fedora.index_url)))
    assert {'version': '44', 'arch': 'aarch64', 'link': fedora.image_url, 'variant': 'Cloud',
            'subvariant': 'Cloud_Base', 'sha256': fedora.sha256, 'size': str(fedora.size)} in entries
    assert 'Fedora-Cloud-Base-Generic-44' in clearsigned_body(read(local(base_mirror, fedora.checksum_url)))
    fcos = arm['fedora-coreos', 'stable']
    disk = json.loads(read(local(base_mirror, fcos.index_url)))['architectures']['aarch64']['artifacts']['openstack']
    assert disk['release'] == fcos.version
    assert disk['formats']['qcow2.xz']['disk']['sha256'] == fcos.sha256
    assert disk['formats']['qcow2.xz']['disk']['uncompressed-sha256'] == fcos.uncompressed_sha256
    debian = json.loads(read(local(base_mirror, arm['debian', '13'].index_url)))
    assert [item['data']['info']['arch'] for item in debian['items'] if item['kind'] == 'Build'] == ['arm64']
    catalog = json.loads(read(os.path.join(base_mirror.root, 'catalog.json')))
    assert sorted((entry['distro'], entry['release']) for entry in catalog if entry['arch'] == 'aarch64') == sorted(arm)


def test_aarch64_moves_with_x86_64(mirror):
    mirror.advance(bump=('rocky', 'flatcar'))
    arm, x86 = mirror.releases_of('aarch64'), mirror.releases
    for key, info in arm.items():
        assert info.version == x86[key].version and info.build_date == '2026-11-17', key
    # The previous minor's aarch64 builds move to the vault like the x86_64 ones.
    assert [info.image_url.split('/')[3:8] for info in mirror.history('rocky', '9', 'aarch64')] == [
        ['vault', 'rocky', '9.6', 'images', 'aarch64']] * 2 + [['pub', 'rocky', '9', 'images', 'aarch64']]
    mirror.eol('fedora', '43')
    assert ('fedora', '43') not in mirror.releases_of('aarch64')
    assert not os.path.exists(os.path.join(mirror.www, 'dl.fedoraproject.org', 'pub', 'fedora', 'linux',
                                           'releases', '43'))
