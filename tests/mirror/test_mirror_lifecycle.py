"""advance / eol / content faults, and the CLI."""

from __future__ import annotations

import bz2
import hashlib
import json
import lzma
import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from mirror_helpers import bsd_sums, gnu_sums, gpgv, qemu_info, read

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools')


def local(mirror, url):
    return os.path.join(mirror.www, url.split('://', 1)[1].replace('download.fedoraproject.org', 'dl.fedoraproject.org', 1))


def test_advance_publishes_a_new_build_everywhere_and_moves_pointers(mirror):
    before = mirror.releases
    mirror.advance(bump=('rocky', 'almalinux', 'flatcar'))
    after = mirror.releases
    assert str(mirror.today) == '2026-11-17'
    assert set(before) == set(after)
    for key, info in after.items():
        assert info.version != before[key].version, key
        assert info.sha256 != before[key].sha256, key
        assert info.build_date == '2026-11-17', key
        if info.pointer_url:
            assert os.path.samefile(local(mirror, info.pointer_url), info.local_path), key
    assert after['ubuntu', '24.04'].version == '20261117'
    assert after['fedora', '44'].version == '44-1.8'
    assert after['fedora-coreos', 'stable'].version == '44.20261117.3.0'
    assert after['cirros', '0.6'].version == '0.6.4'
    assert after['rocky', '9'].version == '9.7-20261117.0' and after['almalinux', '10'].version == '10.2-20261117.0'
    assert after['flatcar', 'stable'].version.endswith('.2.0')
    debian = [int(after['debian', r].version.split('-')[1]) for r in ('13', '12', '11')]
    assert min(debian) > max(int(before['debian', r].version.split('-')[1]) for r in ('13', '12', '11'))
    # Indexes follow: streams, stable.json, version files, CHECKSUM of the minor that moved on.
    products = json.loads(read(local(mirror, after['ubuntu', '24.04'].index_url)))
    assert max(products['products']['com.ubuntu.cloud:server:24.04:amd64']['versions']) == '20261117'
    stream = json.loads(read(local(mirror, after['fedora-coreos', 'stable'].index_url)))
    assert stream['architectures']['x86_64']['artifacts']['openstack']['release'] == '44.20261117.3.0'
    assert read(local(mirror, after['cirros', '0.6'].index_url)) == '0.6.4\n'
    assert os.path.isdir(os.path.join(mirror.www, 'dl.rockylinux.org', 'vault', 'rocky', '9.6', 'images', 'x86_64'))
    assert os.path.isdir(os.path.join(mirror.www, 'vault.almalinux.org', '9.6', 'cloud', 'x86_64', 'images'))
    # Fedora keeps exactly one compose per release tree; retention prunes old Ubuntu serials.
    fedora_dir = os.path.dirname(after['fedora', '44'].local_path)
    assert sorted(os.listdir(fedora_dir)) == [
        'Fedora-Cloud-44-1.8-x86_64-CHECKSUM', 'Fedora-Cloud-Base-Generic-44-1.8.x86_64.qcow2', 'Fedora-Cloud-Base-UEFI-UKI-44-1.8.x86_64.qcow2']
    for _i in range(2):
        mirror.advance()
    assert len(mirror.builds('ubuntu', '24.04')) == 4
    assert len(os.listdir(os.path.dirname(os.path.dirname(after['ubuntu', '24.04'].local_path)))) == 5  # 4 + release/


def test_respin_same_day(mirror):
    mirror.advance(days=0, only=[('ubuntu', '24.04'), ('rocky', '9'), ('fedora-coreos', 'stable')])
    assert mirror.releases['ubuntu', '24.04'].version == '20261116.1'
    assert mirror.releases['rocky', '9'].version.endswith('-20261116.1')
    assert mirror.releases['fedora-coreos', 'stable'].version == '44.20261116.3.1'
    assert mirror.releases['debian', '12'].build_date == '2026-11-16'
    with pytest.raises(ValueError):
        mirror.advance(days=0, only=[('almalinux', '9')])


