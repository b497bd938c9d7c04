"""Each vendor's tree has the real names, grammars and index documents (reference/upstreams.md)."""

from __future__ import annotations

import base64
import bz2
import hashlib
import json
import lzma
import os
import re

import pytest

from mirror_helpers import bsd_sums, clearsigned_body, gnu_sums, qemu_info, read

EXPECTED = {
    ('ubuntu', '26.04'), ('ubuntu', '24.04'), ('ubuntu', '22.04'),
    ('ubuntu-minimal', '26.04'), ('ubuntu-minimal', '24.04'), ('ubuntu-minimal', '22.04'),
    ('debian', '13'), ('debian', '12'), ('debian', '11'), ('rocky', '9'), ('rocky', '10'), ('almalinux', '9'),
    ('almalinux', '10'), ('fedora', '43'), ('fedora', '44'), ('fedora-coreos', 'stable'), ('flatcar', 'stable'),
    ('cirros', '0.6'), ('windows', '2022'), ('windows', '2025')}


def local(mirror, url):
    """Canonical URL -> file under www (what the server would send, redirects aside)."""
    return os.path.join(mirror.www, url.split('://', 1)[1].replace('download.fedoraproject.org', 'dl.fedoraproject.org', 1))


def test_catalog_covers_every_release_with_newest_build_of_today(base_mirror):
    releases = base_mirror.releases
    assert set(releases) == EXPECTED
    for info in releases.values():
        assert info.build_date == '2026-11-16'
        assert os.path.isfile(info.local_path)
        assert info.image_url.startswith('https://')
        assert hashlib.sha256(read(info.local_path, 'rb')).hexdigest() == info.sha256
    assert len({info.sha256 for info in releases.values()}) == len(releases), 'every build must have distinct bytes'
    catalog = json.loads(read(os.path.join(base_mirror.root, 'catalog.json')))
    assert {(entry['distro'], entry['release']) for entry in catalog} == EXPECTED


def test_every_image_is_a_real_qcow2(base_mirror):
    for info in base_mirror.releases.values():
        path = info.local_path
        if info.compression:
            path = os.path.join(base_mirror.root, 'work', info.file_name + '.qcow2')
            opener = lzma.open if info.compression == 'xz' else bz2.open
            with opener(info.local_path) as source, open(path, 'wb') as target:
                data = source.read()
                target.write(data)
            assert hashlib.sha256(data).hexdigest() == info.uncompressed_sha256
        details = qemu_info(path)
        assert details['format'] == 'qcow2'
        assert details['virtual-size'] == info.virtual_size
        assert 'backing-filename' not in details
        assert 'data-file' not in details['format-specific']['data']


