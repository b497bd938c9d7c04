# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Parse vendor checksum files and answer "what is the expected digest of file NAME".

Checksum files come from the network and are untrusted. The line for the chosen file is read
strictly; lines about other files that do not parse are ignored with a warning, because real
files carry such drift (Rocky 9.0/9.1 size lines without ``#``, a Rocky 8.7 file listing one
name twice with two sizes) and must still serve their other entries. A *problem* line (one
that does not parse, names a dangerous path, or gives a second digest for a name) poisons
every name it mentions: :func:`select` refuses a file whose name appears in one as a whole
word. What stays fatal for the whole file: not UTF-8, NUL bytes, an over-long line, or a
malformed clearsigned wrapper.

Grammars (auto-detected line by line):

* GNU ``<hex>  <name>`` (text), ``<hex> *<name>`` (binary), ``<hex> <name>`` (single space);
* BSD tag ``SHA256 (<name>) = <hex>``, with optional ``# <name>: <N> bytes`` size comments;
* Flatcar ``.DIGESTS``: ``# MD5 HASH`` / ``# SHA1 HASH`` / ``# SHA512 HASH`` section headers,
  each followed by GNU lines of that algorithm;
* an OpenPGP clearsigned wrapper around any of the above. :func:`parse` then reads the
  body, which is *not* a verification: for signed files parse the body returned by
  ``_signatures.verify_clearsigned`` instead.

Names: a leading ``./`` is dropped. An entry whose name has a directory part
(``sub/name``) is found by its full name, or by its basename when no entry has exactly
the requested name and exactly one listed path has that basename. Names containing a
``..`` component, starting with ``/``, or containing a backslash, NUL or any other
control character are problem lines. Trailing blanks are stripped from every line, so
names ending in blanks cannot be expressed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass

# hashlib name -> length of the hex digest. Preference for "strongest" follows this order.
ALGORITHMS = {
    'sha512': 128,
    'sha384': 96,
    'sha256': 64,
    'sha224': 56,
    'sha1': 40,
    'md5': 32,
}
_BY_HEX_LENGTH = {length: name for name, length in ALGORITHMS.items()}
# What the verified cache records of every file: Glance's checksum (md5) and the usual os_hash_algo values.
STANDARD_DIGESTS = ('md5', 'sha256', 'sha512')

# Longest line accepted; real checksum lines are < 300 characters.
MAX_LINE_LENGTH = 8192

# GNU coreutils *sum output: Ubuntu (" *"), Debian/AlmaLinux/CirrOS/Flatcar ("  "), openSUSE 15.6 (" ").
_GNU_LINE = re.compile(r'(?P<hex>[0-9A-Fa-f]+) [ *]?(?P<name>[^ ].*)')
# BSD tag lines (sha256sum --tag): Fedora, Rocky Linux, CentOS Stream.
_BSD_LINE = re.compile(r'(?P<algo>[A-Za-z][A-Za-z0-9-]*) ?\((?P<name>.+)\) ?= ?(?P<hex>[0-9A-Fa-f]+)')
# Size comment preceding BSD lines: Fedora, Rocky Linux; Rocky 8.7/9.0/9.1 wrote it without "#".
_SIZE_COMMENT = re.compile(r'#\s*(?P<name>.+): (?P<size>[0-9]+) bytes')
_SIZE_LINE = re.compile(r'(?P<name>[^#\s].*): (?P<size>[0-9]+) bytes')
# Section header in Flatcar *.DIGESTS files.
_SECTION_HEADER = re.compile(r'#\s*(?P<algo>[A-Za-z0-9-]+) HASH', re.IGNORECASE)
# Armor header inside an OpenPGP clearsigned message ("Hash: SHA256"): Fedora, Flatcar.
_ARMOR_HEADER = re.compile(r'[A-Za-z][A-Za-z0-9-]*: .*')

_UNKNOWN_SECTION = object()  # lines under an unsupported section header are never used
_CLEARSIGN_BEGIN = '-----BEGIN PGP SIGNED MESSAGE-----'
_SIGNATURE_BEGIN = '-----BEGIN PGP SIGNATURE-----'
_SIGNATURE_END = '-----END PGP SIGNATURE-----'
_FORBIDDEN_CATEGORIES = ('Cc', 'Cf', 'Cs', 'Zl', 'Zp')


class ChecksumError(ValueError):
    """A checksum list is malformed or ambiguous, or does not list the wanted file."""