def test_eol_removes_release_from_tree_and_indexes(mirror):
    debian11 = mirror.releases['debian', '11']
    fedora43 = mirror.releases['fedora', '43']
    ubuntu22 = mirror.releases['ubuntu', '22.04']
    mirror.eol('debian', '11').eol('fedora', '43').eol('ubuntu', '22.04').eol('rocky', '9')
    releases = mirror.releases
    assert ('debian', '11') not in releases and ('fedora', '43') not in releases and ('rocky', '9') not in releases
    assert not os.path.exists(os.path.join(mirror.www, 'cloud.debian.org', 'images', 'cloud', 'bullseye'))
    assert not os.path.exists(debian11.local_path)
    assert not os.path.exists(os.path.join(mirror.www, 'dl.fedoraproject.org', 'pub', 'fedora', 'linux', 'releases', '43'))
    assert os.path.exists(os.path.join(mirror.www, 'archives.fedoraproject.org', 'pub', 'archive', 'fedora', 'linux', 'releases', '43',
                                       'Cloud', 'x86_64', 'images', fedora43.file_name))
    assert '"43"' not in read(local(mirror, releases['fedora', '44'].index_url))
    # Ubuntu keeps an end-of-life product in its streams with its last build, "supported": false
    # (as the real streams do for 10.04 ... 20.10).
    products = json.loads(read(local(mirror, releases['ubuntu', '24.04'].index_url)))['products']
    ended = products['com.ubuntu.cloud:server:22.04:amd64']
    assert ended['supported'] is False and ended['support_eol'] == str(mirror.today)
    assert list(ended['versions']) == [ubuntu22.version] and os.path.exists(ubuntu22.local_path)
    assert products['com.ubuntu.cloud:server:24.04:amd64']['supported'] is True
    assert ('ubuntu', '22.04') not in releases and len(os.listdir(os.path.dirname(os.path.dirname(ubuntu22.local_path)))) == 2
    assert not os.path.exists(os.path.join(mirror.www, 'dl.rockylinux.org', 'pub', 'rocky', '9'))
    mirror.advance()
    assert ('debian', '11') not in mirror.releases


def test_backing_file_image_is_checksummed_and_signed(mirror):
    info = mirror.inject('ubuntu', '24.04', 'backing_file', backing='/etc/hostname')
    details = qemu_info(info.local_path)
    assert details['format'] == 'qcow2' and details['backing-filename'] == '/etc/hostname'
    sums = gnu_sums(read(local(mirror, info.checksum_url)))
    assert sums[info.file_name][0] == hashlib.sha256(read(info.local_path, 'rb')).hexdigest()
    assert gpgv(mirror.keyring.trusted_keyring, local(mirror, info.checksum_signature_url), local(mirror, info.checksum_url))
    assert info.faults == {'backing_file': {'backing': '/etc/hostname'}}
    products = json.loads(read(local(mirror, info.index_url)))
    assert products['products']['com.ubuntu.cloud:server:24.04:amd64']['versions'][info.version]['items']['disk1.img']['sha256'] == info.sha256


def test_data_file_image_through_aliases(mirror):
    info = mirror.inject('rocky', '9', 'data_file', data_file='/etc/hostname')
    details = qemu_info(info.local_path)
    assert details['format-specific']['data']['data-file'] == '/etc/hostname'
    assert os.path.samefile(local(mirror, info.pointer_url), info.local_path), '.latest. alias follows the poisoned file'
    assert bsd_sums(read(local(mirror, info.checksum_url)))[info.file_name][0] == info.sha256