@pytest.mark.parametrize('distro', ['ubuntu', 'ubuntu-minimal'])
@pytest.mark.parametrize('version, codename', [('26.04', 'resolute'), ('24.04', 'noble'), ('22.04', 'jammy')])
def test_ubuntu_releases_tree(base_mirror, distro, version, codename):
    info = base_mirror.releases[distro, version]
    flavor = 'server' if distro == 'ubuntu' else 'minimal'
    tree = 'releases' if distro == 'ubuntu' else 'minimal/releases'
    assert info.file_name == 'ubuntu-%s-%s-cloudimg-amd64.img' % (version, flavor)
    assert info.image_url == 'https://cloud-images.ubuntu.com/%s/%s/release-%s/%s' % (tree, codename, info.version, info.file_name)
    assert re.fullmatch(r'\d{8}(\.\d+)?', info.version)
    root = os.path.join(base_mirror.www, 'cloud-images.ubuntu.com', tree)
    assert os.readlink(os.path.join(root, codename, 'release')) == 'release-' + info.version
    assert sorted(os.listdir(os.path.join(root, codename))) == ['release'] + ['release-%s' % b['version'] for b in base_mirror.builds(distro, version)]
    sums_text = read(local(base_mirror, info.checksum_url))
    sums = gnu_sums(sums_text)
    assert len(sums) > 1 and all(marker == ' *' for _hex, marker in sums.values())
    assert sums[info.file_name][0] == info.sha256
    hashes = [line.split()[0] for line in sums_text.splitlines()]
    names = [line.split('*', 1)[1] for line in sums_text.splitlines()]
    assert (hashes == sorted(hashes)) if codename in ('noble', 'resolute') else (names == sorted(names))
    assert 'serial=%s\n' % info.version in read(local(base_mirror, info.extra['build_info_url']))
    assert os.path.samefile(local(base_mirror, info.pointer_url), info.local_path)

    products = json.loads(read(local(base_mirror, info.index_url)))
    assert products['format'] == 'products:1.0' and products['datatype'] == 'image-downloads'
    assert products['content_id'] == 'com.ubuntu.cloud:released:download'
    product = products['products']['com.ubuntu.cloud:%s:%s:amd64' % (flavor, version)]
    assert product['release'] == codename and product['version'] == version and product['arch'] == 'amd64'
    assert max(product['versions']) == info.version
    item = product['versions'][info.version]['items']['disk1.img']
    assert (item['sha256'], item['md5'], item['size']) == (info.sha256, info.md5, info.size)
    mirror_root = 'https://cloud-images.ubuntu.com/%s/' % tree
    assert os.path.samefile(local(base_mirror, mirror_root + item['path']), info.local_path)
    index = json.loads(read(os.path.join(root, 'streams', 'v1', 'index.json')))
    assert index['index']['com.ubuntu.cloud:released:download']['path'] == 'streams/v1/com.ubuntu.cloud:released:download.json'


@pytest.mark.parametrize('version, codename', [('13', 'trixie'), ('12', 'bookworm'), ('11', 'bullseye')])
def test_debian_tree(base_mirror, version, codename):
    info = base_mirror.releases['debian', version]
    assert re.fullmatch(r'20261116-\d+', info.version)
    assert info.file_name == 'debian-%s-genericcloud-amd64-%s.qcow2' % (version, info.version)
    assert info.pointer_url.endswith('/%s/latest/debian-%s-genericcloud-amd64.qcow2' % (codename, version))
    release_dir = os.path.join(base_mirror.www, 'cloud.debian.org', 'images', 'cloud', codename)
    dated = [name for name in os.listdir(release_dir) if name != 'latest']
    assert len(dated) == 3 and all(re.fullmatch(r'\d{8}-\d+', name) for name in dated)
    sums = gnu_sums(read(local(base_mirror, info.checksum_url)))
    assert sums[info.file_name] == (info.sha512, '  ')
    latest_sums = gnu_sums(read(os.path.join(release_dir, 'latest', 'SHA512SUMS')))
    assert latest_sums['debian-%s-genericcloud-amd64.qcow2' % version][0] == info.sha512
    assert not any(info.version in name for name in latest_sums), 'latest/ drops the date stamp'

    doc = json.loads(read(local(base_mirror, info.index_url)))
    assert doc['kind'] == 'List' and doc['apiVersion'] == 'v1'
    kinds = [item['kind'] for item in doc['items']]
    assert kinds[0] == 'Build' and 'Upload' in kinds
    assert doc['items'][0]['data']['info']['version'] == info.version
    assert doc['items'][0]['data']['info']['release'] == codename
    upload = next(item for item in doc['items'] if item['kind'] == 'Upload'
                  and item['metadata']['labels']['upload.cloud.debian.org/image-format'] == 'qcow2')
    assert upload['data']['ref'] == '%s/%s/%s' % (codename, info.version, info.file_name)
    digest = upload['metadata']['annotations']['cloud.debian.org/digest']
    assert digest.startswith('sha512:') and not digest.endswith('=')
    encoded = digest[len('sha512:'):]
    assert base64.b64decode(encoded + '=' * (-len(encoded) % 4)).hex() == info.sha512
    assert os.path.isdir(os.path.join(base_mirror.www, 'cdimage.debian.org', 'cdimage', 'cloud', codename, 'latest'))


