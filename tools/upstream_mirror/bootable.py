"""A tiny disk that really boots: Debian's cloud kernel, a busybox initramfs, syslinux on FAT.

Built ONCE per machine from Debian packages and cached under ``${CLOUDIMAGES_CACHE:-~/.cache/cloudimages}``:

* ``apt-get download linux-image-cloud-amd64`` and the versioned kernel package it depends on,
  ``dpkg-deb -x`` -> ``boot/vmlinuz-*``;
* ``busybox-static`` -> an initramfs (cpio newc, written here) whose ``/init`` reads the kernel
  command line and prints on the serial console ``cloudimages-boot: <distro> <release> <build>``
  and a ``login:`` prompt; with ``cloudimages.fault=panic`` it exits instead, so the kernel panics;
* ``mkfs.vfat -C`` + ``mcopy`` + ``syslinux --install``: no loop mount, no root needed.

Only ``syslinux.cfg`` differs between builds. It is a fixed-size file, so a build is the cached
base with that one region replaced: in the raw disk and in the (uncompressed) qcow2 alike, where
the guest bytes are stored verbatim. Packages needed on the host: mtools, syslinux,
syslinux-common, dosfstools, qemu-utils (busybox-static and the kernel are only downloaded).
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tempfile

# Architectures with a bootable disk; the vendors' images of other arches are stand-ins (vendors/base.py).
ARCHES = ('x86_64',)
KERNEL_META = 'linux-image-cloud-amd64'
BUSYBOX = 'busybox-static'
DISK_MIB = 16  # the vendors' default virtual size; kernel + initramfs + ldlinux need ~15.3 MB
CFG_SIZE = 512
PLACEHOLDER = 'cloudimages.boot=@PLACEHOLDER@'
MARKER_PREFIX = 'cloudimages-boot:'
DEBS = ('mtools', 'syslinux', 'syslinux-common', 'dosfstools', 'qemu-utils')
BASE_VERSION = 1  # bump when the recipe changes: the cache key holds it

INIT = r'''#!/bin/busybox sh
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
arg() { /bin/busybox sed -n "s/.*$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
boot=$(arg cloudimages.boot | /bin/busybox tr '/' ' ')
echo "cloudimages-boot: $boot"
if [ "$(arg cloudimages.fault)" = panic ]; then
    echo "cloudimages-boot: /init exits on purpose (unbootable build)"
    exit 1
fi
echo
echo "$(arg cloudimages.host) login: "
while :; do /bin/busybox sleep 3600; done
'''


def cache_root():
    return os.environ.get('CLOUDIMAGES_CACHE') or os.path.join(os.path.expanduser('~'), '.cache', 'cloudimages')


def _run(args, cwd=None):
    result = subprocess.run(args, cwd=cwd, check=False, capture_output=True)
    if result.returncode:
        raise RuntimeError('%s failed: %s' % (' '.join(args), result.stderr.decode(errors='replace').strip()))
    return result.stdout.decode(errors='replace')


def _cpio_newc(entries):
    """entries: (name, mode, data or symlink target[, (rdev major, minor)]). A minimal cpio 'newc' archive."""
    out = io.BytesIO()

    def pad(length):
        out.write(b'\0' * (-length % 4))

    for ino, (name, mode, data, *rdev) in enumerate(entries + [('TRAILER!!!', 0, b'')], start=1):
        raw_name = name.encode() + b'\0'
        major, minor = rdev[0] if rdev else (0, 0)
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, major, minor, len(raw_name), 0)
        out.write(b'070701' + b''.join(b'%08X' % field for field in fields) + raw_name)
        pad(110 + len(raw_name))
        out.write(data)
        pad(len(data))
    return out.getvalue()


def config(boot, host='cloudimage', fault=''):
    """syslinux.cfg, padded to CFG_SIZE. boot: 'distro/release/build' (no spaces)."""
    append = 'console=ttyS0 quiet panic=0 cloudimages.boot=%s cloudimages.host=%s' % (boot, host)
    if fault:
        append += ' cloudimages.fault=%s' % fault
    text = 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND %s\n' % append
    if len(text) > CFG_SIZE - 2:
        raise ValueError('syslinux.cfg too long for %r' % boot)
    return (text + '#' + ' ' * (CFG_SIZE - len(text) - 2) + '\n').encode()


def initramfs(busybox):
    """The gzipped initramfs: the static busybox at path ``busybox`` and INIT as /init."""
    with open(busybox, 'rb') as handle:
        busybox_bytes = handle.read()
    return gzip.compress(_cpio_newc([
        ('bin', 0o40755, b''), ('dev', 0o40755, b''), ('proc', 0o40755, b''),
        ('dev/console', 0o20600, b'', (5, 1)),  # init's stdout; no devtmpfs in an initramfs
        ('bin/busybox', 0o100755, busybox_bytes), ('bin/sh', 0o120777, b'busybox'),
        ('init', 0o100755, INIT.encode())]), 6)


def _download(debs, workdir):
    """The kernel .deb (the meta package's exact dependency) and busybox-static, kept in ``debs``."""
    os.makedirs(debs, exist_ok=True)
    if not glob.glob(os.path.join(debs, BUSYBOX + '_*.deb')):
        try:
            _run(['apt-get', 'download', KERNEL_META, BUSYBOX], cwd=debs)
        except RuntimeError:  # a fresh machine or container may have no package lists yet
            _run(['apt-get', 'update', '-qq'])
            _run(['apt-get', 'download', KERNEL_META, BUSYBOX], cwd=debs)
        meta = glob.glob(os.path.join(debs, KERNEL_META + '_*.deb'))[0]
        kernel_pkg = _run(['dpkg-deb', '-f', meta, 'Depends']).split(',')[0].split()[0]
        _run(['apt-get', 'download', kernel_pkg], cwd=debs)
    tree = os.path.join(workdir, 'tree')
    for deb in glob.glob(os.path.join(debs, '*.deb')):
        _run(['dpkg-deb', '-x', deb, tree])
    return glob.glob(os.path.join(tree, 'boot', 'vmlinuz-*'))[0], os.path.join(tree, 'bin', 'busybox')


class BootBase:
    """The cached bootable disk (raw + qcow2) and where its syslinux.cfg lives in each.

    A subclass for another architecture (bootable_aarch64.py) sets ``name``, ``config`` (a
    fixed-size boot loader file holding PLACEHOLDER) and ``_make_raw``; the rest is shared."""

    name = 'bootable-v%d' % BASE_VERSION
    config = staticmethod(config)

    def __init__(self, root=None):
        root = root or cache_root()
        self.dir = os.path.join(root, self.name)
        self.debs = os.path.join(root, 'debs')
        self.raw_path = os.path.join(self.dir, 'disk.raw')
        self.qcow2_path = os.path.join(self.dir, 'disk.qcow2')
        self._cache = {}

    def ensure(self):
        if not os.path.exists(self.qcow2_path):
            self._build()
        return self

    def _build(self):
        os.makedirs(os.path.dirname(self.dir), exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=self.name + '-', dir=os.path.dirname(self.dir))
        try:
            raw = self._make_raw(tmp)
            final = os.path.join(tmp, 'final')
            os.makedirs(final)
            _run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, os.path.join(final, 'disk.qcow2')])
            os.rename(raw, os.path.join(final, 'disk.raw'))
            try:
                os.rename(final, self.dir)
            except OSError:
                if not os.path.exists(self.qcow2_path):  # lost a race only if the winner is complete
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _make_raw(self, tmp):
        """The raw disk with the PLACEHOLDER config, made in ``tmp``; returns its path."""
        vmlinuz, busybox = _download(self.debs, tmp)
        files = os.path.join(tmp, 'files')
        os.makedirs(files)
        with open(os.path.join(files, 'syslinux.cfg'), 'wb') as handle:
            handle.write(config(PLACEHOLDER.split('=', 1)[1]))
        with open(os.path.join(files, 'initrd.gz'), 'wb') as handle:
            handle.write(initramfs(busybox))
        shutil.copy(vmlinuz, os.path.join(files, 'vmlinuz'))
        raw = os.path.join(tmp, 'disk.raw')
        _run(['mkfs.vfat', '-C', '-n', 'CLOUDIMG', raw, str(DISK_MIB * 1024)])
        # syslinux.cfg first: it lands in the first data clusters, contiguous.
        for name in ('syslinux.cfg', 'initrd.gz', 'vmlinuz'):
            _run(['mcopy', '-i', raw, os.path.join(files, name), '::' + name])
        _run(['syslinux', '--install', raw])
        return raw

    def _blob(self, kind, virtual_size):
        """(bytes, offset of syslinux.cfg) of the raw or qcow2 disk grown to virtual_size (cached)."""
        key = (kind, virtual_size)
        if key not in self._cache:
            self.ensure()
            path = self.raw_path if kind == 'raw' else self._qcow2_sized(virtual_size)
            with open(path, 'rb') as handle:
                blob = handle.read()
            needle = self.config(PLACEHOLDER.split('=', 1)[1])
            offset = blob.find(needle)
            if offset < 0 or blob.find(needle, offset + 1) >= 0:
                raise RuntimeError('%s: the boot config is not found exactly once' % path)
            self._cache[key] = (blob, offset)
        return self._cache[key]

    def _qcow2_sized(self, virtual_size):
        if virtual_size == DISK_MIB << 20:
            return self.qcow2_path
        if virtual_size < DISK_MIB << 20:
            raise ValueError('a bootable disk needs at least %d MiB' % DISK_MIB)
        path = os.path.join(self.dir, 'disk-%d.qcow2' % virtual_size)
        if not os.path.exists(path):
            tmp = '%s.tmp-%d' % (path, os.getpid())
            shutil.copy(self.qcow2_path, tmp)
            _run(['qemu-img', 'resize', '-q', '-f', 'qcow2', tmp, str(virtual_size)])
            os.replace(tmp, path)
        return path

    def qcow2(self, boot, fault='', virtual_size=DISK_MIB << 20):
        blob, offset = self._blob('qcow2', virtual_size)
        return blob[:offset] + self.config(boot, fault=fault) + blob[offset + CFG_SIZE:]

    def raw_sha512(self, boot, fault='', virtual_size=DISK_MIB << 20):
        """sha512 of the guest disk: the base raw disk, this build's config, zeros up to virtual_size."""
        blob, offset = self._blob('raw', DISK_MIB << 20)
        if 'head' not in self._cache:  # the part before the config is the same for every build
            self._cache['head'] = hashlib.sha512(memoryview(blob)[:offset])
        digest = self._cache['head'].copy()
        digest.update(self.config(boot, fault=fault))
        digest.update(memoryview(blob)[offset + CFG_SIZE:])
        zeros, remaining = bytes(1 << 20), virtual_size - len(blob)
        while remaining > 0:
            digest.update(zeros[:min(remaining, len(zeros))])
            remaining -= len(zeros)
        return digest.hexdigest()

    def compressed(self, kind, compress, boot, fault='', virtual_size=DISK_MIB << 20):
        """The qcow2 as a multi-stream xz/bz2 file (a valid container, what ``cat a.xz b.xz`` gives): the
        streams before and after syslinux.cfg are compressed once and cached, only the config per build.
        Returns (compressed bytes, {'sha256', 'size'} of the qcow2)."""
        blob, offset = self._blob('qcow2', virtual_size)
        parts = []
        for name, chunk in (('head', blob[:offset]), ('tail', blob[offset + CFG_SIZE:])):
            path = os.path.join(self.dir, 'qcow2-%d-%s.%s' % (virtual_size, name, kind))
            if not os.path.exists(path):
                tmp = '%s.tmp-%d' % (path, os.getpid())
                with open(tmp, 'wb') as handle:
                    handle.write(compress(chunk))
                os.replace(tmp, path)
            with open(path, 'rb') as handle:
                parts.append(handle.read())
        cfg = self.config(boot, fault=fault)
        qcow2 = blob[:offset] + cfg + blob[offset + CFG_SIZE:]
        return parts[0] + compress(cfg) + parts[1], {'sha256': hashlib.sha256(qcow2).hexdigest(), 'size': len(qcow2)}
