"""The aarch64 twin of bootable.py: a tiny disk that boots under UEFI (QEMU ``virt``, AAVMF).

Built ONCE per machine from Debian's arm64 packages, cached beside the x86_64 base:

* a private apt state (``APT::Architecture=arm64``, the host's sources, lists under the cache) and
  ``apt-get download`` of ``linux-image-cloud-arm64`` (+ its versioned kernel), ``busybox-static``
  and ``grub-efi-arm64-bin``: nothing is installed, the host's dpkg is not touched;
* the same busybox initramfs as x86_64 (bootable.initramfs), on ttyAMA0 (PL011) this time;
* ``grub-mkimage -O arm64-efi`` (host's grub-common, the .deb's modules) as
  ``/EFI/BOOT/BOOTAA64.EFI``, the removable-media path UEFI boots without a boot entry; it reads
  ``/EFI/BOOT/grub.cfg``, a fixed-size file like syslinux.cfg, so one build differs from the base
  in that region only. The kernel is gzipped (GRUB's gzio inflates it): the disk stays 16 MiB.

Host packages: DEBS (grub-common for grub-mkimage, plus bootable.py's mtools, dosfstools, qemu-utils).
"""

from __future__ import annotations

import glob
import gzip
import os

from . import bootable

ARCH = 'aarch64'
PACKAGES = ('linux-image-cloud-arm64', 'busybox-static', 'grub-efi-arm64-bin')
DEBS = ('grub-common', 'mtools', 'dosfstools', 'qemu-utils')
BASE_VERSION = 1  # bump when the recipe changes: the cache key holds it
GRUB_MODULES = ('fat', 'part_msdos', 'part_gpt', 'normal', 'configfile', 'linux', 'gzio', 'echo')
EFI_DIR = 'EFI/BOOT'


def config(boot, host='cloudimage', fault=''):
    """grub.cfg, padded to bootable.CFG_SIZE. boot: 'distro/release/build' (no spaces)."""
    append = 'console=ttyAMA0 quiet panic=0 cloudimages.boot=%s cloudimages.host=%s' % (boot, host)
    if fault:
        append += ' cloudimages.fault=%s' % fault
    text = 'set timeout=0\nlinux /vmlinuz %s\ninitrd /initrd.gz\nboot\n' % append
    if len(text) > bootable.CFG_SIZE - 2:
        raise ValueError('grub.cfg too long for %r' % boot)
    return (text + '#' + ' ' * (bootable.CFG_SIZE - len(text) - 2) + '\n').encode()


def _apt(state, *args, cwd=None):
    """apt-get for arm64 with its own lists under ``state``: the host's apt setup stays as it is."""
    options = ['-o', 'APT::Architecture=arm64', '-o', 'APT::Architectures::=arm64',
               '-o', 'Dir::State::Lists=%s' % os.path.join(state, 'lists'),
               '-o', 'Dir::Cache=%s' % os.path.join(state, 'cache'), '-o', 'Dir::State::status=/dev/null']
    return bootable._run(['apt-get', '-q'] + options + list(args), cwd=cwd)


def _download(debs, workdir):
    """The arm64 .debs (kept in ``debs``) unpacked: (vmlinuz, busybox, grub module dir)."""
    if not glob.glob(os.path.join(debs, 'grub-efi-arm64-bin_*.deb')):
        state = os.path.join(workdir, 'apt')
        for sub in ('lists/partial', 'cache/archives/partial'):
            os.makedirs(os.path.join(state, sub))
        os.makedirs(debs, exist_ok=True)
        _apt(state, 'update')
        _apt(state, 'download', *PACKAGES, cwd=debs)
        meta = glob.glob(os.path.join(debs, PACKAGES[0] + '_*.deb'))[0]
        kernel = bootable._run(['dpkg-deb', '-f', meta, 'Depends']).split(',')[0].split()[0]
        _apt(state, 'download', kernel, cwd=debs)
    tree = os.path.join(workdir, 'tree')
    for deb in glob.glob(os.path.join(debs, '*.deb')):
        bootable._run(['dpkg-deb', '-x', deb, tree])
    return (glob.glob(os.path.join(tree, 'boot', 'vmlinuz-*'))[0], os.path.join(tree, 'bin', 'busybox'),
            os.path.join(tree, 'usr', 'lib', 'grub', 'arm64-efi'))


class BootBaseAarch64(bootable.BootBase):
    """The cached aarch64 disk; qcow2, raw_sha512 and compressed work as on x86_64."""

    name = 'bootable-%s-v%d' % (ARCH, BASE_VERSION)
    config = staticmethod(config)

    def __init__(self, root=None):
        super().__init__(root)
        self.debs = os.path.join(root or bootable.cache_root(), 'debs-arm64')

    def _make_raw(self, tmp):
        vmlinuz, busybox, grub = _download(self.debs, tmp)
        files = os.path.join(tmp, 'files')
        os.makedirs(files)
        with open(os.path.join(files, 'grub.cfg'), 'wb') as handle:
            handle.write(config(bootable.PLACEHOLDER.split('=', 1)[1]))
        with open(os.path.join(files, 'initrd.gz'), 'wb') as handle:
            handle.write(bootable.initramfs(busybox))
        with open(vmlinuz, 'rb') as source, open(os.path.join(files, 'vmlinuz'), 'wb') as handle:
            handle.write(gzip.compress(source.read(), 6, mtime=0))
        efi = os.path.join(files, 'BOOTAA64.EFI')
        bootable._run(['grub-mkimage', '-O', 'arm64-efi', '-d', grub, '-p', '/' + EFI_DIR, '-o', efi]
                      + list(GRUB_MODULES))
        raw = os.path.join(tmp, 'disk.raw')
        bootable._run(['mkfs.vfat', '-C', '-n', 'CLOUDIMG', raw, str(bootable.DISK_MIB * 1024)])
        bootable._run(['mmd', '-i', raw, '::EFI', '::' + EFI_DIR])
        # grub.cfg first: it lands in the first data clusters, contiguous.
        for name, target in (('grub.cfg', EFI_DIR + '/grub.cfg'), ('BOOTAA64.EFI', EFI_DIR + '/BOOTAA64.EFI'),
                             ('initrd.gz', 'initrd.gz'), ('vmlinuz', 'vmlinuz')):
            bootable._run(['mcopy', '-i', raw, os.path.join(files, name), '::' + target])
        return raw
