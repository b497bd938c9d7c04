"""The mirror's bootable images: real containers, consistent digests, and a real boot under QEMU (TCG)."""

from __future__ import annotations

import bz2
import hashlib
import lzma
import shutil
import subprocess
import time

import pytest

from upstream_mirror import Mirror

from conftest import TODAY

NEEDS = ('qemu-img', 'gpg', 'mcopy', 'syslinux', 'mkfs.vfat', 'apt-get')


@pytest.fixture(scope='module')
def bootable(tmp_path_factory, request):
    missing = [tool for tool in NEEDS if not shutil.which(tool)]
    if missing:
        pytest.skip('needs %s' % ', '.join(missing))
    # Where the stack boots (CI), the session's mirror is bootable: these tests only read and copy it, so
    # it serves, and a ~20 s build is not done twice. Elsewhere a bootable mirror is built here.
    session = request.getfixturevalue('upstream').mirror
    if session.state.get('bootable') and session.today == TODAY:
        yield session
        return
    start = time.monotonic()
    mirror = Mirror(tmp_path_factory.mktemp('boot') / 'mirror', today=TODAY).build()
    print('bootable mirror built in %.1f s' % (time.monotonic() - start))
    yield mirror
    mirror.close()


def boot(path, fmt, console, seconds=120):
    """Boot a disk under qemu-system-x86_64 (TCG) and return its serial console once it settles."""
    if not shutil.which('qemu-system-x86_64'):
        pytest.skip('needs qemu-system-x86_64')
    console = str(console)
    with subprocess.Popen(['qemu-system-x86_64', '-accel', 'tcg', '-m', '256', '-display', 'none', '-monitor', 'none',
                           '-no-reboot', '-serial', 'file:' + console, '-drive', 'file=%s,if=virtio,format=%s,snapshot=on'
                           % (path, fmt)]) as proc:
        deadline, text = time.monotonic() + seconds, ''
        try:
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with open(console, 'rb') as handle:
                        text = handle.read().decode('utf-8', 'replace')
                except FileNotFoundError:  # QEMU has not opened it yet
                    pass
                if 'login:' in text or 'Kernel panic' in text:
                    break
                time.sleep(0.5)
        finally:
            proc.kill()
    return text


def test_primary_images_are_bootable_and_digests_match(bootable, tmp_path):
    ubuntu = bootable.releases['ubuntu', '24.04']
    data = open(ubuntu.local_path, 'rb').read()
    assert hashlib.sha256(data).hexdigest() == ubuntu.sha256 and len(data) > 10 << 20
    assert b'cloudimages.boot=ubuntu/24.04/%s ' % ubuntu.version.encode() in data
    # Debian publishes the sha512 of the raw guest disk: it must match a real conversion.
    debian = bootable.releases['debian', '12']
    raw = tmp_path / 'debian.raw'
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', debian.local_path, str(raw)], check=True)
    state = {b['version']: b for b in bootable.state['releases']['debian/12']['builds']}
    assert hashlib.sha512(raw.read_bytes()).hexdigest() == state[debian.version]['raw_sha512']['amd64']
    # The compressed vendors keep their container; the qcow2 inside is the bootable disk.
    for key, module in ((('fedora-coreos', 'stable'), lzma), (('flatcar', 'stable'), bz2)):
        info = bootable.releases[key]
        inner = module.decompress(open(info.local_path, 'rb').read())
        assert hashlib.sha256(inner).hexdigest() == info.uncompressed_sha256
        assert b'cloudimages.boot=%s/%s/%s ' % (key[0].encode(), key[1].encode(), info.version.encode()) in inner
    # Windows stays a non-booting stand-in.
    windows = open(bootable.releases['windows', '2022'].local_path, 'rb').read()
    assert b'cloudimages.boot=' not in windows and len(windows) < 1 << 20


def test_good_build_boots_and_unbootable_build_panics(bootable, tmp_path):
    mirror = bootable.copy(tmp_path / 'copy')
    try:
        good = mirror.releases['ubuntu', '24.04']
        console = boot(good.local_path, 'qcow2', tmp_path / 'good.console')
        assert 'cloudimages-boot: ubuntu 24.04 %s' % good.version in console and 'login:' in console
        bad = mirror.inject('ubuntu', '24.04', 'unbootable')
        assert bad.version == good.version and bad.sha256 != good.sha256
        # Correctly checksummed like any build: the published SHA256SUMS names the new bytes.
        assert hashlib.sha256(open(bad.local_path, 'rb').read()).hexdigest() == bad.sha256
        console = boot(bad.local_path, 'qcow2', tmp_path / 'bad.console')
        assert 'Kernel panic' in console and 'login:' not in console
        # The original mirror is untouched by the copy's fault (hard-linked files are replaced, not edited).
        assert bootable.releases['ubuntu', '24.04'].sha256 == good.sha256
        # The next day's build is good again.
        mirror.advance()
        assert not mirror.releases['ubuntu', '24.04'].faults
    finally:
        mirror.close()


def test_aarch64_disk_is_a_uefi_disk_whose_builds_differ_only_in_grub_cfg(tmp_path):
    """The aarch64 base (bootable_aarch64.py) without booting it: the suite's one aarch64 boot is
    Nova's, in tests/integration/test_real_boot.py."""
    missing = [tool for tool in ('qemu-img', 'mcopy', 'mkfs.vfat', 'grub-mkimage', 'apt-get') if not shutil.which(tool)]
    if missing:
        pytest.skip('needs %s' % ', '.join(missing))
    from upstream_mirror.bootable_aarch64 import BootBaseAarch64  # pylint: disable=import-outside-toplevel
    base = BootBaseAarch64().ensure()
    good, bad = base.qcow2('debian/12/20261116'), base.qcow2('debian/12/20261116', fault='panic')
    assert len(good) == len(bad) and sum(a != b for a, b in zip(good, bad)) <= 512
    assert b'console=ttyAMA0 quiet panic=0 cloudimages.boot=debian/12/20261116 ' in good
    disk = tmp_path / 'disk.qcow2'
    disk.write_bytes(good)
    raw = tmp_path / 'disk.raw'
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', str(disk), str(raw)], check=True)
    assert hashlib.sha512(raw.read_bytes()).hexdigest() == base.raw_sha512('debian/12/20261116')
    # UEFI boots the removable-media path without a boot entry; GRUB reads its config beside it.
    listing = subprocess.run(['mdir', '-b', '-i', str(raw), '::EFI/BOOT'], check=True, capture_output=True, text=True)
    assert sorted(line.rsplit('/', 1)[-1] for line in listing.stdout.split()) == ['BOOTAA64.EFI', 'grub.cfg']
