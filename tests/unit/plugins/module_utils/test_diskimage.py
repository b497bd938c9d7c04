"""Disk image inspection and raw conversion against real images made with qemu-img."""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import struct
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cloudimages.openstack.plugins.module_utils.image import _diskimage
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._decompress import decompress
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._diskimage import (
    GIB,
    ConversionError,
    ImageInfo,
    UnsafeImageError,
    convert_to_raw,
    inspect,
    min_disk_gib,
)

pytestmark = pytest.mark.skipif(shutil.which('qemu-img') is None, reason='needs qemu-img (qemu-utils)')
SIZE = 16 << 20


def _qemu_img(*args):
    subprocess.run(['qemu-img', *[str(a) for a in args]], check=True, capture_output=True)


def _patch(src, dest, offset, data):
    blob = bytearray(src.read_bytes())
    blob[offset:offset + len(data)] = data
    dest.write_bytes(bytes(blob))
    return dest


@pytest.fixture(scope='session')
def images(tmp_path_factory):
    """One directory of tiny real images, good and malicious, built once."""
    d = tmp_path_factory.mktemp('images')
    _qemu_img('create', '-q', '-f', 'qcow2', d / 'plain.qcow2', '16M')
    # Some content, so digests of the converted image are not those of zeros.
    subprocess.run(['qemu-io', '-f', 'qcow2', '-c', 'write -P 0xab 1M 64k', '-c', 'write -P 0x5c 15M 4k', d / 'plain.qcow2'],
                   check=True, capture_output=True)
    _qemu_img('create', '-q', '-f', 'qcow2', d / 'base.qcow2', '16M')
    _qemu_img('create', '-q', '-f', 'qcow2', '-b', d / 'base.qcow2', '-F', 'qcow2', d / 'backing.qcow2')
    _qemu_img('create', '-q', '-f', 'qcow2', '-o', f'data_file={d / "external.raw"}', d / 'datafile.qcow2', '16M')
    luks = _start_luks(d)
    _qemu_img('create', '-q', '-f', 'raw', d / 'plain.raw', '16M')
    _qemu_img('create', '-q', '-f', 'vmdk', d / 'plain.vmdk', '16M')
    _qemu_img('convert', '-f', 'qcow2', '-O', 'qcow2', '-o', 'compat=0.10', d / 'plain.qcow2', d / 'v2.qcow2')
    (d / 'random.bin').write_bytes(os.urandom(1 << 20))
    (d / 'empty').write_bytes(b'')
    (d / 'short.qcow2').write_bytes((d / 'plain.qcow2').read_bytes()[:100])
    # Incompatible feature bit 7: qemu does not know it either, oslo refuses unknown features.
    _patch(d / 'plain.qcow2', d / 'unknown-feature.qcow2', 72, struct.pack('>Q', 1 << 7))
    # An MBR signature inside the qcow2 header cluster: two formats at once is a smuggling attempt.
    _patch(d / 'plain.qcow2', d / 'polyglot.qcow2', 446, bytes([0x80, 0, 2, 0, 0x83]) + bytes(11) + bytes(48) + b'\x55\xaa')
    # A qcow2 header that passes inspection but whose L1 table offset is not cluster-aligned: qemu-img fails.
    _patch(d / 'plain.qcow2', d / 'bad-l1.qcow2', 40, struct.pack('>Q', 0x30001))
    _finish_luks(luks)
    return d


def _start_luks(d):
    # LUKS key setup costs qemu ~2.5 s of PBKDF benchmarking per image: make both at once.
    secret = ['--object', 'secret,id=sec0,data=123456']
    commands = [['qemu-img', 'create', '-q', *secret, *args, '16M']
                for args in (['-f', 'qcow2', '-o', 'encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10', d / 'luks.qcow2'],
                             ['-f', 'luks', '-o', 'key-secret=sec0,iter-time=10', d / 'container.luks'])]
    return [(command, subprocess.Popen(command, stderr=subprocess.PIPE)) for command in commands]


def _finish_luks(started):
    for command, process in started:
        stderr = process.communicate()[1]
        attempts = 4
        # qemu's PBKDF benchmark fails now and then on a busy machine ("Unable to get accurate CPU usage").
        while process.returncode and attempts:
            process = subprocess.run(command, check=False, capture_output=True)
            stderr, attempts = process.stderr, attempts - 1
        assert process.returncode == 0, stderr