def test_xz_decompression_bomb(mirror):
    info = mirror.inject('fedora-coreos', 'stable', 'decompression_bomb', expanded_size=128 << 20)
    assert info.size < 200000 and info.uncompressed_size == 128 << 20
    with lzma.open(info.local_path) as stream:
        head = stream.read(1 << 20)
        total = len(head)
        while True:
            chunk = stream.read(8 << 20)
            if not chunk:
                break
            total += len(chunk)
    assert head[:4] == b'QFI\xfb' and total == 128 << 20
    decoder = lzma.LZMADecompressor()
    assert len(decoder.decompress(read(info.local_path, 'rb'), max_length=64 << 20)) == 32 << 20, 'first stream alone is 32 MiB'
    stream = json.loads(read(local(mirror, info.index_url)))
    disk = stream['architectures']['x86_64']['artifacts']['openstack']['formats']['qcow2.xz']['disk']
    assert disk['sha256'] == info.sha256 and disk['uncompressed-sha256'] == info.uncompressed_sha256
    assert gpgv(mirror.keyring.trusted_keyring, info.local_path + '.sig', info.local_path)


def test_bz2_decompression_bomb(mirror):
    info = mirror.inject('flatcar', 'stable', 'decompression_bomb', expanded_size=64 << 20)
    with bz2.open(info.local_path) as stream:
        assert stream.read(4) == b'QFI\xfb'
        total = 4 + sum(len(chunk) for chunk in iter(lambda: stream.read(8 << 20), b''))
    assert total == 64 << 20
    digests = read(local(mirror, info.checksum_url))
    assert hashlib.sha512(read(info.local_path, 'rb')).hexdigest() in digests
    with pytest.raises(ValueError):
        mirror.inject('debian', '12', 'decompression_bomb')


@pytest.mark.parametrize('distro, release', [('ubuntu', '24.04'), ('debian', '12'), ('rocky', '10'), ('almalinux', '9'), ('fedora', '44'),
                                             ('flatcar', 'stable'), ('cirros', '0.6'), ('windows', '2025')])
def test_checksum_traversal_entry(mirror, distro, release):
    info = mirror.inject(distro, release, 'checksum_traversal')
    text = read(local(mirror, info.checksum_url))
    if text.startswith('-----BEGIN PGP SIGNED MESSAGE-----'):
        assert gpgv(mirror.keyring.trusted_keyring, local(mirror, info.checksum_url))
    assert '../../../../etc/cron.d/upstream-mirror-traversal' in text
    assert info.file_name in text


def test_tampered_image_keeps_original_checksums(mirror):
    before = mirror.releases['almalinux', '10']
    info = mirror.inject('almalinux', '10', 'tampered_image')
    actual = hashlib.sha256(read(info.local_path, 'rb')).hexdigest()
    assert actual != before.sha256
    assert gnu_sums(read(local(mirror, info.checksum_url)))[info.file_name][0] == before.sha256
    assert gpgv(mirror.keyring.trusted_keyring, local(mirror, info.checksum_signature_url), local(mirror, info.checksum_url))
    fcos = mirror.inject('fedora-coreos', 'stable', 'tampered_image')
    assert not gpgv(mirror.keyring.trusted_keyring, fcos.local_path + '.sig', fcos.local_path)


def test_unknown_fault_and_release(mirror):
    with pytest.raises(ValueError):
        mirror.inject('ubuntu', '24.04', 'gremlins')
    with pytest.raises(KeyError):
        mirror.inject('ubuntu', '18.04', 'bad_signature')


