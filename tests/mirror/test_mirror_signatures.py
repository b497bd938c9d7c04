"""Every signed file verifies with gpgv against the trusted key only, in the vendor's shape."""

from __future__ import annotations

import os
import re

import pytest

from mirror_helpers import gpgv, read


def local(mirror, url):
    return os.path.join(mirror.www, url.split('://', 1)[1].replace('download.fedoraproject.org', 'dl.fedoraproject.org', 1))


def signed_files(mirror):
    """(label, signature path, data path or None for clearsigned, expected shape)."""
    out = []
    releases = mirror.releases
    for key in [('ubuntu', '24.04'), ('ubuntu', '22.04'), ('ubuntu-minimal', '24.04'), ('ubuntu-minimal', '22.04')]:
        info = releases[key]
        out.append(('%s %s SHA256SUMS.gpg' % key, local(mirror, info.checksum_signature_url), local(mirror, info.checksum_url), 'armored'))
        streams = os.path.dirname(local(mirror, info.index_url))
        out.append(('%s %s streams' % key, os.path.join(streams, 'com.ubuntu.cloud:released:download.sjson'), None, 'clear'))
    for major in ('9', '10'):
        info = releases['almalinux', major]
        out.append(('almalinux %s CHECKSUM.asc' % major, local(mirror, info.checksum_signature_url), local(mirror, info.checksum_url), 'armored'))
    for version in ('43', '44'):
        info = releases['fedora', version]
        out.append(('fedora %s CHECKSUM' % version, local(mirror, info.checksum_url), None, 'clear'))
    info = releases['fedora-coreos', 'stable']
    out.append(('fcos .sig', local(mirror, info.image_signature_url), info.local_path, 'binary'))
    info = releases['flatcar', 'stable']
    for name in (info.file_name, info.file_name[:-len('.bz2')]):
        path = os.path.join(os.path.dirname(info.local_path), name)
        out.append(('flatcar %s.sig' % name, path + '.sig', path, 'binary'))
        out.append(('flatcar %s.DIGESTS.sig' % name, path + '.DIGESTS.sig', path + '.DIGESTS', 'binary'))
        out.append(('flatcar %s.DIGESTS.asc' % name, path + '.DIGESTS.asc', None, 'clear'))
    return out


def test_signed_files_have_vendor_shape_and_verify(base_mirror):
    keyring = base_mirror.keyring
    files = signed_files(base_mirror)
    assert len(files) == 19
    for label, signature, data, shape in files:
        head = read(signature, 'rb')[:40]
        if shape == 'armored':
            assert head.startswith(b'-----BEGIN PGP SIGNATURE-----'), label
        elif shape == 'clear':
            assert head.startswith(b'-----BEGIN PGP SIGNED MESSAGE-----'), label
        else:
            assert not head.startswith(b'-----'), label
        args = [signature] + ([data] if data else [])
        assert gpgv(keyring.trusted_keyring, *args), label
        assert gpgv(keyring.public_key('trusted', armored=False), *args), label
        assert not gpgv(keyring.untrusted_keyring, *args), label


def test_keyring_exports_and_fingerprints(base_mirror):
    keyring = base_mirror.keyring
    assert re.fullmatch('[0-9A-F]{40}', keyring.trusted_fingerprint)
    assert re.fullmatch('[0-9A-F]{40}', keyring.untrusted_fingerprint)
    assert keyring.trusted_fingerprint != keyring.untrusted_fingerprint
    assert read(keyring.public_key('trusted', armored=True)).startswith('-----BEGIN PGP PUBLIC KEY BLOCK-----')
    assert os.path.getsize(keyring.trusted_keyring) > 0


@pytest.mark.parametrize('mode', ['untrusted', 'tampered'])
def test_bad_signature_fault_breaks_only_the_target(mirror, mode):
    for distro, release in [('ubuntu', '24.04'), ('almalinux', '9'), ('fedora', '44'), ('fedora-coreos', 'stable'), ('flatcar', 'stable')]:
        mirror.inject(distro, release, 'bad_signature', mode=mode)
    keyring = mirror.keyring
    by_label = {label: (signature, data) for label, signature, data, _shape in signed_files(mirror)}
    for label, (signature, data) in by_label.items():
        broken = any(label.startswith(prefix) for prefix in ('ubuntu 24.04 SHA256SUMS', 'almalinux 9 ', 'fedora 44', 'fcos', 'flatcar'))
        args = [signature] + ([data] if data else [])
        assert gpgv(keyring.trusted_keyring, *args) is not broken, label
        if mode == 'untrusted' and broken:
            assert gpgv(keyring.untrusted_keyring, *args), label


def test_unsigned_vendors_refuse_bad_signature(mirror):
    for distro, release in [('debian', '12'), ('rocky', '9'), ('cirros', '0.6'), ('windows', '2022')]:
        with pytest.raises(ValueError):
            mirror.inject(distro, release, 'bad_signature')
