# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""OpenPGP signature checks by running ``gpgv`` (GnuPG's verify-only tool).

Policy, failing closed:

* every run uses a private temporary home directory and copies of the given keyrings
  (armored keyrings are de-armored here, since gpgv reads binary keyrings only);
* the result is read from ``--status-fd`` lines: the run must exit 0, report at least one
  ``VALIDSIG``, and report none of BADSIG, ERRSIG, EXPSIG, EXPKEYSIG, REVKEYSIG, NO_PUBKEY,
  NODATA, BADARMOR or FAILURE;
* every valid signature must come from a pinned key. A pin matches the *primary* key
  fingerprint reported by VALIDSIG (so signing subkeys of a pinned key, e.g. Flatcar's yearly
  subkeys, are accepted) or the signing (sub)key fingerprint itself;
* fingerprints are full v4 (40 hex) or v5/v6 (64 hex) fingerprints; spaces and a ``0x``
  prefix are ignored, case does not matter. Short key ids are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shutil
import subprocess
import tempfile

GPGV_CANDIDATES = ('gpgv', 'gpgv2')
DEFAULT_TIMEOUT = 120
# Most specific first: gpgv reports NO_PUBKEY together with the more generic ERRSIG.
_FAILURE_STATUS = ('BADSIG', 'EXPKEYSIG', 'REVKEYSIG', 'EXPSIG', 'NO_PUBKEY', 'ERRSIG', 'NODATA', 'BADARMOR', 'FAILURE')
_ARMOR_BEGIN = '-----BEGIN PGP PUBLIC KEY BLOCK-----'
_ARMOR_END = '-----END PGP PUBLIC KEY BLOCK-----'
_CLEARSIGN_BEGIN = b'-----BEGIN PGP SIGNED MESSAGE-----'


# Status keywords that a newer copy of the vendor's keyring can cure (key rotation).
KEY_STATUS = ('NO_PUBKEY', 'EXPKEYSIG', 'KEYEXPIRED')


class SignatureError(Exception):
    """A signature is missing, invalid, made by an unpinned key, or could not be checked.

    ``keywords`` are the gpgv status keywords seen (empty when gpgv did not run).
    """

    keywords = frozenset()

    @property
    def missing_key(self):
        """True when the signer's key is absent or expired in the keyring used."""
        return bool(self.keywords & set(KEY_STATUS))


def normalize_fingerprint(value):
    """``'D2EB 4462 ... 7C81'`` -> ``'D2EB44626FDD...7C81'``; raise SignatureError unless a full fingerprint."""
    text = ''.join(str(value).split()).upper()
    if text.startswith('0X'):
        text = text[2:]
    if len(text) not in (40, 64) or any(c not in '0123456789ABCDEF' for c in text):
        raise SignatureError(f'not a full OpenPGP fingerprint (40 or 64 hex digits): {str(value)!r}')
    return text


def _pins(trusted_fingerprints):
    if isinstance(trusted_fingerprints, (str, bytes)):
        trusted_fingerprints = [trusted_fingerprints]
    pins = [normalize_fingerprint(f) for f in trusted_fingerprints or ()]
    if not pins:
        raise SignatureError('no trusted fingerprints given; refusing to accept any signature')
    return pins


def find_gpgv(gpgv=None):
    """Return the path of the gpgv executable (``gpgv`` may be a name or path) or raise SignatureError."""
    for candidate in [gpgv] if gpgv else GPGV_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    raise SignatureError(f'{gpgv or "gpgv"} not found on PATH; '
                         'install GnuPG\'s gpgv (Debian/Ubuntu package "gpgv", RHEL "gnupg2")')


def dearmor(data, what='keyring'):
    """Turn ASCII-armored public key block(s) into binary OpenPGP packets; binary input is returned as is."""
    if _ARMOR_BEGIN.encode() not in data:
        return data
    try:
        lines = data.decode('ascii').replace('\r', '').split('\n')
    except UnicodeDecodeError:
        raise SignatureError(f'{what}: armored keyring is not ASCII') from None
    packets, chunk, state = [], [], 'outside'
    for line in (line.strip() for line in lines):
        if state == 'outside':
            if line == _ARMOR_BEGIN:
                state, chunk = 'headers', []
        elif state == 'headers' and ':' in line:
            continue
        elif line == _ARMOR_END:
            packets.append(_decode_armor(chunk, what))
            state = 'outside'
        elif state == 'headers' and not line:
            state = 'data'
        elif line.startswith('=') and len(line) == 5:
            state = 'checksum'  # CRC24; the signature check covers integrity
        elif state != 'checksum' and line:
            state = 'data'
            chunk.append(line)
    if state != 'outside':
        raise SignatureError(f'{what}: unterminated armored public key block')
    return b''.join(packets)