def test_new_releases_appear_later(tmp_path):
    """A release left out of build() (Ubuntu 26.04) or upcoming (Fedora 45) appears with advance()."""
    from upstream_mirror import Mirror  # pylint: disable=import-outside-toplevel
    with Mirror(tmp_path / 'm').build(without=[('ubuntu', '26.04')]) as mirror:
        assert ('ubuntu', '26.04') not in mirror.releases and ('fedora', '45') not in mirror.releases
        assert ('ubuntu-minimal', '26.04') in mirror.releases
        index = local(mirror, mirror.releases['ubuntu', '24.04'].index_url)
        assert 'com.ubuntu.cloud:server:26.04:amd64' not in json.loads(read(index))['products']
        mirror.advance(new_releases=[('ubuntu', '26.04'), ('fedora', '45')])
        ubuntu26, fedora45 = mirror.releases['ubuntu', '26.04'], mirror.releases['fedora', '45']
        assert ubuntu26.version == '20261117' and '/releases/resolute/release-20261117/' in ubuntu26.image_url
        product = json.loads(read(index))['products']['com.ubuntu.cloud:server:26.04:amd64']
        assert product['supported'] is True and product['support_eol'] == '2031-05-29'
        assert product['release_codename'] == 'Resolute Raccoon' and list(product['versions']) == ['20261117']
        listed = json.loads(read(local(mirror, fedora45.index_url)))
        assert [e['version'] for e in listed if e['subvariant'] == 'Cloud_Base' and e['arch'] == 'x86_64'] == [
            '46 Beta', '45', '44', '43']
        assert fedora45.file_name == 'Fedora-Cloud-Base-Generic-45-1.3.x86_64.qcow2'
        with pytest.raises(KeyError, match='already published'):
            mirror.advance(new_releases=[('fedora', '45')])


