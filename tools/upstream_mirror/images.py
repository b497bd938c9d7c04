"""Real, tiny disk images: qcow2 payloads, vendor compression and malicious variants.

Every payload is a genuine qcow2 file. ``qemu-img`` creates one template per virtual size
(4 KiB clusters keep files ~24 KiB) and ``qemu-io`` writes one data cluster filled with a
marker byte. Later images copy the template and replace that cluster with a per-build
label, which gives the same bytes ``qemu-io write`` would produce, without two process spawns
per image: the full mirror builds in a couple of seconds.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import os
import subprocess
import tempfile

from . import bootable, bootable_aarch64

CLUSTER = 4096
MARKER = 0xA5
MIB = 1 << 20
# The bootable disk of each architecture (bootable.py, bootable_aarch64.py).
BOOT_BASES = {'x86_64': bootable.BootBase, 'aarch64': bootable_aarch64.BootBaseAarch64}


def _run(args, cwd=None):
    result = subprocess.run(args, cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if result.returncode:
        raise RuntimeError('%s failed: %s' % (' '.join(args), result.stderr.decode(errors='replace').strip()))


def _qemu_img_create(path, size, *options, cwd=None):
    args = ['qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=%d' % CLUSTER]
    for option in options:
        args += ['-o', option]
    _run(args + [path, str(size)], cwd=cwd)


def label_block(label):
    """One cluster of guest data: the label, then sha256(label) repeated, so every build differs."""
    head = ('%s\n' % label).encode()
    fill = hashlib.sha256(head).digest()
    block = head + fill * (CLUSTER // len(fill) + 1)
    return block[:CLUSTER]


class ImageFactory:
    """Makes qcow2 payloads; caches one template per virtual size in ``cache_dir``."""

    def __init__(self, cache_dir):
        self.cache_dir = cache_dir
        self._templates = {}
        self._boots = {}

    def boot(self, arch='x86_64'):
        """The machine-wide cached bootable base of ``arch`` (see BOOT_BASES), built on first use."""
        if arch not in self._boots:
            self._boots[arch] = BOOT_BASES[arch]().ensure()
        return self._boots[arch]

    def bootable_qcow2(self, boot, fault='', virtual_size=16 * MIB, arch='x86_64'):
        """A qcow2 that boots and prints ``cloudimages-boot: <boot with / as spaces>`` and ``login:``;
        fault='panic': same disk, but its /init exits and the kernel panics."""
        return self.boot(arch).qcow2(boot, fault, virtual_size)

    def bootable_raw_sha512(self, boot, fault='', virtual_size=16 * MIB, arch='x86_64'):
        return self.boot(arch).raw_sha512(boot, fault, virtual_size)

    def bootable_compressed(self, kind, boot, fault='', virtual_size=16 * MIB, arch='x86_64'):
        """(compressed qcow2, {'sha256', 'size'} of the qcow2) for the xz/bz2 vendors."""
        return self.boot(arch).compressed(kind, FAST_COMPRESSORS[kind], boot, fault, virtual_size)

    def _template(self, virtual_size):
        if virtual_size in self._templates:
            return self._templates[virtual_size]
        os.makedirs(self.cache_dir, exist_ok=True)
        path = os.path.join(self.cache_dir, 'template-%d.qcow2' % virtual_size)
        if not os.path.exists(path):
            tmp = path + '.tmp'
            _qemu_img_create(tmp, virtual_size)
            _run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0x%x 0 %d' % (MARKER, CLUSTER), tmp])
            os.replace(tmp, path)
        with open(path, 'rb') as handle:
            data = handle.read()
        offset = data.find(bytes([MARKER]) * CLUSTER)
        if offset < 0 or offset % CLUSTER:
            raise RuntimeError('qcow2 template %s has no marker cluster' % path)
        self._templates[virtual_size] = (data, offset)
        return data, offset

    def qcow2(self, label, virtual_size=16 * MIB):
        """A valid qcow2 whose first guest cluster holds ``label`` (see :func:`label_block`)."""
        data, offset = self._template(virtual_size)
        return data[:offset] + label_block(label) + data[offset + CLUSTER:]

    @staticmethod
    def raw_sha512(label, virtual_size=16 * MIB):
        """sha512 of the guest disk the qcow2 describes, without materialising it."""
        digest = hashlib.sha512(label_block(label))
        zeros = bytes(MIB)
        remaining = virtual_size - CLUSTER
        digest.update(zeros[:remaining % MIB])
        for _index in range(remaining // MIB):
            digest.update(zeros)
        return digest.hexdigest()


def xz(data):
    """xz container with CRC64 check, what the ``xz`` CLI writes by default."""
    return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64)


def bzip2(data):
    return bz2.compress(data, 9)


COMPRESSORS = {'xz': xz, 'bz2': bzip2}
# For the bootable disks: the kernel inside is already compressed, a high preset only costs time.
FAST_COMPRESSORS = {'xz': lambda data: lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=1),
                    'bz2': lambda data: bz2.compress(data, 1)}


def qcow2_with_backing(backing='/etc/hostname', backing_fmt='raw', virtual_size=16 * MIB):
    """qcow2 that reads through to a host file: must be refused by anyone importing it."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'disk.qcow2')
        # -u: do not open the backing file, the path need not exist on this host.
        _run(['qemu-img', 'create', '-q', '-f', 'qcow2', '-u', '-b', backing, '-F', backing_fmt, path, str(virtual_size)])
        with open(path, 'rb') as handle:
            return handle.read()


def qcow2_with_data_file(data_file='/etc/hostname', virtual_size=16 * MIB):
    """qcow2 whose clusters live in an external file named in the header."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'disk.qcow2')
        # Create with a harmless data file inside tmp, then repoint the header: amend only
        # rewrites the header extension and never opens the new target.
        _qemu_img_create(path, virtual_size, 'data_file=disk.raw', cwd=tmp)
        _run(['qemu-img', 'amend', '-f', 'qcow2', '-o', 'data_file=%s' % data_file, path], cwd=tmp)
        with open(path, 'rb') as handle:
            return handle.read()


_ZERO_STREAMS = {}
BOMB_CHUNK = 32 * MIB


def _zero_stream(kind):
    """One compressed stream of BOMB_CHUNK zeros (cached: xz/bz2 of 32 MiB takes ~0.4 s)."""
    if kind not in _ZERO_STREAMS:
        _ZERO_STREAMS[kind] = COMPRESSORS[kind](bytes(BOMB_CHUNK))
    return _ZERO_STREAMS[kind]


def decompression_bomb(kind, head, expanded_size=1 << 30):
    """Compressed file that starts with a real qcow2 ``head`` and expands to ``expanded_size``.

    The first stream is ``head`` padded with zeros to BOMB_CHUNK, so even a decoder that stops
    after one stream gets far more than the image; then identical zero streams are concatenated
    (valid multi-stream xz/bz2, as the CLIs and Python's lzma/bz2 file objects read them).
    Returns ``(compressed, uncompressed_sha256, uncompressed_size)``.
    """
    count = max(1, expanded_size // BOMB_CHUNK)
    first = head + bytes(BOMB_CHUNK - len(head))
    digest = hashlib.sha256(first)
    zeros = bytes(BOMB_CHUNK)
    for _index in range(count - 1):
        digest.update(zeros)
    compressed = COMPRESSORS[kind](first) + _zero_stream(kind) * (count - 1)
    return compressed, digest.hexdigest(), count * BOMB_CHUNK
