"""The real vendor corpus (tests/data/vendor_samples, provenance in its SOURCES.md files).

Every real checksum file parses and gives the right entry; the real Fedora and Ubuntu signatures
verify with the real public keys; the real FCOS stream files give the right build; every pinned
fingerprint of the role data is a real vendor key of the corpus.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _checksums
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._signatures import (
    dearmor, key_expiries, keyring_fingerprints, verify_clearsigned, verify_detached)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    Context, DiscoveryError, EndOfLife, Response)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._checksum_dir import (
    AlmaLinux, Rocky)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._fedora import FedoraCoreOS
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._ubuntu import newest_version

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
SAMPLES = os.path.join(ROOT, 'tests', 'data', 'vendor_samples')
KEYS = os.path.join(SAMPLES, 'keys')
needs_gpgv = pytest.mark.skipif(not shutil.which('gpgv'), reason='needs gpgv')


def sample(*parts):
    with open(os.path.join(SAMPLES, *parts), 'rb') as handle:
        return handle.read()


# (file, name, algorithm, first 20 hex digits, size, problems): one entry per real file.
CHECKSUM_FILES = [
    ('almalinux/CHECKSUM.almalinux10-aarch64', 'AlmaLinux-10-GenericCloud-10.2-20260526.0.aarch64.qcow2', 'sha256',
     '336c6861fe0ba9115af0', None, 0),
    ('almalinux/CHECKSUM.almalinux10-x86_64', 'AlmaLinux-10-GenericCloud-10.2-20260526.0.x86_64.qcow2', 'sha256',
     '47f2218668dd4776be14', None, 0),
    ('almalinux/CHECKSUM.almalinux9-aarch64', 'AlmaLinux-9-GenericCloud-9.8-20260526.aarch64.qcow2', 'sha256',
     'b5d883c5f84c68a9828f', None, 0),
    ('almalinux/CHECKSUM.almalinux9-x86_64', 'AlmaLinux-9-GenericCloud-9.8-20260526.x86_64.qcow2', 'sha256',
     'c397eed7023e92c84115', None, 0),
    ('almalinux/CHECKSUM.osism-almalinux9-x86_64', 'AlmaLinux-9-GenericCloud-latest.x86_64.qcow2', 'sha256',
     'c397eed7023e92c84115', None, 0),
    ('cirros/SHA256SUMS.0.6.3.excerpt', 'cirros-0.6.3-x86_64-disk.img', 'sha256', '7d6355852aeb6dbcd191', None, 0),
    ('debian/SHA512SUMS.bookworm-20250210-2019.reconstructed', 'debian-12-genericcloud-amd64-20250210-2019.qcow2',
     'sha512', 'a58d86525d75fd8e139a', None, 0),
    ('debian/SHA512SUMS.bullseye-20250303-2040.reconstructed', 'debian-11-genericcloud-amd64-20250303-2040.qcow2',
     'sha512', '3c08356d6860f987089c', None, 0),
    ('debian/SHA512SUMS.trixie-20250814-2204.reconstructed', 'debian-13-genericcloud-amd64-20250814-2204.qcow2',
     'sha512', 'd76122c87c940d1ab933', None, 0),
    ('debian/SHA512SUMS.trixie-daily-20260717-2542', 'debian-13-genericcloud-amd64-daily-20260717-2542.json',
     'sha512', '91fb969f4d18c6e8c011', None, 0),
    ('fedora/Fedora-Cloud-44-1.7-aarch64-CHECKSUM', 'Fedora-Cloud-Base-Generic-44-1.7.aarch64.qcow2', 'sha256',
     '55c60a3b80d3616a0870', 528154624, 0),
    ('flatcar/flatcar_production_openstack_image.img.bz2.DIGESTS', 'flatcar_production_openstack_image.img.bz2',
     'sha512', None, None, 0),
    ('flatcar/flatcar_production_openstack_image.img.bz2.DIGESTS.asc', 'flatcar_production_openstack_image.img.bz2',
     'sha512', None, None, 0),
    ('rocky/CHECKSUM.10.0-aarch64', 'Rocky-10-GenericCloud-Base-10.0-20250609.1.aarch64.qcow2', 'sha256',
     '326264421955473a3576', 468189184, 0),
    ('rocky/CHECKSUM.10.0-x86_64', 'Rocky-10-GenericCloud-Base-10.0-20250609.1.x86_64.qcow2', 'sha256',
     '20e771c654724e002c32', 520355840, 0),
    ('rocky/CHECKSUM.10.1-aarch64', 'Rocky-10-GenericCloud-Base-10.1-20251116.0.aarch64.qcow2', 'sha256',
     'abc0023cf8fb41553213', 507248640, 0),
    ('rocky/CHECKSUM.10.1-x86_64', 'Rocky-10-GenericCloud-Base-10.1-20251116.0.x86_64.qcow2', 'sha256',
     '28628abf08a134c6f9e1', 575406080, 0),
    # Size lines without "#" and a name listed twice (same digest and size): real Rocky 8.7.
    ('rocky/CHECKSUM.8.7-x86_64', 'Rocky-8-GenericCloud-Base-8.7-20221122.0.x86_64.qcow2', 'sha256',
     '398c3a9c5dceea0c1dd5', 1660747776, 0),
    # One name listed twice with two sizes (and one digest): real Rocky 8.7 aarch64 ISO CHECKSUM.
    ('rocky/CHECKSUM.8.7-aarch64-isos', 'Rocky-8.7-aarch64-minimal.iso', 'sha256', 'e37dbe00e2388409869e', None, 1),
    # Size lines without "#": real Rocky 9.0 and 9.1.
    ('rocky/CHECKSUM.9.0-x86_64-GenericCloud', 'Rocky-9-GenericCloud-9.0-20220706.0.x86_64.qcow2', 'sha256',
     '9305faad09707ab72ec8', 1577123840, 0),
    ('rocky/CHECKSUM.9.1-aarch64', 'Rocky-9-GenericCloud-Base-9.1-20221119.0.aarch64.qcow2', 'sha256',
     '8fd0a5dee9626bd2bad2', 801374208, 0),
    ('rocky/CHECKSUM.9.5-aarch64', 'Rocky-9-GenericCloud-Base-9.5-20241118.0.aarch64.qcow2', 'sha256',
     '5443bcc0507fadc3d7bd', 517931008, 0),
    ('rocky/CHECKSUM.9.5-x86_64', 'Rocky-9-GenericCloud-Base-9.5-20241118.0.x86_64.qcow2', 'sha256',
     '069493fdc807300a2217', 609812480, 0),
    ('rocky/CHECKSUM.9.6-aarch64', 'Rocky-9-GenericCloud-Base-9.6-20250531.0.aarch64.qcow2', 'sha256',
     '3776b2c17cc011c28e2a', 524943360, 0),
    ('rocky/CHECKSUM.9.6-x86_64', 'Rocky-9-GenericCloud-Base-9.6-20250531.0.x86_64.qcow2', 'sha256',
     '2c72815bb83cadccbede', 627507200, 0),
    ('rocky/CHECKSUM.9.7-aarch64', 'Rocky-9-GenericCloud-Base-9.7-20251123.2.aarch64.qcow2', 'sha256',
     'fc67069636d7c8afa5b7', 529268736, 0),
    ('rocky/CHECKSUM.9.7-x86_64', 'Rocky-9-GenericCloud-Base-9.7-20251123.2.x86_64.qcow2', 'sha256',
     '15d81d3434b298142b2f', 648806400, 0),
    ('rocky/Rocky-9-GenericCloud.latest.x86_64.qcow2.CHECKSUM', 'Rocky-9-GenericCloud.latest.x86_64.qcow2', 'sha256',
     '92c206cc6f790c615832', 645988352, 0),
    ('ubuntu/SHA256SUMS', 'ubuntu-24.04-server-cloudimg-amd64.img', 'sha256', 'd1940f7d69d343355e18', None, 0),
    ('ubuntu/SHA256SUMS.jammy-release.kubevirt', 'ubuntu-22.04-server-cloudimg-amd64.img', 'sha256',
     'de5e632e17b8965f2baf', None, 0),
    ('ubuntu/SHA256SUMS.noble-daily-20260705.osism', 'noble-server-cloudimg-amd64.img', 'sha256',
     'ffe6203da54deeb6db5d', None, 0),
]


def test_every_real_checksum_file_is_listed():
    listed = {path for path, *_rest in CHECKSUM_FILES}
    # Everything else is a checksum file: listings, JSON indexes and version files (version.txt, version-released).
    vendors = [v for v in os.listdir(SAMPLES) if v != 'keys' and os.path.isdir(os.path.join(SAMPLES, v))]
    on_disk = {'%s/%s' % (vendor, name) for vendor in vendors for name in os.listdir(os.path.join(SAMPLES, vendor))
               if not name.endswith(('.md', '.json', '.gpg', '.html', '.csv')) and not name.startswith('version')}
    assert on_disk == listed


@pytest.mark.parametrize('path, name, algorithm, prefix, size, problems', CHECKSUM_FILES,
                         ids=[c[0] for c in CHECKSUM_FILES])
def test_real_checksum_file_parses(path, name, algorithm, prefix, size, problems):
    entries = _checksums.parse(sample(*path.split('/')), source=path)
    assert len(entries.problems) == problems, entries.warnings
    entry = _checksums.select(entries, name, algorithm, source=path)
    assert entry.size == size
    if prefix:
        assert entry.hexdigest.startswith(prefix)


def test_rocky_8_7_iso_with_two_sizes_warns_but_keeps_the_digest():
    entries = _checksums.parse(sample('rocky', 'CHECKSUM.8.7-aarch64-isos'), source='8.7')
    assert entries.warnings == ["8.7: conflicting sizes for 'Rocky-8.7-aarch64-minimal.iso' (833988608, 1988419584); "
                                'the line is ignored']


@pytest.mark.parametrize('cls, release, arch, path, version', [
    (Rocky, '9', 'x86_64', 'rocky/CHECKSUM.9.7-x86_64', '9.7-20251123.2'),
    (Rocky, '9', 'aarch64', 'rocky/CHECKSUM.9.1-aarch64', '9.1-20221119.0'),
    (Rocky, '10', 'x86_64', 'rocky/CHECKSUM.10.1-x86_64', '10.1-20251116.0'),
    (Rocky, '10', 'aarch64', 'rocky/CHECKSUM.10.1-aarch64', '10.1-20251116.0'),
    (AlmaLinux, '9', 'x86_64', 'almalinux/CHECKSUM.almalinux9-x86_64', '9.8-20260526'),
    (AlmaLinux, '10', 'aarch64', 'almalinux/CHECKSUM.almalinux10-aarch64', '10.2-20260526.0'),
])
def test_real_directory_checksums_give_the_newest_build(cls, release, arch, path, version):
    ctx = Context(None)
    source = cls(release, arch)
    candidate = source.newest(ctx, Response(source.entry_url(), 200, sample(*path.split('/'))))
    assert candidate['version'] == version and not ctx.warnings
    assert '/%s/' % version.split('-')[0] in source.image_source(candidate['filename'], version)


@needs_gpgv
def test_real_fedora_clearsigned_checksum_verifies():
    fingerprint, body = verify_clearsigned(os.path.join(SAMPLES, 'fedora', 'Fedora-Cloud-44-1.7-aarch64-CHECKSUM'),
                                           os.path.join(KEYS, 'fedora.gpg'), fedora_pins()['44'])
    assert fingerprint == '36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6'
    entry = _checksums.find(body, 'Fedora-Cloud-Base-Generic-44-1.7.aarch64.qcow2')
    assert entry.hexdigest.startswith('55c60a3b80d3616a0870')
    # The Fedora 46 key alone does not make a 44 signature pass.
    with pytest.raises(Exception, match='NO_PUBKEY|not in the trusted list'):
        verify_clearsigned(os.path.join(SAMPLES, 'fedora', 'Fedora-Cloud-44-1.7-aarch64-CHECKSUM'),
                           os.path.join(KEYS, 'RPM-GPG-KEY-fedora-46-primary'), fedora_pins()['46'])


@needs_gpgv
def test_real_ubuntu_detached_signature_verifies(tmp_path):
    pins = role_keys('ubuntu')['*']
    fingerprint = verify_detached(os.path.join(SAMPLES, 'ubuntu', 'SHA256SUMS'),
                                  os.path.join(SAMPLES, 'ubuntu', 'SHA256SUMS.gpg'),
                                  os.path.join(KEYS, 'ubuntu-cloudimage-keyring.asc'), pins)
    assert fingerprint == 'D2EB44626FDDC30B513D5BB71A5D6C4C7DB87C81'
    altered = tmp_path / 'SHA256SUMS'
    altered.write_bytes(sample('ubuntu', 'SHA256SUMS').replace(b'd1940f7d', b'd1940f7e'))
    with pytest.raises(Exception, match='BADSIG'):
        verify_detached(str(altered), os.path.join(SAMPLES, 'ubuntu', 'SHA256SUMS.gpg'),
                        os.path.join(KEYS, 'ubuntu-cloudimage-keyring.asc'), pins)


@pytest.mark.parametrize('stream, arch, version, digest', [
    ('stable', 'x86_64', '44.20260707.3.1', '7e6dd402f2aeae95'),
    ('stable', 'aarch64', '44.20260707.3.1', 'b0e3985f99c5f2ae'),
    ('testing', 'x86_64', '44.20260720.2.1', 'bae79f1774324c20'),
    ('next', 'aarch64', '44.20260720.1.1', '781fbdb00ea0fe20'),
])
def test_real_fcos_streams_give_the_build(stream, arch, version, digest):
    source = FedoraCoreOS(stream, arch)
    candidate = source.newest(Context(None), Response(source.entry_url(), 200, sample('fcos', stream + '.json')))
    assert candidate['version'] == version and candidate['major'] == '44'
    assert candidate['build_date'] == '%s-%s-%s' % (version[3:7], version[7:9], version[9:11])
    assert candidate['location'] == ('https://builds.coreos.fedoraproject.org/prod/streams/%s/builds/%s/%s/'
                                     'fedora-coreos-%s-openstack.%s.qcow2.xz' % (stream, version, arch, version, arch))
    assert candidate['signature'] == candidate['location'] + '.sig'
    assert candidate['hint'].startswith('sha256:' + digest)
    # The stream's major picks the pinned key from the role data; it is in the real fedora.gpg.
    pins = Context(None, signing_keys=role_keys('fedora_coreos')).pins(source, candidate['major'])
    assert pins == ['36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6'] and set(pins) <= keyring_fingerprints(
        os.path.join(KEYS, 'fedora.gpg'))
    assert candidate['compression'] == 'xz'


@pytest.mark.parametrize('formats, outcome', [
    (['qcow2.zst'], 'only as qcow2.zst, a format this collection does not read'),  # the zstd discussion
    (['qcow2.zst', 'qcow2'], 'none'),                                                # what is offered and read
    (['qcow2.gz', 'qcow2.xz'], 'xz'),
])
def test_fcos_takes_a_format_the_stream_offers_or_refuses_by_name(formats, outcome):
    """The real stable stream with its openstack formats renamed as Fedora CoreOS might publish them."""
    doc = json.loads(sample('fcos', 'stable.json'))
    artifact = doc['architectures']['x86_64']['artifacts']['openstack']
    (disk,) = artifact['formats'].values()
    artifact['formats'] = {name: disk for name in formats}
    source = FedoraCoreOS('stable')
    entry = Response(source.entry_url(), 200, json.dumps(doc).encode())
    if outcome in ('none', 'xz'):
        assert source.newest(Context(None), entry)['compression'] == outcome
    else:
        with pytest.raises(DiscoveryError, match=outcome):
            source.newest(Context(None), entry)


def test_real_2020_fcos_stream_is_read_and_its_major_has_no_pin():
    source = FedoraCoreOS('stable')
    stream = sample('fcos', 'stream-metadata-go-fixture-fcos-stream.json')
    candidate = source.newest(Context(None), Response(source.entry_url(), 200, stream))
    assert candidate['version'] == '33.20201201.3.0' and candidate['major'] == '33'
    with pytest.raises(DiscoveryError, match='no pinned signing key for 33'):
        Context(None, signing_keys=role_keys('fedora_coreos')).use_trust(source, candidate['major'])


# ---------------------------------------------------------------- pins of the role data

def role_keys(role):
    with open(os.path.join(ROOT, 'roles', role, 'defaults', 'main.yml'), encoding='utf-8') as handle:
        return yaml.safe_load(handle)['%s_signing_keys' % role]


def fedora_pins():
    return role_keys('fedora')


# role -> {version: real key file of the corpus}
PINNED = {
    'fedora': {str(n): 'RPM-GPG-KEY-fedora-%d-primary' % n for n in range(42, 48)},
    'fedora_coreos': {str(n): 'RPM-GPG-KEY-fedora-%d-primary' % n for n in range(43, 48)},
    'almalinux': {'9': 'RPM-GPG-KEY-AlmaLinux-9', '10': 'RPM-GPG-KEY-AlmaLinux-10'},
    'rocky': {'10': 'RPM-GPG-KEY-Rocky-10'},
    'ubuntu': {'*': 'ubuntu-cloudimage-keyring.asc'},
    'ubuntu_minimal': {'*': 'ubuntu-cloudimage-keyring.asc'},
    'flatcar': {'*': 'Flatcar_Image_Signing_Key.asc'},
}


def gpg_primary_fingerprints(path):
    """Primary key fingerprints by GnuPG itself (an implementation independent of ours)."""
    home = os.path.join(os.path.dirname(path), 'gnupg')
    os.makedirs(home, mode=0o700, exist_ok=True)
    out = subprocess.run(['gpg', '--homedir', home, '--show-keys', '--with-colons', path], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return {out[i + 1].split(':')[9] for i, line in enumerate(out) if line.startswith('pub:')}


@pytest.mark.parametrize('role', sorted(PINNED))
def test_every_pinned_fingerprint_is_a_real_vendor_key(role, tmp_path):
    keys = role_keys(role)
    assert set(keys) == set(PINNED[role])
    for version, pins in keys.items():
        assert len(pins) == 1
        real = os.path.join(KEYS, PINNED[role][version])
        assert pins[0] in keyring_fingerprints(real), (role, version)
        if shutil.which('gpg'):
            copy = tmp_path / os.path.basename(real)
            shutil.copyfile(real, copy)
            assert gpg_primary_fingerprints(str(copy)) == {pins[0]}, (role, version)


def test_the_cached_fedora_keyring_of_the_corpus_lacks_46_so_it_would_be_fetched_again():
    fedora_gpg = keyring_fingerprints(os.path.join(KEYS, 'fedora.gpg'))
    assert {fedora_pins()[str(n)][0] for n in range(42, 46)} <= fedora_gpg
    assert fedora_pins()['46'][0] not in fedora_gpg   # Context.vendor_keyring: no pinned key -> fetch again


# ---------------------------------------------------------------- end-of-support floors of the role data

def role_defaults(role):
    with open(os.path.join(ROOT, 'roles', role, 'defaults', 'main.yml'), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def vendor_dates(*parts, key):
    """``{release: eol}`` of a vendor CSV of the corpus (ubuntu.csv's version is ``26.04 LTS``)."""
    rows = csv.DictReader(io.StringIO(sample(*parts).decode()))
    return {row[key].split()[0]: row['eol'] for row in rows}


def floors():
    """``(role, release, end_of_support)`` for every dated release of the Ubuntu and Fedora roles."""
    for role in ('ubuntu', 'ubuntu_minimal'):
        for item in role_defaults(role)['%s_releases' % role]:
            yield role, item['release'], item['end_of_support']
    for item in role_defaults('fedora')['fedora_releases']:
        for release, date in (item.get('end_of_support_by_release') or {}).items():
            yield 'fedora', release, date


def fedora_dates():
    """``{release: eol}`` of endoflife.date's Fedora page (its YAML front matter, Fedora's schedule dates)."""
    front = sample('fedora', 'endoflife-date-fedora.md').decode().split('---\n')[1]
    return {str(item['releaseCycle']): str(item['eol']) for item in yaml.safe_load(front)['releases']}


def test_no_end_of_support_floor_is_later_than_the_vendors_date():
    ubuntu = vendor_dates('ubuntu', 'distro-info-ubuntu.csv', key='version')
    fedora = fedora_dates()
    checked = []
    for role, release, date in floors():
        vendor = (fedora if role == 'fedora' else ubuntu).get(release)
        if vendor:
            checked.append((role, release))
            assert date <= vendor, '%s %s: end_of_support %s is later than the vendor\'s %s' % (role, release, date, vendor)
    # Every Ubuntu release of the data is in distro-info; every Fedora release of the data is in the
    # schedule copy but those newer than its newest (45: released after that copy, an unverified floor).
    assert {('ubuntu', '26.04'), ('ubuntu_minimal', '22.04'), ('fedora', '43'), ('fedora', '44')} <= set(checked)
    unchecked = {release for role, release, _date in floors() if role == 'fedora' and (role, release) not in checked}
    assert all(int(release) > max(map(int, fedora)) for release in unchecked), unchecked
    assert ubuntu['26.04'] == '2031-05-29' and fedora['43'] == '2026-12-09' and fedora['44'] == '2027-06-02'


def test_an_old_ubuntu_release_without_disk_images_is_its_end_of_life():
    """The real stream keeps 10.10 (tar.gz items only, "supported": false): end of life, not a missing build."""
    doc = json.loads(sample('ubuntu', 'released-download-2024-08-22.json'))
    with pytest.raises(EndOfLife, match=r'Ubuntu 10\.10 has reached its end of life on 2012-04-10') as caught:
        newest_version(doc, '10.10', 'amd64', 'stream')
    assert caught.value.date == vendor_dates('ubuntu', 'distro-info-ubuntu.csv', key='version')['10.10']


@pytest.mark.skipif(not shutil.which('gpg'), reason='needs gpg')
def test_key_expiries_of_the_real_flatcar_key_agree_with_gnupg(tmp_path):
    """The expiry that lets an old good signature pass is read as GnuPG reads it: the current subkey ends 2027-03-08."""
    path = tmp_path / 'Flatcar_Image_Signing_Key.asc'
    shutil.copyfile(os.path.join(KEYS, 'Flatcar_Image_Signing_Key.asc'), path)
    home = tmp_path / 'gnupg'
    home.mkdir(mode=0o700)
    out = subprocess.run(['gpg', '--homedir', str(home), '--show-keys', '--with-colons', '--with-subkey-fingerprints',
                          str(path)], capture_output=True, text=True, check=True).stdout.splitlines()
    gnupg = {out[i + 1].split(':')[9]: int(line.split(':')[6]) if line.split(':')[6] else None
             for i, line in enumerate(out) if line.startswith(('pub:', 'sub:'))}
    ours = key_expiries(dearmor(path.read_bytes()))
    assert ours == gnupg and len(ours) == 10
    assert max(value for value in ours.values() if value) == 1804528442  # 2027-03-08 UTC
