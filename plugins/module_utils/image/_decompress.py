# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Bounded, streaming decompression of downloaded images (xz, bz2, gzip).

Vendors ship images compressed (FCOS ``.qcow2.xz``, Flatcar ``.img.bz2``/``.img.gz``) and
Glance cannot expand xz/bz2 itself, so we do it. The compressed file is untrusted: the
expanded size is capped *while* inflating (output never exceeds ``max_bytes``, memory stays
at about one chunk), the result appears at ``dest`` only on success (temp file + rename),
concatenated members are expanded like ``xz -d``/``bzip2 -d``/``gzip -d`` do, and any byte
after the last member (except xz stream padding) is an error rather than silently dropped.

A bomb is refused early: the caller's ``check_head`` judges the first HEAD_BYTES of expanded
output (format, declared virtual size) before anything more is written, and may lower the cap.
The xz decoder's memory is limited too: a stream header can ask for a 4 GiB dictionary.
"""

from __future__ import annotations

import bz2
import lzma
import os
import tempfile
import zlib

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import (
    STANDARD_DIGESTS, MultiHasher)

CHUNK = 1 << 20
HEAD_BYTES = 4 << 20   # expanded bytes check_head sees: every image header fits
# xz -9 needs 65 MiB to decompress and vendors use less; a larger dictionary is an attack.
XZ_MEMLIMIT = 256 << 20

# name -> magic bytes at offset 0 (gzip: magic + deflate method; bz2: 'BZh' + block size digit).
_MAGIC = {
    'xz': (b'\xfd7zXZ\x00',),
    'bz2': tuple(b'BZh' + bytes([d]) for d in b'123456789'),
    'gzip': (b'\x1f\x8b\x08',),
}
_ALIASES = {'xz': 'xz', 'bz2': 'bz2', 'bzip2': 'bz2', 'gz': 'gzip', 'gzip': 'gzip'}
_SUFFIXES = {'.xz': 'xz', '.bz2': 'bz2', '.gz': 'gzip'}
# What the stdlib decompressors raise on corrupt input (bz2 raises OSError).
_CODEC_ERRORS = (lzma.LZMAError, OSError, zlib.error, EOFError, ValueError)


class DecompressionError(ValueError):
    """The compressed input is corrupt, of another kind than declared, or expands past the cap."""


def normalize_compression(name):
    """``'gz'``/``'GZIP'`` -> ``'gzip'``, ``'bzip2'`` -> ``'bz2'``; unknown names raise DecompressionError."""
    key = str(name).strip().lower().lstrip('.')
    if key not in _ALIASES:
        raise DecompressionError(f'unsupported compression {name!r} (supported: xz, bz2, gzip)')
    return _ALIASES[key]


def compression_from_name(filename):
    """The compression a file name declares by its suffix (``x.qcow2.xz`` -> ``'xz'``), else None."""
    return _SUFFIXES.get(os.path.splitext(str(filename))[1].lower())


def detect_compression(path):
    """The compression named by the file's magic bytes, or None when it is none we know."""
    with open(path, 'rb') as handle:
        head = handle.read(6)
    for name, magics in _MAGIC.items():
        if head.startswith(magics):
            return name
    return None


class _Gzip:
    """zlib's decompressobj behind the lzma/bz2 decompressor interface (``needs_input``, ``unused_data``)."""

    def __init__(self):
        self._inflater = zlib.decompressobj(wbits=31)  # 31: gzip header and trailer, one member
        self._tail = b''
        self._full = False

    def decompress(self, data, max_length):
        out = self._inflater.decompress(self._tail + data, max_length)
        self._tail = self._inflater.unconsumed_tail
        # A full output block may leave output pending inside zlib even with no input left.
        self._full = len(out) == max_length
        return out

    @property
    def needs_input(self):
        return not (self._tail or self._full)

    @property
    def eof(self):
        return self._inflater.eof

    @property
    def unused_data(self):
        return self._inflater.unused_data


def _new_decompressor(kind):
    if kind == 'xz':
        # FORMAT_XZ only: a bare .lzma/raw stream is not what any vendor ships.
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)
    if kind == 'bz2':
        return bz2.BZ2Decompressor()
    return _Gzip()


def _strip_padding(data, kind):
    """xz allows NUL stream padding between and after streams; the other formats allow nothing."""
    return data.lstrip(b'\x00') if kind == 'xz' else data