@pytest.mark.parametrize('major', ['9', '10'])
def test_rocky_tree(base_mirror, major):
    info = base_mirror.releases['rocky', major]
    assert re.fullmatch(r'%s\.\d+-20261116\.\d' % major, info.version)
    assert info.file_name == 'Rocky-%s-GenericCloud-Base-%s.x86_64.qcow2' % (major, info.version)
    assert info.pointer_url.endswith('/pub/rocky/%s/images/x86_64/Rocky-%s-GenericCloud-Base.latest.x86_64.qcow2' % (major, major))
    sidecar = bsd_sums(read(local(base_mirror, info.checksum_url)))
    assert sidecar == {info.file_name: (info.sha256, info.size)}
    latest_sidecar = bsd_sums(read(local(base_mirror, info.pointer_url + '.CHECKSUM')))
    assert list(latest_sidecar.values()) == [(info.sha256, info.size)]
    whole = bsd_sums(read(local(base_mirror, info.extra['dir_checksum_url'])))
    assert whole[info.file_name][0] == whole[os.path.basename(info.pointer_url)][0] == info.sha256
    assert any('-LVM-' in name for name in whole)
    if major == '9':
        assert whole['Rocky-9-GenericCloud.latest.x86_64.qcow2'][0] == info.sha256
    # The build-history bump put the previous minor into the vault.
    old_minor = '%s.%d' % (major, int(info.extra['minor'].split('.')[1]) - 1)
    assert os.listdir(os.path.join(base_mirror.www, 'dl.rockylinux.org', 'vault', 'rocky', old_minor, 'images', 'x86_64'))


@pytest.mark.parametrize('major', ['9', '10'])
def test_almalinux_tree(base_mirror, major):
    info = base_mirror.releases['almalinux', major]
    grammar = r'9\.\d+-20261116' if major == '9' else r'10\.\d+-20261116\.\d'
    assert re.fullmatch(grammar, info.version)
    assert info.file_name == 'AlmaLinux-%s-GenericCloud-%s.x86_64.qcow2' % (major, info.version)
    sums = gnu_sums(read(local(base_mirror, info.checksum_url)))
    assert sums[info.file_name] == (info.sha256, '  ')
    assert sums['AlmaLinux-%s-GenericCloud-latest.x86_64.qcow2' % major][0] == info.sha256
    assert read(local(base_mirror, info.checksum_signature_url)).startswith('-----BEGIN PGP SIGNATURE-----')


@pytest.mark.parametrize('version', ['43', '44'])
def test_fedora_tree(base_mirror, version):
    info = base_mirror.releases['fedora', version]
    assert re.fullmatch(r'%s-1\.\d+' % version, info.version)
    assert info.image_url.startswith('https://download.fedoraproject.org/pub/fedora/linux/releases/%s/Cloud/x86_64/images/' % version)
    assert info.file_name == 'Fedora-Cloud-Base-Generic-%s.x86_64.qcow2' % info.version
    assert info.checksum_url.endswith('/Fedora-Cloud-%s-x86_64-CHECKSUM' % info.version)
    sums = bsd_sums(clearsigned_body(read(local(base_mirror, info.checksum_url))))
    assert sums[info.file_name] == (info.sha256, info.size)
    entries = json.loads(read(local(base_mirror, info.index_url)))
    assert isinstance(entries, list)
    mine = [entry for entry in entries if entry['version'] == version and entry['subvariant'] == 'Cloud_Base'
            and entry['arch'] == 'x86_64']
    assert mine == [{'version': version, 'arch': 'x86_64', 'link': info.image_url, 'variant': 'Cloud', 'subvariant': 'Cloud_Base',
                     'sha256': info.sha256, 'size': str(info.size)}]
    assert any(entry['version'].endswith(' Beta') for entry in entries)


