# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Safety inspection of downloaded disk images and their conversion to raw.

A downloaded image is untrusted until :func:`inspect` accepted it: a crafted qcow2 can name a
backing file or an external data file (so that converting or booting it reads host files), be
encrypted, or claim one format while being another. Detection and the per-format safety checks
come from ``oslo_utils.imageutils.format_inspector``, the inspector Nova, Glance and Cinder use
since the 2024 qcow2/vmdk CVEs, so we reject what the cloud would reject. It does not look at
qcow2 encryption, which :func:`inspect` adds from the header. oslo.utils 7.3 already had the
qcow2/vmdk checks; 7.4 added LUKS detection (before, a LUKS container passed as raw).

:func:`convert_to_raw` runs ``qemu-img convert`` only on an inspected image and only with an
explicit source format, so qemu never probes. The md5 of the raw result is what Glance shows as
``checksum`` when the cloud converts on import, which lets anyone re-verify a public image.
"""

from __future__ import annotations

import math
import os
import resource
import shutil
import struct
import subprocess
import tempfile
import traceback
from dataclasses import dataclass

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import (
    STANDARD_DIGESTS, MultiHasher)

try:
    from oslo_utils.imageutils import format_inspector
except ImportError:
    format_inspector = None
    HAS_FORMAT_INSPECTOR = False
    FORMAT_INSPECTOR_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_FORMAT_INSPECTOR = True
    FORMAT_INSPECTOR_IMPORT_ERROR = None

GIB = 1 << 30
DEFAULT_FORMATS = ('qcow2', 'raw')
# oslo's names for failed checks -> what an operator should read.
_CHECK_REASONS = {
    'backing_file': 'qcow2 image names a backing file',
    'data_file': 'qcow2 image uses an external data file',
    'unknown_features': 'qcow2 image uses unknown incompatible features or an unsupported version',
    'descriptor': 'vmdk descriptor is not a single self-contained extent',
    'mbr': 'partition table is invalid',
}
_QCOW2_CRYPT_METHOD = struct.Struct('>I')  # header offset 32: 0 none, 1 AES, 2 LUKS
# Like Nova's prlimit on qemu-img: a crafted image must not make it eat the host's memory or run forever.
QEMU_IMG_ADDRESS_SPACE = 2 * GIB
QEMU_IMG_TIMEOUT = 3600
QCOW2_METADATA_HEADROOM = 4 << 20  # header, L1 table and the first refcount blocks of a small image


class UnsafeImageError(ValueError):
    """The image is of an unknown, unexpected or unsupported format, or fails a safety check."""


class ConversionError(RuntimeError):
    """qemu-img is missing or failed; the message carries its stderr."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    virtual_size: int
    actual_size: int


def min_disk_gib(virtual_size):
    """Glance ``min_disk`` for an image: its virtual size rounded up to whole GiB."""
    if virtual_size < 0:
        raise ValueError(f'negative virtual size {virtual_size}')
    return math.ceil(virtual_size / GIB)


def inspect(path, expected_format=None, allowed_formats=DEFAULT_FORMATS, max_virtual_size=None):
    """Detect the format of the local file ``path`` and check it is safe to convert, upload and boot.

    Raw cannot be told from arbitrary bytes, so any file no inspector recognises is ``raw``; a
    declared ``expected_format`` (the vendor's word) is what catches a qcow2 that isn't one.
    ``max_virtual_size`` (bytes) refuses images that would expand past the disk we have.
    Raises :class:`UnsafeImageError`; ``RuntimeError`` when oslo.utils is not installed.
    """
    if not HAS_FORMAT_INSPECTOR:
        raise RuntimeError('inspecting disk images needs the Python library oslo.utils>=7.4')
    actual_size = os.path.getsize(path)
    if actual_size == 0:
        raise UnsafeImageError(f'{path} is empty')
    inspector, name = _declared_format(path, path, expected_format, allowed_formats)
    _safety_check(path, inspector)
    if name == 'qcow2':
        _check_qcow2_encryption(path)
    # The inspector stops reading early, so for raw its count is not the size of the file.
    virtual_size = actual_size if name == 'raw' else inspector.virtual_size
    if virtual_size <= 0:
        raise UnsafeImageError(f'{path} has no usable virtual size')
    if max_virtual_size is not None and virtual_size > max_virtual_size:
        raise UnsafeImageError(f'{path} has a virtual size of {virtual_size} bytes, '
                               f'more than the allowed {max_virtual_size}')
    return ImageInfo(format=name, virtual_size=virtual_size, actual_size=actual_size)


def _declared_format(path, subject, expected_format, allowed_formats):
    """``(inspector, format)`` of ``path``; UnsafeImageError when it is not the declared or an allowed one."""
    inspector = _detect(path)
    name = _format_name(inspector)
    if expected_format is not None and name != expected_format:
        raise UnsafeImageError(f'{subject} was declared {expected_format} but its content is {name}')
    if name not in allowed_formats:
        raise UnsafeImageError(f'{subject} is {name}, which is not an allowed format ({", ".join(allowed_formats)})')
    return inspector, name


