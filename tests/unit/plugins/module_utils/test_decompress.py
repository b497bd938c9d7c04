"""Streaming decompression: round trips, multi-member streams, bombs, corrupt and mislabelled input."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.cloudimages.openstack.plugins.module_utils.image import _decompress
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._decompress import (
    DecompressionError,
    compression_from_name,
    decompress,
    detect_compression,
    normalize_compression,
)

MIB = 1 << 20
COMPRESS = {
    'xz': lambda data: lzma.compress(data, preset=0),
    'bz2': lambda data: bz2.compress(data, 1),
    'gzip': lambda data: gzip.compress(data, 1, mtime=0),
}
KINDS = sorted(COMPRESS)


def _payload(size, seed=1):
    # Half random, half zeros: compresses somewhat, and a few MiB cross many output chunks.
    rnd = random.Random(seed)
    return rnd.randbytes(size // 2) + bytes(size - size // 2)


@pytest.fixture(scope='session')
def payloads():
    return _payload(3 * MIB + 17, 1), _payload(MIB + 5, 2)


@pytest.fixture(scope='session')
def bomb(tmp_path_factory):
    path = tmp_path_factory.mktemp('bomb') / 'bomb.xz'
    path.write_bytes(lzma.compress(bytes(64 * MIB), preset=0))
    return path


def _write(directory, name, data):
    path = directory / name
    path.write_bytes(data)
    return path


def _leftovers(directory, *keep):
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


def _digests(data):
    return {name: hashlib.new(name, data).hexdigest() for name in ('md5', 'sha256', 'sha512')}


@pytest.mark.parametrize('kind', KINDS)
def test_round_trip_hashes_both_sides(tmp_path, payloads, kind):
    packed = COMPRESS[kind](payloads[0])
    src = _write(tmp_path, 'image.' + kind, packed)
    result = decompress(src, tmp_path / 'image', kind, max_bytes=64 * MIB)
    assert (tmp_path / 'image').read_bytes() == payloads[0]
    assert result == {'compressed': _digests(packed), 'expanded': _digests(payloads[0]), 'size': len(payloads[0])}
    assert _leftovers(tmp_path, src.name) == ['image']


@pytest.mark.parametrize('kind', KINDS)
def test_multi_member_is_expanded_completely(tmp_path, payloads, kind):
    packed = COMPRESS[kind](payloads[0]) + COMPRESS[kind](payloads[1]) + COMPRESS[kind](b'')
    src = _write(tmp_path, 'multi', packed)
    result = decompress(src, tmp_path / 'out', kind, max_bytes=64 * MIB)
    assert (tmp_path / 'out').read_bytes() == payloads[0] + payloads[1]
    assert result['size'] == len(payloads[0]) + len(payloads[1])


@pytest.mark.parametrize('chunk', [1, 3, 4096])
@pytest.mark.parametrize('kind', KINDS)
def test_member_boundaries_at_any_chunk_size(tmp_path, monkeypatch, kind, chunk):
    monkeypatch.setattr(_decompress, 'CHUNK', chunk)
    parts = [b'first member ' * 50, b'', b'x', bytes(3000)]
    padding = b'\x00' * 8 if kind == 'xz' else b''
    packed = padding.join(COMPRESS[kind](p) for p in parts) + padding
    src = _write(tmp_path, 'multi', packed)
    decompress(src, tmp_path / 'out', kind, max_bytes=MIB, algorithms=['sha256'])
    assert (tmp_path / 'out').read_bytes() == b''.join(parts)


def test_xz_padding_must_be_a_multiple_of_four(tmp_path):
    src = _write(tmp_path, 'padded.xz', COMPRESS['xz'](b'data') + b'\x00' * 3)
    with pytest.raises(DecompressionError, match='multiple of 4'):
        decompress(src, tmp_path / 'out', 'xz', max_bytes=MIB)
    assert _leftovers(tmp_path, src.name) == []


def test_bomb_stops_at_the_cap_and_leaves_nothing(tmp_path, bomb):
    cap = 8 * MIB
    seen = []

    def progress(written):
        # The temp file is the only other file in the directory while decompressing.
        sizes = [p.stat().st_size for p in tmp_path.iterdir()]
        seen.append((written, max(sizes, default=0)))

    with pytest.raises(DecompressionError, match='more than the allowed'):
        decompress(bomb, tmp_path / 'out', 'xz', max_bytes=cap, progress=progress)
    assert seen, 'decompression made progress before hitting the cap'
    assert max(w for w, s in seen) <= cap
    assert max(s for w, s in seen) <= cap
    assert max(w for w, s in seen) > cap - 2 * MIB  # stopped near the cap, not somewhere early
    assert _leftovers(tmp_path) == []


def test_output_exactly_at_the_cap_is_accepted(tmp_path):
    src = _write(tmp_path, 'exact.gz', COMPRESS['gzip'](bytes(2 * MIB)))
    assert decompress(src, tmp_path / 'out', 'gz', max_bytes=2 * MIB)['size'] == 2 * MIB
    with pytest.raises(DecompressionError):
        decompress(src, tmp_path / 'out2', 'gz', max_bytes=2 * MIB - 1)


@pytest.mark.parametrize('kind', KINDS)
def test_truncated_stream_is_rejected(tmp_path, payloads, kind):
    packed = COMPRESS[kind](payloads[1])
    src = _write(tmp_path, 'cut', packed[: len(packed) - 9])
    with pytest.raises(DecompressionError):
        decompress(src, tmp_path / 'out', kind, max_bytes=64 * MIB)
    assert _leftovers(tmp_path, src.name) == []


# 513 NULs: gzip and bz2 allow no padding, xz only in multiples of 4.
@pytest.mark.parametrize('garbage', [b'garbage!', b'\x00' * 4 + b'junk', b'x', b'\x00' * 513])
@pytest.mark.parametrize('kind', KINDS)
def test_trailing_garbage_is_rejected(tmp_path, kind, garbage):
    src = _write(tmp_path, 'tail', COMPRESS[kind](b'payload' * 1000) + garbage)
    with pytest.raises(DecompressionError):
        decompress(src, tmp_path / 'out', kind, max_bytes=MIB)
    assert _leftovers(tmp_path, src.name) == []


@pytest.mark.parametrize('declared, content', [('xz', 'bz2'), ('bz2', 'gzip'), ('gzip', 'xz'), ('xz', None)])
def test_declared_compression_must_match_the_magic(tmp_path, declared, content):
    data = COMPRESS[content](b'payload') if content else b'QFI\xfb plain qcow2, not compressed'
    src = _write(tmp_path, 'file', data)
    with pytest.raises(DecompressionError, match='declared'):
        decompress(src, tmp_path / 'out', declared, max_bytes=MIB)
    assert _leftovers(tmp_path, src.name) == []


def test_failure_keeps_an_existing_destination(tmp_path):
    dest = _write(tmp_path, 'out', b'previous good image')
    src = _write(tmp_path, 'bad.xz', COMPRESS['xz'](b'a' * 100)[:-4])
    with pytest.raises(DecompressionError):
        decompress(src, dest, 'xz', max_bytes=MIB)
    assert dest.read_bytes() == b'previous good image'
    assert _leftovers(tmp_path, 'out', 'bad.xz') == []


def test_any_hashlib_algorithm_and_bad_names(tmp_path):
    src = _write(tmp_path, 'a.bz2', COMPRESS['bz2'](b'abc'))
    result = decompress(src, tmp_path / 'out', 'bzip2', max_bytes=MIB, algorithms=['SHA3-256', 'blake2b'])
    assert result['expanded'] == {'sha3_256': hashlib.sha3_256(b'abc').hexdigest(), 'blake2b': hashlib.blake2b(b'abc').hexdigest()}
    for bad in (['nope'], ['shake_128'], []):
        with pytest.raises(DecompressionError):
            decompress(src, tmp_path / 'out2', 'bz2', max_bytes=MIB, algorithms=bad)
    assert _leftovers(tmp_path, 'a.bz2', 'out') == []


def test_names_and_magic(tmp_path):
    assert [compression_from_name(n) for n in ('a.qcow2.xz', 'b.img.BZ2', 'c.img.gz', 'd.img', 'xz')] == ['xz', 'bz2', 'gzip', None, None]
    assert [normalize_compression(n) for n in ('.xz', 'GZ', 'bzip2')] == ['xz', 'gzip', 'bz2']
    with pytest.raises(DecompressionError):
        normalize_compression('zstd')
    for kind in KINDS:
        assert detect_compression(_write(tmp_path, kind, COMPRESS[kind](b''))) == kind
    assert detect_compression(_write(tmp_path, 'empty', b'')) is None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), prefix=st.booleans(), body=st.binary(max_size=2048))
def test_arbitrary_bytes_raise_only_decompression_error(kind, prefix, body):
    data = (_decompress._MAGIC[kind][0] + body) if prefix else body
    _check_untrusted(kind, data)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_corrupted_valid_streams_fail_cleanly(kind, data):
    packed = bytearray(COMPRESS[kind](b'hello world ' * 200) * 2)
    position = data.draw(st.integers(0, len(packed) - 1))
    packed[position] ^= data.draw(st.integers(1, 255))
    _check_untrusted(kind, bytes(packed))


def _check_untrusted(kind, data):
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        src = _write(directory, 'src', data)
        try:
            result = decompress(src, directory / 'out', kind, max_bytes=64 * 1024)
        except DecompressionError:
            assert _leftovers(directory, 'src') == []
        else:
            # Some bytes carry no checksum (e.g. gzip's mtime), so a flip there still decodes.
            assert result['size'] == os.path.getsize(directory / 'out') <= 64 * 1024
            assert _leftovers(directory, 'src') == ['out']


def test_check_head_sees_the_first_mibs_and_can_lower_the_cap(tmp_path, bomb):
    seen = []

    def check_head(path):
        seen.append(os.path.getsize(path))
        return 6 * MIB

    with pytest.raises(DecompressionError, match='more than the allowed 6291456 bytes by the header of the expanded image'):
        decompress(bomb, tmp_path / 'out', 'xz', max_bytes=64 * MIB, check_head=check_head)
    assert seen == [_decompress.HEAD_BYTES]  # called once, with the head flushed to the file
    assert _leftovers(tmp_path) == []


def test_check_head_refusal_stops_after_the_head(tmp_path, bomb):
    written = []

    def check_head(path):
        raise ValueError('it was declared qcow2 but its content is raw')

    with pytest.raises(DecompressionError, match=r'refused after the first 4194304 expanded bytes: it was declared qcow2 but its'):
        decompress(bomb, tmp_path / 'out', 'xz', max_bytes=64 * MIB, check_head=check_head, progress=written.append)
    assert max(written) < _decompress.HEAD_BYTES and _leftovers(tmp_path) == []


def _xz_with_dictionary(data, props_byte):
    """An xz stream whose block header asks for the LZMA2 dictionary ``props_byte`` encodes (CRC fixed up).

    liblzma decodes a stream compressed with a small dictionary under a larger declared one, so
    without a memory limit this stream expands fine; the header alone must refuse it.
    """
    import zlib  # pylint: disable=import-outside-toplevel
    blob = bytearray(lzma.compress(data, filters=[{'id': lzma.FILTER_LZMA2, 'dict_size': 1 << 16}]))
    start = 12                                  # block header follows the 12-byte stream header
    size = (blob[start] + 1) * 4
    header = blob[start:start + size]
    assert header[1] & 0x03 == 0 and header[2:4] == b'\x21\x01', 'one LZMA2 filter expected'
    header[4] = props_byte
    header[-4:] = zlib.crc32(bytes(header[:-4])).to_bytes(4, 'little')
    blob[start:start + size] = header
    return bytes(blob)


def test_xz_dictionary_beyond_the_memory_limit_is_refused(tmp_path):
    src = _write(tmp_path, 'huge-dict.xz', _xz_with_dictionary(b'image' * 1000, 36))  # 36: 1 GiB dictionary
    with pytest.raises(DecompressionError, match=r'xz stream 1 needs more memory than the limit of 256 MiB'):
        decompress(src, tmp_path / 'out', 'xz', max_bytes=64 * MIB)
    ok = _write(tmp_path, 'small-dict.xz', _xz_with_dictionary(b'image' * 1000, 16))  # 16: 1 MiB, as usual
    assert decompress(ok, tmp_path / 'out', 'xz', max_bytes=64 * MIB)['size'] == 5000