def test_fcos_stream(base_mirror):
    info = base_mirror.releases['fedora-coreos', 'stable']
    assert re.fullmatch(r'44\.20261116\.3\.\d', info.version)
    stream = json.loads(read(local(base_mirror, info.index_url)))
    assert info.index_url == 'https://builds.coreos.fedoraproject.org/streams/stable.json'
    assert stream['stream'] == 'stable' and 'last-modified' in stream['metadata']
    artifact = stream['architectures']['x86_64']['artifacts']['openstack']
    assert artifact['release'] == info.version
    disk = artifact['formats']['qcow2.xz']['disk']
    assert disk == {'location': info.image_url, 'signature': info.image_url + '.sig', 'sha256': info.sha256,
                    'uncompressed-sha256': info.uncompressed_sha256}
    assert info.image_url == ('https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/%s/x86_64/'
                              'fedora-coreos-%s-openstack.x86_64.qcow2.xz' % (info.version, info.version))
    assert read(info.local_path, 'rb').startswith(b'\xfd7zXZ\x00')


def test_flatcar_tree(base_mirror):
    info = base_mirror.releases['flatcar', 'stable']
    assert re.fullmatch(r'\d{4}\.\d+\.\d+', info.version)
    version_txt = read(local(base_mirror, info.index_url))
    assert info.index_url.endswith('/amd64-usr/current/version.txt')
    assert 'FLATCAR_VERSION=%s\n' % info.version in version_txt and 'FLATCAR_BUILD=' in version_txt
    assert os.readlink(os.path.join(base_mirror.www, 'stable.release.flatcar-linux.net', 'amd64-usr', 'current')) == info.version
    digests = read(local(base_mirror, info.checksum_url)).splitlines()
    assert digests[0::2] == ['# MD5 HASH', '# SHA1 HASH', '# SHA512 HASH']
    assert digests[1] == '%s  %s' % (info.md5, info.file_name)
    assert digests[5] == '%s  %s' % (info.sha512, info.file_name)
    raw = read(local(base_mirror, info.extra['uncompressed_url']), 'rb')
    assert bz2.decompress(read(info.local_path, 'rb')) == raw
    assert clearsigned_body(read(local(base_mirror, info.checksum_signature_url))) == '\n'.join(digests) + '\n'


def test_cirros_tree(base_mirror):
    info = base_mirror.releases['cirros', '0.6']
    assert read(local(base_mirror, info.index_url)) == info.version + '\n'
    assert info.image_url == 'https://download.cirros-cloud.net/%s/cirros-%s-x86_64-disk.img' % (info.version, info.version)
    assert gnu_sums(read(local(base_mirror, info.checksum_url)))[info.file_name] == (info.sha256, '  ')
    assert gnu_sums(read(local(base_mirror, info.extra['md5sums_url'])))[info.file_name] == (info.md5, '  ')
    assert info.virtual_size == 117440512


@pytest.mark.parametrize('version', ['2022', '2025'])
def test_windows_provider_artifacts(base_mirror, version):
    info = base_mirror.releases['windows', version]
    assert info.image_url == 'https://artifacts.provider.test/windows/%s/windows-server-%s-datacenter-gui-20261116.qcow2' % (version, version)
    sums = gnu_sums(read(local(base_mirror, info.checksum_url)))
    assert sums[info.file_name][0] == sums[os.path.basename(info.pointer_url)][0] == info.sha256
    assert info.checksum_signature_url is None and info.image_signature_url is None


def test_last_modified_is_simulated_publish_time(base_mirror):
    info = base_mirror.releases['ubuntu', '24.04']
    assert info.published == '2026-11-16T16:27:00Z'
    assert int(os.path.getmtime(info.local_path)) == 1794846420