@pytest.mark.parametrize('name, fmt, virtual_size', [
    ('plain.qcow2', 'qcow2', SIZE),
    ('v2.qcow2', 'qcow2', SIZE),
    ('plain.raw', 'raw', SIZE),
    ('random.bin', 'raw', 1 << 20),  # raw cannot be told from noise; the vendor's declared format decides
])
def test_accepted_images(images, name, fmt, virtual_size):
    info = inspect(images / name)
    assert info == ImageInfo(format=fmt, virtual_size=virtual_size, actual_size=os.path.getsize(images / name))
    assert inspect(images / name, expected_format=fmt) == info


def test_vmdk_only_when_allowed(images):
    with pytest.raises(UnsafeImageError, match='not an allowed format'):
        inspect(images / 'plain.vmdk')
    info = inspect(images / 'plain.vmdk', expected_format='vmdk', allowed_formats=('qcow2', 'vmdk'))
    assert (info.format, info.virtual_size) == ('vmdk', SIZE)


@pytest.mark.parametrize('name, expected, reason', [
    ('backing.qcow2', None, 'backing file'),
    ('datafile.qcow2', None, 'external data file'),
    ('luks.qcow2', None, 'encrypted'),
    ('unknown-feature.qcow2', None, 'unknown incompatible features'),
    ('polyglot.qcow2', None, 'Multiple formats'),
    ('plain.qcow2', 'raw', 'declared raw but its content is qcow2'),
    ('plain.raw', 'qcow2', 'declared qcow2 but its content is raw'),
    ('plain.vmdk', 'qcow2', 'declared qcow2 but its content is vmdk'),
    ('random.bin', 'qcow2', 'declared qcow2 but its content is raw'),
    ('short.qcow2', 'qcow2', 'declared qcow2 but its content is raw'),
    ('container.luks', None, 'luks, which is not an allowed format'),
    ('container.luks', 'raw', 'declared raw but its content is luks'),
    ('empty', None, 'empty'),
    ('empty', 'raw', 'empty'),
])
def test_rejected_images(images, name, expected, reason):
    with pytest.raises(UnsafeImageError, match=reason):
        inspect(images / name, expected_format=expected)


def test_virtual_size_cap(images):
    assert inspect(images / 'plain.qcow2', max_virtual_size=SIZE).virtual_size == SIZE
    with pytest.raises(UnsafeImageError, match='more than the allowed'):
        inspect(images / 'plain.qcow2', max_virtual_size=SIZE - 1)


# Headers that wake up the different inspectors, followed by noise.
_PREFIXES = [b'', b'QFI\xfb\x00\x00\x00\x03', b'QFI\xfb\x00\x00\x00\x02', b'KDMV', b'# Disk DescriptorFile\n', b'vhdxfile', b'LUKS\xba\xbe']


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.sampled_from(_PREFIXES), body=st.binary(min_size=0, max_size=1200), expected=st.sampled_from([None, 'qcow2', 'raw']))
def test_arbitrary_bytes_are_raw_or_rejected(tmp_path, prefix, body, expected):
    path = tmp_path / 'fuzz'
    path.write_bytes(prefix + body)
    try:
        info = inspect(path, expected_format=expected)
    except UnsafeImageError:
        return
    assert info.format in ('raw', 'qcow2') and info.virtual_size > 0


def test_missing_library_is_reported(images, monkeypatch):
    monkeypatch.setattr(_diskimage, 'HAS_FORMAT_INSPECTOR', False)
    with pytest.raises(RuntimeError, match='oslo.utils'):
        inspect(images / 'plain.qcow2')


def test_imports_without_oslo_utils():
    # ansible-test's import sanity test loads module_utils with no extra libraries installed.
    code = ("import sys; sys.modules['oslo_utils'] = None\n"
            "from ansible_collections.cloudimages.openstack.plugins.module_utils.image import _diskimage as d\n"
            "print(d.HAS_FORMAT_INSPECTOR, 'oslo_utils' in d.FORMAT_INSPECTOR_IMPORT_ERROR)")
    out = subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert out.stdout.split() == ['False', 'True']


@pytest.mark.parametrize('size, gib', [(0, 0), (1, 1), (GIB, 1), (GIB + 1, 2), (10 * GIB - 1, 10)])
def test_min_disk_gib(size, gib):
    assert min_disk_gib(size) == gib