def keyring_fingerprints(path):
    """Fingerprints (primary keys and subkeys, v4/v5/v6) of the public keys in a keyring file.

    Reads OpenPGP packets only (armored or binary); a keybox or unreadable file gives an empty
    set, which callers treat as "no pinned key in it".
    """
    try:
        data = dearmor(_read(path, 'keyring'))
    except SignatureError:
        return set()
    found, offset = set(), 0
    while offset < len(data):
        parsed = _packet(data, offset)
        if parsed is None:
            break
        tag, body, offset = parsed
        if tag in (6, 14) and body:
            version = body[0]
            if version == 4:
                found.add(hashlib.sha1(b'\x99' + len(body).to_bytes(2, 'big') + body).hexdigest().upper())
            elif version in (5, 6):
                prefix = b'\x9a' if version == 5 else b'\x9b'
                found.add(hashlib.sha256(prefix + len(body).to_bytes(4, 'big') + body).hexdigest().upper())
    return found


def _packet(data, offset):
    """``(tag, body, next offset)`` of the OpenPGP packet at ``offset``, or None when malformed."""
    header = data[offset]
    if not header & 0x80:
        return None
    if header & 0x40:  # new format
        tag, pos = header & 0x3F, offset + 1
        if pos >= len(data):
            return None
        first = data[pos]
        if first < 192:
            length, pos = first, pos + 1
        elif first < 224:
            length, pos = ((first - 192) << 8) + data[pos + 1] + 192, pos + 2
        elif first == 255:
            length, pos = int.from_bytes(data[pos + 1:pos + 5], 'big'), pos + 5
        else:
            return None  # partial lengths never occur in key packets
    else:
        tag, kind, pos = (header >> 2) & 0x0F, header & 0x03, offset + 1
        if kind == 3:
            return None
        size = (1, 2, 4)[kind]
        length, pos = int.from_bytes(data[pos:pos + size], 'big'), pos + size
    if pos + length > len(data):
        return None
    return tag, data[pos:pos + length], pos + length


def _decode_armor(chunk, what):
    try:
        return base64.b64decode(''.join(chunk), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f'{what}: invalid base64 in armored public key block') from None


def _read(path, what):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except OSError as exc:
        raise SignatureError(f'cannot read {what} {os.fsdecode(path)!r}: {exc.strerror or exc}') from None


def _prepare_keyrings(keyring_path, workdir):
    """Copy (and de-armor) the keyrings into ``workdir``; return gpgv ``--keyring`` arguments."""
    paths = [keyring_path] if isinstance(keyring_path, (str, bytes, os.PathLike)) else list(keyring_path or ())
    if not paths:
        raise SignatureError('no keyring given')
    args = []
    for number, path in enumerate(paths):
        data = dearmor(_read(path, 'keyring'), f'keyring {os.fsdecode(path)!r}')
        if not data:
            raise SignatureError(f'keyring {os.fsdecode(path)!r} is empty')
        suffix = '.kbx' if data[8:12] == b'KBXf' else '.gpg'
        copy = os.path.join(workdir, f'keyring-{number}{suffix}')
        with open(copy, 'wb') as handle:
            handle.write(data)
        args += ['--keyring', copy]
    return args


def parse_status(text):
    """Split gpgv ``--status-fd`` output into ``[(KEYWORD, [args...]), ...]``."""
    result = []
    for line in text.splitlines():
        if line.startswith('[GNUPG:] '):
            fields = line[len('[GNUPG:] '):].split()
            if fields:
                result.append((fields[0], fields[1:]))
    return result


def _check_status(status, pins, what):
    """Apply the policy to parsed status lines; return the fingerprint that satisfied a pin."""
    failures = sorted(((k, a) for k, a in status if k in _FAILURE_STATUS),
                      key=lambda item: _FAILURE_STATUS.index(item[0]))
    if failures:
        keyword, args = failures[0]
        detail = {
            'BADSIG': 'BAD signature (the data or the signature was altered)',
            'EXPSIG': 'the signature has expired',
            'EXPKEYSIG': 'the signing key has expired',
            'REVKEYSIG': 'the signing key has been revoked',
            'NO_PUBKEY': 'the signing key is not in the keyring',
            'ERRSIG': 'the signature could not be checked (unknown key or unsupported algorithm)',
            'NODATA': 'no OpenPGP signature data found',
        }.get(keyword, 'verification failed')
        key = f' (key {args[0]})' if args and keyword not in ('NODATA', 'FAILURE', 'BADARMOR') else ''
        error = SignatureError(f'{what}: {detail}{key} [{keyword}]')
        error.keywords = frozenset(k for k, _args in status)
        raise error
    valid = [a for k, a in status if k == 'VALIDSIG']
    if not valid:
        raise SignatureError(f'{what}: gpgv reported no valid signature')
    accepted = None
    for args in valid:
        signing = args[0].upper()
        primary = args[9].upper() if len(args) > 9 else signing
        if primary in pins:
            accepted = accepted or primary
        elif signing in pins:
            accepted = accepted or signing
        else:
            raise SignatureError(f'{what}: signed by {primary}, which is not in the trusted list [{", ".join(pins)}]')
    return accepted