@dataclass(frozen=True)
class Checksum:
    """One expected digest: ``hexdigest`` is lowercase, ``algorithm`` a hashlib name."""

    name: str
    algorithm: str
    hexdigest: str
    size: int | None = None

    def matches(self, hexdigest):
        """Compare with a computed hex digest (case-insensitive, constant time)."""
        return hmac.compare_digest(self.hexdigest.encode(), str(hexdigest).lower().encode())


def _where(source, number=None):
    where = source or 'checksum list'
    return f'{where}: line {number}' if number else where


def normalize_algorithm(name):
    """``'SHA-256'``/``'SHA256'``/``'sha256'`` -> ``'sha256'``; unknown names raise ChecksumError."""
    algorithm = str(name).strip().lower().replace('-', '').replace('_', '')
    if algorithm not in ALGORITHMS:
        raise ChecksumError(f'unsupported hash algorithm {name!r} (supported: {", ".join(ALGORITHMS)})')
    return algorithm


def algorithm_for_hex(hexdigest):
    """Infer the algorithm from the length of a hex digest (32 md5, 40 sha1, 64 sha256, 128 sha512...)."""
    algorithm = _BY_HEX_LENGTH.get(len(hexdigest))
    if algorithm is None:
        raise ChecksumError(f'a hex digest of {len(hexdigest)} characters matches no supported algorithm')
    return algorithm


def normalize_hex(value, algorithm=None):
    """Validate a hex digest from a JSON source; return ``(algorithm, lowercase hex)``.

    Without ``algorithm`` it is inferred from the length; with it, the length must fit.
    """
    text = str(value).strip()
    if not text or len(text) > max(ALGORITHMS.values()) or any(c not in '0123456789abcdefABCDEF' for c in text):
        raise ChecksumError(f'not a hex digest: {text[:140]!r}')
    text = text.lower()
    if algorithm is None:
        return algorithm_for_hex(text), text
    algorithm = normalize_algorithm(algorithm)
    if len(text) != ALGORITHMS[algorithm]:
        raise ChecksumError(f'{algorithm} digest must have {ALGORITHMS[algorithm]} hex characters, got {len(text)}')
    return algorithm, text


# Enough alone to name a file's bytes; md5 and sha1 are only accepted next to one of these.
STRONG_ALGORITHMS = ('sha512', 'sha384', 'sha256')


def require_strong(algorithm, what=None):
    """Refuse md5, sha1 (and sha224) as the digest that identifies a file: collisions can be made."""
    if algorithm not in STRONG_ALGORITHMS:
        raise ChecksumError(f'{what + ": " if what else ""}{algorithm} alone cannot identify a file; '
                            'give a sha256 or stronger digest')
    return algorithm


def parse_digest(value, bare=False, weak=False, what=None):
    """``'<algorithm>:<hex>'`` -> ``(algorithm, lowercase hex)``; ChecksumError (a ValueError) naming the problem.

    With ``bare`` a plain hex digest is accepted too, its algorithm following from its length.
    md5 and sha1 are refused unless ``weak`` (an extra digest beside a strong one). ``what``
    names the value in messages.
    """
    text = str(value or '').strip()
    where = f'{what} {text[:150]!r}: ' if what else ''
    algorithm, sep, hexdigest = text.partition(':')
    if not sep:
        if not bare:
            raise ChecksumError(f'{where}not <algorithm>:<hex>' if what else f'{text[:150]!r} is not <algorithm>:<hex>')
        algorithm, hexdigest = None, text
    try:
        algorithm, hexdigest = normalize_hex(hexdigest, algorithm)
    except ChecksumError as exc:
        raise ChecksumError(f'{where}{exc}') from None
    return (algorithm if weak else require_strong(algorithm, what)), hexdigest