def test_min_disk_gib_rejects_negative():
    with pytest.raises(ValueError):
        min_disk_gib(-1)


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_convert_matches_qemu_img_and_md5sum(images, tmp_path):
    dest = tmp_path / 'image.raw'
    result = convert_to_raw(images / 'plain.qcow2', dest, 'qcow2', max_virtual_size=SIZE)
    reference = tmp_path / 'reference.raw'
    _qemu_img('convert', '-f', 'qcow2', '-O', 'raw', images / 'plain.qcow2', reference)
    assert result['size'] == SIZE == dest.stat().st_size
    assert result['info'] == inspect(images / 'plain.qcow2')
    assert result['digests']['md5'] == _md5(reference) == subprocess.run(['md5sum', dest], check=True, capture_output=True, text=True).stdout.split()[0]
    assert result['digests']['sha256'] == hashlib.sha256(dest.read_bytes()).hexdigest()
    assert result['digests']['sha512'] == hashlib.sha512(dest.read_bytes()).hexdigest()
    assert result['digests']['md5'] != hashlib.md5(bytes(SIZE)).hexdigest()
    subprocess.run(['qemu-img', 'compare', '-f', 'qcow2', '-F', 'raw', images / 'plain.qcow2', dest], check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['image.raw', 'reference.raw']


def test_convert_raw_to_raw(images, tmp_path):
    result = convert_to_raw(images / 'plain.raw', tmp_path / 'out.raw', 'raw', GIB, algorithms=['md5'])
    assert result['digests'] == {'md5': hashlib.md5(bytes(SIZE)).hexdigest()}


@pytest.mark.parametrize('name, fmt', [('backing.qcow2', 'qcow2'), ('datafile.qcow2', 'qcow2'), ('luks.qcow2', 'qcow2'),
                                       ('plain.qcow2', 'raw'), ('plain.vmdk', 'vmdk')])
def test_convert_refuses_what_inspect_rejects(images, tmp_path, name, fmt):
    with pytest.raises(UnsafeImageError):
        convert_to_raw(images / name, tmp_path / 'out.raw', fmt, GIB)
    assert list(tmp_path.iterdir()) == []


def test_convert_failure_carries_stderr_and_leaves_nothing(images, tmp_path):
    dest = tmp_path / 'out.raw'
    dest.write_bytes(b'previous')
    with pytest.raises(ConversionError, match=r'qemu-img convert failed \(exit 1\): .*L1'):
        convert_to_raw(images / 'bad-l1.qcow2', dest, 'qcow2', GIB)
    assert dest.read_bytes() == b'previous'
    assert [p.name for p in tmp_path.iterdir()] == ['out.raw']


def test_convert_without_qemu_img(images, tmp_path, monkeypatch):
    monkeypatch.setattr(_diskimage.shutil, 'which', lambda name: None)
    with pytest.raises(ConversionError, match='qemu-img not found'):
        convert_to_raw(images / 'plain.qcow2', tmp_path / 'out.raw', 'qcow2', GIB)
    assert list(tmp_path.iterdir()) == []


def test_vendor_pipeline_xz_qcow2_to_raw(images, tmp_path):
    """FCOS-style: .qcow2.xz -> decompress (capped) -> inspect -> raw; Flatcar differs only in bz2/gz."""
    packed = tmp_path / 'image.qcow2.xz'
    packed.write_bytes(lzma.compress((images / 'plain.qcow2').read_bytes(), preset=0))
    expanded = decompress(packed, tmp_path / 'image.qcow2', 'xz', max_bytes=64 << 20)
    assert expanded['expanded']['md5'] == _md5(images / 'plain.qcow2')
    result = convert_to_raw(tmp_path / 'image.qcow2', tmp_path / 'image.raw', 'qcow2', GIB)
    assert result['digests']['md5'] == convert_to_raw(images / 'plain.qcow2', tmp_path / 'ref.raw', 'qcow2', GIB)['digests']['md5']
    assert min_disk_gib(result['info'].virtual_size) == 1


def test_expansion_cap_from_the_head_of_an_expanding_image(images, tmp_path):
    head = tmp_path / 'head'
    head.write_bytes((images / 'plain.qcow2').read_bytes()[:4 << 20])
    assert _diskimage.expansion_cap(head, 'qcow2', max_virtual_size=GIB) == SIZE + SIZE // 8 + (4 << 20)
    with pytest.raises(UnsafeImageError, match='declares a virtual size of 16777216 bytes, more than the allowed 1048576'):
        _diskimage.expansion_cap(head, 'qcow2', max_virtual_size=1 << 20)
    raw = tmp_path / 'raw-head'
    raw.write_bytes(bytes(4 << 20))
    with pytest.raises(UnsafeImageError, match='it was declared qcow2 but its content is raw'):
        _diskimage.expansion_cap(raw, 'qcow2', max_virtual_size=GIB)
    assert _diskimage.expansion_cap(raw, None, max_virtual_size=GIB) == GIB  # raw: the virtual size cap
    with pytest.raises(UnsafeImageError, match='vmdk, which is not an allowed format'):
        _diskimage.expansion_cap(images / 'plain.vmdk', None, max_virtual_size=GIB)