def _run_gpgv(arguments, what, gpgv, timeout, workdir):
    command = [find_gpgv(gpgv), '--homedir', workdir, '--status-fd', '1'] + arguments
    env = {'PATH': os.environ.get('PATH', os.defpath), 'LC_ALL': 'C', 'LANGUAGE': 'C',
           'GNUPGHOME': workdir, 'HOME': workdir}
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout,
                                check=False)
    except subprocess.TimeoutExpired:
        raise SignatureError(f'{what}: gpgv did not finish within {timeout} s') from None
    except OSError as exc:
        raise SignatureError(f'{what}: cannot run gpgv: {exc}') from None
    return result


def _verify(arguments, keyring_path, trusted_fingerprints, what, gpgv, timeout, workdir):
    pins = _pins(trusted_fingerprints)
    keyrings = _prepare_keyrings(keyring_path, workdir)
    result = _run_gpgv(keyrings + arguments, what, gpgv, timeout, workdir)
    status = parse_status(result.stdout.decode('utf-8', 'replace'))
    fingerprint = _check_status(status, pins, what)
    if result.returncode != 0:
        message = result.stderr.decode('utf-8', 'replace').strip().splitlines()
        last = message[-1] if message else 'no message'
        raise SignatureError(f'{what}: gpgv exited with status {result.returncode}: {last}')
    return fingerprint


def verify_detached(data_path, signature_path, keyring_path, trusted_fingerprints, gpgv=None, timeout=DEFAULT_TIMEOUT,
                    what=None):
    """Check a detached signature (armored or binary) over the file ``data_path``.

    ``keyring_path`` is one keyring file or a list of them (binary, keybox or armored).
    ``what`` names the pair in messages (default: both paths).
    Returns the pinned fingerprint that signed; raises SignatureError otherwise.
    """
    what = what or f'signature {os.fsdecode(signature_path)!r} over {os.fsdecode(data_path)!r}'
    for path, kind in ((data_path, 'signed file'), (signature_path, 'signature file')):
        if not os.path.isfile(path):
            raise SignatureError(f'{what}: {kind} {os.fsdecode(path)!r} does not exist')
    with tempfile.TemporaryDirectory(prefix='cloudimages-gpgv-') as workdir:
        return _verify(['--', os.path.abspath(signature_path), os.path.abspath(data_path)],
                       keyring_path, trusted_fingerprints, what, gpgv, timeout, workdir)


def verify_clearsigned(text_or_path, keyring_path, trusted_fingerprints, gpgv=None, timeout=DEFAULT_TIMEOUT):
    """Check an OpenPGP clearsigned message; return ``(fingerprint, body)``.

    ``text_or_path`` is the message as bytes, or as str when it contains a newline; a path
    (str without newline, or os.PathLike) is read from disk. ``body`` is the text gpgv
    itself wrote with ``--output`` (dash-escaping undone), never a re-parse of the wrapper.
    """
    if isinstance(text_or_path, os.PathLike) or (isinstance(text_or_path, str) and '\n' not in text_or_path):
        what = f'clearsigned file {os.fsdecode(text_or_path)!r}'
        message = _read(text_or_path, 'clearsigned file')
    else:
        what = 'clearsigned message'
        message = text_or_path.encode('utf-8') if isinstance(text_or_path, str) else bytes(text_or_path)
    if message.count(_CLEARSIGN_BEGIN) != 1:
        raise SignatureError(f'{what}: expected exactly one "{_CLEARSIGN_BEGIN.decode()}" block, '
                             f'found {message.count(_CLEARSIGN_BEGIN)}')
    with tempfile.TemporaryDirectory(prefix='cloudimages-gpgv-') as workdir:
        signed = os.path.join(workdir, 'message.asc')
        output = os.path.join(workdir, 'verified.txt')
        with open(signed, 'wb') as handle:
            handle.write(message)
        fingerprint = _verify(['--output', output, '--', signed], keyring_path, trusted_fingerprints, what, gpgv,
                              timeout, workdir)
        body = _read(output, 'gpgv output')
    try:
        return fingerprint, body.decode('utf-8')
    except UnicodeDecodeError:
        raise SignatureError(f'{what}: the signed text is not UTF-8') from None