def expansion_cap(path, expected_format=None, allowed_formats=DEFAULT_FORMATS, max_virtual_size=None):
    """The most bytes an expanding image may reach, judged from its first MiBs in ``path``.

    Refuses at once an expansion whose header is not the declared format (an xz declared qcow2
    that expands to raw) or declares too large a virtual size. A qcow2 file holds at most its
    virtual size plus metadata (L2 and refcount tables: under 1/8 of it even with 4 KiB
    clusters), so that bounds it; a raw image is its virtual size, bounded by ``max_virtual_size``.
    """
    if not HAS_FORMAT_INSPECTOR:
        raise RuntimeError('inspecting disk images needs the Python library oslo.utils>=7.4')
    inspector, name = _declared_format(path, 'it', expected_format, allowed_formats)
    if name != 'qcow2':
        return max_virtual_size
    virtual_size = inspector.virtual_size
    if max_virtual_size is not None and virtual_size > max_virtual_size:
        raise UnsafeImageError(f'its header declares a virtual size of {virtual_size} bytes, '
                               f'more than the allowed {max_virtual_size}')
    return virtual_size + virtual_size // 8 + QCOW2_METADATA_HEADROOM


def _detect(path):
    try:
        return format_inspector.detect_file_format(path)
    except format_inspector.ImageFormatError as exc:
        # e.g. "Multiple formats detected": one header hidden in another is an attack pattern.
        raise UnsafeImageError(f'{path}: format cannot be determined safely: {exc}') from None


def _format_name(inspector):
    # A raw disk with an MBR/GPT partition table is reported as "gpt"; Glance stores it as raw.
    name = str(inspector)
    return 'raw' if name == 'gpt' else name


def _safety_check(path, inspector):
    try:
        inspector.safety_check()
    except format_inspector.SafetyCheckFailed as exc:
        reasons = [_CHECK_REASONS.get(name.replace('inner_', ''), f'{name}: {failure}')
                   for name, failure in exc.failures.items()]
        raise UnsafeImageError(f'{path} is unsafe: {"; ".join(reasons)}') from None
    except format_inspector.ImageFormatError as exc:
        raise UnsafeImageError(f'{path} cannot be safety-checked: {exc}') from None


def _check_qcow2_encryption(path):
    with open(path, 'rb') as handle:
        handle.seek(32)
        header = handle.read(_QCOW2_CRYPT_METHOD.size)
    if len(header) < _QCOW2_CRYPT_METHOD.size:
        raise UnsafeImageError(f'{path} has a truncated qcow2 header')
    (method,) = _QCOW2_CRYPT_METHOD.unpack(header)
    if method:
        raise UnsafeImageError(f'{path} is an encrypted qcow2 image (crypt method {method})')


def convert_to_raw(src, dest, src_format, max_virtual_size, algorithms=STANDARD_DIGESTS,
                   allowed_formats=DEFAULT_FORMATS, timeout=QEMU_IMG_TIMEOUT):
    """Inspect ``src``, convert it to a raw ``dest`` atomically and hash the result in one read.

    ``max_virtual_size`` is required: the raw file is as large as the virtual disk (sparse or not).

    Returns ``{'info': ImageInfo of src, 'size': raw bytes, 'digests': {algo: hex}}``; the raw md5
    equals Glance's ``checksum`` of the image converted on import.
    """
    info = inspect(src, expected_format=src_format, allowed_formats=allowed_formats, max_virtual_size=max_virtual_size)
    hasher = MultiHasher(algorithms)  # an unknown algorithm fails before qemu-img runs
    qemu_img = shutil.which('qemu-img')
    if qemu_img is None:
        raise ConversionError('qemu-img not found (Debian/Ubuntu package qemu-utils)')
    dest = os.path.abspath(dest)
    fd, part = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=f'.{os.path.basename(dest)}.', suffix='.part')
    os.close(fd)
    try:
        # Absolute paths: qemu would read a name starting with "json:" as a block-device spec.
        _run([qemu_img, 'convert', '-q', '-f', src_format, '-O', 'raw', os.path.abspath(src), part], timeout)
        size = hasher.update_file(part).size
        if size != info.virtual_size:
            raise ConversionError(f'qemu-img wrote {size} bytes, expected the virtual size {info.virtual_size}')
        os.replace(part, dest)
    except BaseException:
        _unlink(part)
        raise
    return {'info': info, 'size': size, 'digests': hasher.hexdigests()}


def same_disk(src, src_format, virtual_size, raw, timeout=QEMU_IMG_TIMEOUT):
    """True when the raw file ``raw`` holds the disk of ``src`` (an inspected image of ``virtual_size``):
    as large, and ``qemu-img compare`` finds no difference. The read-only proof of a cached conversion."""
    if os.stat(raw).st_size != virtual_size:  # compare would take missing bytes at the end for zeros
        return False
    qemu_img = shutil.which('qemu-img')
    if qemu_img is None:
        raise ConversionError('qemu-img not found (Debian/Ubuntu package qemu-utils)')
    argv = [qemu_img, 'compare', '-q', '-f', src_format, '-F', 'raw', os.path.abspath(src), os.path.abspath(raw)]
    return _run(argv, timeout, ok=(0, 1)).returncode == 0  # 1: the images differ


def _limit_resources():
    resource.setrlimit(resource.RLIMIT_AS, (QEMU_IMG_ADDRESS_SPACE, QEMU_IMG_ADDRESS_SPACE))


def _run(argv, timeout, ok=(0,)):
    try:
        result = subprocess.run(  # pylint: disable=subprocess-popen-preexec-fn
            argv, capture_output=True, text=True, timeout=timeout, check=False,
            env=dict(os.environ, LC_ALL='C'), preexec_fn=_limit_resources,
        )
    except subprocess.TimeoutExpired:
        raise ConversionError(f'{argv[1]} timed out after {timeout} s') from None
    if result.returncode not in ok:
        raise ConversionError(f'qemu-img {argv[1]} failed (exit {result.returncode}): {result.stderr.strip()}')
    return result


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