def _inflate(read, kind):
    """Yield expanded blocks of at most CHUNK bytes, member after member, until the input ends."""
    decompressor = _new_decompressor(kind)
    members, padding = 0, 0
    while True:
        if decompressor.eof:
            members += 1
            pending = decompressor.unused_data
            stripped = _strip_padding(pending, kind)
            padding += len(pending) - len(stripped)
            while not stripped:
                pending = read()
                if not pending:
                    _check_padding(padding, kind)
                    return
                stripped = _strip_padding(pending, kind)
                padding += len(pending) - len(stripped)
            _check_padding(padding, kind)
            padding = 0
            decompressor = _new_decompressor(kind)
            data = stripped
        elif decompressor.needs_input:
            data = read()
            if not data:
                raise DecompressionError(f'{kind} stream {members + 1} is truncated')
        else:
            data = b''
        try:
            yield decompressor.decompress(data, CHUNK)
        except lzma.LZMAError as exc:
            if 'memory' in str(exc).lower():
                raise DecompressionError(f'xz stream {members + 1} needs more memory than the limit of '
                                         f'{XZ_MEMLIMIT >> 20} MiB (its dictionary is larger than any vendor uses); '
                                         f'refused') from None
            where = 'trailing data after the last stream' if members else 'corrupt data'
            raise DecompressionError(f'{kind}: {where} ({exc})') from None
        except _CODEC_ERRORS as exc:
            where = 'trailing data after the last stream' if members else 'corrupt data'
            raise DecompressionError(f'{kind}: {where} ({exc})') from None


def _check_padding(padding, kind):
    if padding % 4:
        raise DecompressionError(f'{kind}: stream padding of {padding} bytes is not a multiple of 4')


def decompress(src, dest, compression, max_bytes, algorithms=STANDARD_DIGESTS, progress=None, check_head=None):
    """Expand ``src`` into ``dest`` atomically and hash both sides in the same pass.

    ``compression`` is the declared kind (``xz``/``bz2``/``gzip`` or an alias); the magic bytes must
    agree. More than ``max_bytes`` of output aborts the run before the excess is written.
    ``check_head(path)`` is called once HEAD_BYTES are written to the file ``path``: it raises
    ValueError to refuse the expansion, or returns a lower byte cap (None: keep ``max_bytes``).
    ``progress(written)`` is called after every block. Returns
    ``{'compressed': {algo: hex}, 'expanded': {algo: hex}, 'size': expanded bytes}``.
    """
    kind = normalize_compression(compression)
    found = detect_compression(src)
    if found != kind:
        raise DecompressionError(f'{src} was declared {kind} but its content is {found or "not xz, bz2 or gzip"}')
    try:
        compressed, expanded = MultiHasher(algorithms), MultiHasher(algorithms)
    except ValueError as exc:  # ChecksumError: an unknown algorithm
        raise DecompressionError(str(exc)) from None
    dest = os.path.abspath(dest)
    fd, part = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=f'.{os.path.basename(dest)}.', suffix='.part')
    try:
        with open(src, 'rb') as source, os.fdopen(fd, 'wb') as out:
            head = None
            if check_head is not None:
                def head():
                    out.flush()
                    return check_head(part)
            size = _expand(source, out, kind, max_bytes, (compressed, expanded), progress, head)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, dest)
    except BaseException:
        # Covers KeyboardInterrupt and a killed module too: no half-written image survives.
        _unlink(part)
        raise
    return {'compressed': compressed.hexdigests(), 'expanded': expanded.hexdigests(), 'size': size}


def digest_expansion(src, compression, max_bytes, algorithms=STANDARD_DIGESTS, progress=None):
    """Hash what ``src`` expands to without writing it anywhere: the proof that a cached expansion
    came from ``src``, at the cost of one decompression. Returns what :func:`decompress` returns."""
    kind = normalize_compression(compression)
    found = detect_compression(src)
    if found != kind:
        raise DecompressionError(f'{src} was declared {kind} but its content is {found or "not xz, bz2 or gzip"}')
    compressed, expanded = MultiHasher(algorithms), MultiHasher(algorithms)
    with open(src, 'rb') as source:
        size = _expand(source, None, kind, max_bytes, (compressed, expanded), progress, None)
    return {'compressed': compressed.hexdigests(), 'expanded': expanded.hexdigests(), 'size': size}


def _expand(source, out, kind, max_bytes, digests, progress, head):
    """Inflate ``source`` into ``out`` (None: hash only), hashing both sides; the expanded size."""
    compressed, expanded = digests

    def read():
        chunk = source.read(CHUNK)
        compressed.update(chunk)
        return chunk

    written, cap = 0, max_bytes
    for block in _inflate(read, kind):
        if written + len(block) > cap:
            why = '' if cap == max_bytes else ' by the header of the expanded image'
            raise DecompressionError(f'{kind} expands to more than the allowed {cap} bytes{why}')
        if out is not None:
            out.write(block)
        expanded.update(block)
        written += len(block)
        if head is not None and written >= HEAD_BYTES:
            try:
                cap = min(cap, head() or cap)
            except ValueError as exc:
                raise DecompressionError(f'refused after the first {written} expanded bytes: {exc}') from None
            head = None
        if progress is not None:
            progress(written)
    return written


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