def test_new_debian_stable_and_new_majors_appear_in_the_vendors_release_lists(mirror):
    """The documents the collection announces from: the archive's dists/ (Debian<N>.<point>/ only for
    released versions, a codename directory also for testing) and the Rocky/AlmaLinux top directories."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel

    def names(server, host, path):
        page = requests.get(server.base_for(host) + path, timeout=10).text
        return re.findall(r'<a href="([^"?/.][^"?/]*/)">', page)

    lists = (('deb.debian.org', 'debian/dists/'), ('dl.rockylinux.org', 'pub/rocky/'), ('repo.almalinux.org', 'almalinux/'))
    assert ('debian', '14') not in mirror.releases and ('rocky', '11') not in mirror.releases
    with MirrorServer(mirror) as server:
        dists, rocky, alma = (names(server, host, path) for host, path in lists)
        assert [name for name in dists if name.startswith('Debian')] == ['Debian11.11/', 'Debian12.14/', 'Debian13.5/']
        assert {'forky/', 'testing/', 'stable/', 'trixie/', 'sid/'} <= set(dists)  # testing: no Debian14.x link
        assert rocky == alma == ['10/', '10.1/', '9/', '9.6/']
        mirror.advance(new_releases=[('debian', '14'), ('rocky', '11'), ('almalinux', '11')])
        dists, rocky, alma = (names(server, host, path) for host, path in lists)
        assert 'Debian14.0/' in dists and 'duke/' in dists
        stable = read(os.path.join(mirror.www, 'deb.debian.org', 'debian', 'dists', 'stable', 'Release'))
        assert 'Codename: forky' in stable.splitlines()
        assert rocky == alma == ['10/', '10.1/', '11/', '11.0/', '9/', '9.6/']
        debian14, rocky11 = mirror.releases['debian', '14'], mirror.releases['rocky', '11']
        assert '/images/cloud/forky/' in debian14.image_url
        assert debian14.file_name.startswith('debian-14-genericcloud-amd64-')
        assert rocky11.file_name.startswith('Rocky-11-GenericCloud-Base-11.0-')
        assert mirror.releases['almalinux', '11'].file_name.startswith('AlmaLinux-11-GenericCloud-11.0-')
        mirror.eol('debian', '11')  # moves to archive.debian.org: gone from dists/
        assert 'Debian11.11/' not in names(server, *lists[0]) and 'bullseye/' not in names(server, *lists[0])


def test_cli_build_advance_catalog(tmp_path):
    env = dict(os.environ, PYTHONPATH=TOOLS)
    root = str(tmp_path / 'cli')

    def run(*args):
        return subprocess.run([sys.executable, '-m', 'upstream_mirror'] + list(args), env=env, check=True,
                              stdout=subprocess.PIPE, universal_newlines=True).stdout

    try:
        assert 'build done' in run('build', root, '--today', '2026-05-04', '--without', 'ubuntu-minimal-26.04')
        assert ('ubuntu-minimal', '26.04') not in {(e['distro'], e['release']) for e in json.loads(run('catalog', root))}
        run('advance', root, '--days', '2', '--new-release', 'ubuntu-minimal-26.04')
        run('eol', root, 'debian', '11')
        catalog = json.loads(run('catalog', root))
    finally:
        subprocess.run(['gpgconf', '--homedir', os.path.join(root, 'gnupg'), '--kill', 'gpg-agent'], check=False)
    versions = {(entry['distro'], entry['release']): entry['version'] for entry in catalog}
    assert versions['ubuntu', '24.04'] == '20260506' and ('debian', '11') not in versions
    assert versions['ubuntu-minimal', '26.04'] == '20260506'


def test_cli_serve_prints_the_sync_settings_and_keeps_a_pid_file(mirror, tmp_path):
    """What a newcomer needs to point a sync at the mirror, and a pid to stop it by."""
    pid_file = tmp_path / 'mirror.pid'
    command = [sys.executable, '-m', 'upstream_mirror', 'serve', mirror.root, '--port', '0', '--pid-file', str(pid_file)]
    with subprocess.Popen(command, env=dict(os.environ, PYTHONPATH=TOOLS), stdout=subprocess.PIPE,
                          universal_newlines=True) as process:
        try:
            first = process.stdout.readline()
            assert process.stdout.readline().startswith('inventory settings')
            lines = []
            while not lines or lines[-1] != '}\n':
                lines.append(process.stdout.readline())
            settings = json.loads(''.join(lines))
            assert int(pid_file.read_text()) == process.pid and 'pid %d in %s' % (process.pid, pid_file) in first
            url = settings['image_sync_url_rewrites']['https://']
            assert first.startswith('serving %s on %s<vendor host>/' % (mirror.root, url))
            assert settings['image_sync_keyring'] == mirror.keyring.trusted_keyring
            assert settings['image_sync_trusted_fingerprints'] == [mirror.keyring.trusted_fingerprint]
            assert settings['image_sync_today'] == mirror.today.isoformat()
            windows = mirror.releases['windows', '2022'].image_url
            assert windows.startswith(settings['windows_artifacts_url'] + '/')
            assert requests.get(windows.replace('https://', url), timeout=10).status_code == 200
        finally:
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
            assert process.wait(timeout=30) == 0
    assert not pid_file.exists()


def test_rewritten_files_get_newer_mtime_so_validators_change(mirror):
    info = mirror.releases['ubuntu', '24.04']
    signature = local(mirror, info.checksum_signature_url)
    before = (os.path.getsize(signature), os.path.getmtime(signature))
    mirror.inject('ubuntu', '24.04', 'bad_signature', mode='tampered')
    assert os.path.getmtime(signature) > before[1]
    image_mtime = os.path.getmtime(info.local_path)
    mirror.inject('ubuntu', '24.04', 'tampered_image')
    assert os.path.getmtime(info.local_path) > image_mtime


def test_history_lists_every_published_build(base_mirror):
    for key in base_mirror.releases:
        history = base_mirror.history(*key)
        assert [info.version for info in history] == [build['version'] for build in base_mirror.builds(*key)]
        assert all(os.path.isfile(info.local_path) for info in history), key
        assert len({info.sha256 for info in history}) == len(history), key
    rocky = base_mirror.history('rocky', '9')
    assert '/vault/rocky/9.5/' in rocky[0].image_url and rocky[0].pointer_url is None


def test_next_clean_build_repairs_dir_wide_files(mirror):
    mirror.inject('almalinux', '9', 'bad_signature')
    info = mirror.releases['almalinux', '9']
    assert not gpgv(mirror.keyring.trusted_keyring, local(mirror, info.checksum_signature_url), local(mirror, info.checksum_url))
    mirror.advance()
    info = mirror.releases['almalinux', '9']
    assert gpgv(mirror.keyring.trusted_keyring, local(mirror, info.checksum_signature_url), local(mirror, info.checksum_url))