def debian_digest_to_hex(value):
    """Debian cloud JSON ``"sha512:<base64, padding stripped>"`` -> ``('sha512', hex)``."""
    algorithm, sep, encoded = str(value).strip().partition(':')
    if not sep:
        raise ChecksumError(f'expected "<algorithm>:<base64>", got {str(value)[:140]!r}')
    algorithm = normalize_algorithm(algorithm)
    encoded = encoded.rstrip('=')
    try:
        raw = base64.b64decode(encoded + '=' * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ChecksumError(f'invalid base64 in {algorithm} digest: {exc}') from None
    if len(raw) * 2 != ALGORITHMS[algorithm]:
        raise ChecksumError(f'{algorithm} digest must be {ALGORITHMS[algorithm] // 2} bytes, got {len(raw)}')
    return algorithm, raw.hex()


def clearsigned_body(text, source=None):
    """Return the signed body of an OpenPGP clearsigned message, or None if ``text`` is not one.

    Dash-escaping is undone and lines end in ``\\n``. The signature is NOT checked here.
    Text outside the armor, a second signed message or a malformed wrapper raise ChecksumError.
    """
    lines = [line.rstrip(' \t\r') for line in _as_text(text, source).split('\n')]
    if _CLEARSIGN_BEGIN not in lines:
        return None
    start = lines.index(_CLEARSIGN_BEGIN)
    if lines.count(_CLEARSIGN_BEGIN) > 1:
        raise ChecksumError(f'{_where(source)}: more than one clearsigned message')
    if any(line.strip() for line in lines[:start]):
        raise ChecksumError(f'{_where(source)}: text before the clearsigned message')
    index = start + 1
    while index < len(lines) and lines[index]:
        if not _ARMOR_HEADER.fullmatch(lines[index]):
            raise ChecksumError(f'{_where(source, index + 1)}: invalid armor header in clearsigned message')
        index += 1
    body = []
    index += 1
    while index < len(lines) and lines[index] != _SIGNATURE_BEGIN:
        line = lines[index]
        if line.startswith('- '):
            line = line[2:]
        elif line.startswith('-'):
            raise ChecksumError(f'{_where(source, index + 1)}: line starting with "-" is not dash-escaped')
        body.append(line)
        index += 1
    if index >= len(lines):
        raise ChecksumError(f'{_where(source)}: clearsigned message has no signature block')
    if _SIGNATURE_END not in lines[index:]:
        raise ChecksumError(f'{_where(source)}: clearsigned message has an unterminated signature block')
    end = lines.index(_SIGNATURE_END, index)
    if any(line.strip() for line in lines[end + 1:]):
        raise ChecksumError(f'{_where(source)}: text after the clearsigned message')
    return ''.join(line + '\n' for line in body)


def _as_text(text, source):
    if isinstance(text, (bytes, bytearray)):
        try:
            return bytes(text).decode('utf-8')
        except UnicodeDecodeError as exc:
            raise ChecksumError(f'{_where(source)}: not UTF-8 text ({exc.reason} at byte {exc.start})') from None
    if not isinstance(text, str):
        raise ChecksumError(f'{_where(source)}: expected text, got {type(text).__name__}')
    return text


def _clean_name(name, where):
    """Validate a listed file name and drop leading ``./``; raise on anything path-like and dangerous."""
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise ChecksumError(f'{where}: file name contains control character U+{ord(char):04X}: {name!r}')
    if '\\' in name:
        raise ChecksumError(f'{where}: file name contains a backslash: {name!r}')
    if name.startswith('/'):
        raise ChecksumError(f'{where}: file name is an absolute path: {name!r}')
    parts = name.split('/')
    if '..' in parts:
        raise ChecksumError(f'{where}: file name contains "..": {name!r}')
    while len(parts) > 1 and parts[0] == '.':
        parts.pop(0)
    if parts[-1] in ('', '.'):
        raise ChecksumError(f'{where}: entry does not name a file: {name!r}')
    return '/'.join(parts)


def _entry(name, algorithm, hexdigest, where):
    if len(hexdigest) != ALGORITHMS[algorithm]:
        raise ChecksumError(f'{where}: {algorithm} digest must have {ALGORITHMS[algorithm]} hex characters, '
                            f'got {len(hexdigest)}')
    return Checksum(_clean_name(name, where), algorithm, hexdigest.lower())


class Problem(ValueError):
    """One line that was not used; ``names`` are the file names it concerns, when readable."""

    def __init__(self, message, line='', names=()):
        super().__init__(message)
        self.line = line
        self.names = tuple(names)

    def concerns(self, name):
        """True when ``name`` (or its basename) is one of ``names`` or a whole word of the line."""
        base = name.rsplit('/', 1)[-1]
        if any(n == name or n.rsplit('/', 1)[-1] == base for n in self.names):
            return True
        return re.search(r'(?<![A-Za-z0-9._+~-])%s(?![A-Za-z0-9._+~-])' % re.escape(base), self.line) is not None


class Checksums(list):
    """The entries of a checksum list; ``problems`` are the lines not used (see module docs)."""

    def __init__(self, entries=(), problems=()):
        super().__init__(entries)
        self.problems = list(problems)

    @property
    def warnings(self):
        return [f'{problem}; the line is ignored' for problem in self.problems]


def parse(text, source=None):
    """Parse a checksum list (any supported grammar) into :class:`Checksums`.

    ``text`` may be str or UTF-8 bytes; ``source`` (URL or file name) is used in messages.
    Entries are de-duplicated; a name listed with two digests for one algorithm becomes a problem.
    """
    text = _as_text(text, source)
    body = clearsigned_body(text, source)
    if body is not None:
        text = body
    if '\x00' in text:
        raise ChecksumError(f'{_where(source)}: contains NUL bytes')
    entries, sizes, problems = [], {}, []
    section = None
    for number, line in enumerate(text.split('\n'), 1):
        line = line.rstrip(' \t\r')
        where = _where(source, number)
        if len(line) > MAX_LINE_LENGTH:
            raise ChecksumError(f'{where}: line longer than {MAX_LINE_LENGTH} characters')
        if not line.strip():
            continue
        try:
            section = _parse_line(line, where, section, entries, sizes)
        except ChecksumError as exc:
            names = getattr(exc, 'names', ())
            if names == (_UNKNOWN_SECTION,):
                section, names = _UNKNOWN_SECTION, ()
            problems.append(Problem(str(exc), line, names))
    unique = _deduplicate(entries, source, problems)
    return Checksums([Checksum(e.name, e.algorithm, e.hexdigest, _size(sizes, e.name, source, problems))
                      for e in unique], problems)


def _named(exc, *names):
    exc.names = names
    return exc


def _parse_line(line, where, section, entries, sizes):
    """Add the entry of one line to ``entries`` (or a size to ``sizes``); return the section."""
    if line.startswith('#'):
        header = _SECTION_HEADER.fullmatch(line)
        size = _SIZE_COMMENT.fullmatch(line)
        if header:
            try:
                return normalize_algorithm(header['algo'])
            except ChecksumError as exc:
                raise _named(ChecksumError(f'{where}: {exc}'), _UNKNOWN_SECTION) from None
        if size:
            try:
                sizes.setdefault(_clean_name(size['name'], where), set()).add(int(size['size']))
            except ChecksumError as exc:
                raise _named(exc, size['name']) from None
        return section
    bsd = _BSD_LINE.fullmatch(line)
    gnu = _GNU_LINE.fullmatch(line)
    if bsd:
        try:
            entries.append(_entry(bsd['name'], normalize_algorithm(bsd['algo']), bsd['hex'], where))
        except ChecksumError as exc:
            raise _named(exc, bsd['name']) from None
    elif gnu:
        if section == _UNKNOWN_SECTION:
            raise _named(ChecksumError(f'{where}: digest in a section of an unsupported algorithm'), gnu['name'])
        algorithm = section or _BY_HEX_LENGTH.get(len(gnu['hex']))
        if algorithm is None:
            raise _named(ChecksumError(f'{where}: a hex digest of {len(gnu["hex"])} characters matches no '
                                       f'supported algorithm'), gnu['name'])
        try:
            entries.append(_entry(gnu['name'], algorithm, gnu['hex'], where))
        except ChecksumError as exc:
            raise _named(exc, gnu['name']) from None
    elif _SIZE_LINE.fullmatch(line):
        size = _SIZE_LINE.fullmatch(line)
        try:
            sizes.setdefault(_clean_name(size['name'], where), set()).add(int(size['size']))
        except ChecksumError as exc:
            raise _named(exc, size['name']) from None
    else:
        raise ChecksumError(f'{where}: not a checksum line: {line[:80]!r}')
    return section


def _size(sizes, name, source, problems):
    """The listed size of ``name``; two sizes (real: Rocky 8.7 ISOs) give None and a warning.

    Sizes are advisory, the digest decides, so this does not refuse the name.
    """
    listed = sizes.get(name, set())
    if len(listed) > 1:
        sizes_text = ', '.join(map(str, sorted(listed)))
        problems.append(Problem(f'{_where(source)}: conflicting sizes for {name!r} ({sizes_text})'))
    return next(iter(listed)) if len(listed) == 1 else None


def _deduplicate(entries, source, problems):
    unique, conflicting = {}, set()
    for entry in entries:
        key = (entry.name, entry.algorithm)
        known = unique.setdefault(key, entry)
        if known.hexdigest != entry.hexdigest:
            conflicting.add(key)
            problems.append(Problem(
                f'{_where(source)}: {entry.name!r} is listed with two different {entry.algorithm} digests '
                f'({known.hexdigest} and {entry.hexdigest})', names=(entry.name,)))
    return [entry for key, entry in unique.items() if key not in conflicting]


def select(entries, name, algorithm=None, source=None):
    """Pick the entry for file ``name`` from parsed ``entries`` (see module docs for name rules).

    With ``algorithm`` only that algorithm is accepted; otherwise the strongest listed one wins.
    A problem line that concerns ``name`` refuses the pick: its line must be read strictly.
    """
    wanted = name[2:] if name.startswith('./') else name
    for problem in getattr(entries, 'problems', ()):
        if problem.concerns(wanted):
            raise ChecksumError(f'{problem}; refusing {name!r}, whose own line must be unambiguous')
    candidates = [e for e in entries if e.name == wanted]
    if not candidates and '/' not in wanted:
        candidates = [e for e in entries if e.name.rsplit('/', 1)[-1] == wanted]
        paths = sorted({e.name for e in candidates})
        if len(paths) > 1:
            raise ChecksumError(f'{_where(source)}: {name!r} is ambiguous, several paths have that basename: '
                                f'{", ".join(paths)}')
    if not candidates:
        raise ChecksumError(f'{name!r} is not listed in {_where(source)}')
    if algorithm is not None:
        algorithm = normalize_algorithm(algorithm)
        for entry in candidates:
            if entry.algorithm == algorithm:
                return entry
        listed = ', '.join(sorted(e.algorithm for e in candidates))
        raise ChecksumError(f'{name!r} is listed in {_where(source)} without a {algorithm} digest (only {listed})')
    order = list(ALGORITHMS)
    return min(candidates, key=lambda e: order.index(e.algorithm))


def find(text, name, algorithm=None, source=None):
    """Parse ``text`` and return the :class:`Checksum` for file ``name`` (raises ChecksumError)."""
    return select(parse(text, source), name, algorithm, source)


def hash_algorithm(name):
    """A vendor algorithm (:func:`normalize_algorithm`) or any other fixed-length hashlib one.

    Glance's ``os_hash_algo`` is its configured ``hashing_algorithm``, for example ``sha3_512``
    (``'SHA3-512'`` is accepted too); shake_* needs a length, so it is not offered.
    """
    try:
        return normalize_algorithm(name)
    except ChecksumError:
        key = str(name).strip().lower()
        for candidate in (key.replace('-', '_'), key.replace('-', '').replace('_', '')):
            if candidate in hashlib.algorithms_available and not candidate.startswith('shake'):
                return candidate
        raise


class MultiHasher:
    """Feed data once, get several digests: ``MultiHasher(['md5', 'sha256']).update(chunk)``.

    The one multi-digest helper: downloads, the cache, decompression, raw conversion, Glance checks.
    """

    def __init__(self, algorithms):
        names = [hash_algorithm(a) for a in algorithms]
        if not names:
            raise ChecksumError('MultiHasher needs at least one algorithm')
        # md5/sha1 are used for integrity comparison, not security; keeps working under FIPS.
        self._hashes = {n: hashlib.new(n, usedforsecurity=False) for n in dict.fromkeys(names)}
        self.size = 0

    def update_file(self, path, chunk_size=1 << 20):
        """Feed the whole file at ``path`` (or an open binary file); returns the hasher."""
        with (open(path, 'rb') if isinstance(path, (str, bytes, os.PathLike)) else path) as handle:
            for chunk in iter(lambda: handle.read(chunk_size), b''):
                self.update(chunk)
        return self

    @property
    def algorithms(self):
        return tuple(self._hashes)

    def update(self, chunk):
        for digest in self._hashes.values():
            digest.update(chunk)
        self.size += len(chunk)

    def hexdigest(self, algorithm):
        algorithm = hash_algorithm(algorithm)
        if algorithm not in self._hashes:
            raise ChecksumError(f'{algorithm} was not computed (only {", ".join(self._hashes)})')
        return self._hashes[algorithm].hexdigest()

    def hexdigests(self):
        return {name: digest.hexdigest() for name, digest in self._hashes.items()}

    def verify(self, expected, what=None):
        """Raise ChecksumError unless the data matches ``expected`` (a :class:`Checksum`), size included."""
        what = what or expected.name
        actual = self.hexdigest(expected.algorithm)
        if not expected.matches(actual):
            raise ChecksumError(f'{expected.algorithm} mismatch for {what}: '
                                f'expected {expected.hexdigest}, got {actual}')
        if expected.size is not None and expected.size != self.size:
            raise ChecksumError(f'size mismatch for {what}: expected {expected.size} bytes, got {self.size}')
