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
* an expired signing key (EXPKEYSIG) is refused unless the signature was made before the key
  (and its primary key) expired, by the expiry the keyring's own self-signatures state
  (OpenPGP semantics: a good signature stays good); that is accepted with a warning;
* every valid signature must come from a pinned key. A pin matches the *primary* key
  fingerprint reported by VALIDSIG (so signing subkeys of a pinned key, e.g. Flatcar's yearly
  subkeys, are accepted) or the signing (sub)key fingerprint itself;
* fingerprints are full v4 (40 hex) or v5/v6 (64 hex) fingerprints; spaces and a ``0x``
  prefix are ignored, case does not matter. Short key ids are refused.
"""

from __future__ import annotations

import base64
import binascii
import datetime
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


def key_expiries(data):
    """``{fingerprint: expiry (epoch seconds) or None}`` of the v4 keys and subkeys in binary keyring ``data``.

    The expiry is the key's creation time plus the key expiration time of its newest self-signature
    (a subkey's binding signature, a primary key's user id or direct-key signature).
    """
    keys, newest, current, primary, offset = {}, {}, None, None, 0
    while offset < len(data):
        parsed = _packet(data, offset)
        if parsed is None:
            break
        tag, body, offset = parsed
        if tag in (6, 14) and body[:1] == b'\x04':
            current = hashlib.sha1(b'\x99' + len(body).to_bytes(2, 'big') + body).hexdigest().upper()
            primary = current if tag == 6 else primary
            keys[current] = (int.from_bytes(body[1:5], 'big'), None)
        elif tag in (6, 14):
            current = None  # v5/v6: no expiry read; an expired one stays refused
        elif tag == 2 and current and len(body) > 6 and body[0] == 4:
            wanted = (0x18,) if current != primary else (0x10, 0x11, 0x12, 0x13, 0x1F)
            created, expires, issuers = _signature_subpackets(body)
            by_primary = any(primary.endswith(issuer) for issuer in issuers)  # not a third party's certification
            if body[1] in wanted and by_primary and created is not None and created >= newest.get(current, -1):
                newest[current] = created
                keys[current] = (keys[current][0], expires)
    return {key: (born + life if life else None) for key, (born, life) in keys.items()}


def signature_created(data):
    """Creation time (epoch seconds) of the first v4 signature in a detached signature (armored or binary), or None."""
    if b'-----BEGIN PGP SIGNATURE-----' in data:
        lines = data.decode('ascii', 'replace').replace('\r', '').split('\n')
        start = lines.index('-----BEGIN PGP SIGNATURE-----') + 1 if '-----BEGIN PGP SIGNATURE-----' in lines else 0
        chunk = []
        for line in lines[start:]:
            line = line.strip()
            if line.startswith('-----END') or (line.startswith('=') and len(line) == 5):
                break
            if line and ':' not in line:
                chunk.append(line)
        try:
            data = base64.b64decode(''.join(chunk), validate=True)
        except (binascii.Error, ValueError):
            return None
    parsed = _packet(data, 0) if data else None
    if not parsed or parsed[0] != 2 or len(parsed[1]) < 6 or parsed[1][0] != 4:
        return None
    return _signature_subpackets(parsed[1])[0]


def _signature_subpackets(body):
    """``(creation time, key expiration time, issuers)`` of a v4 signature packet body.

    Times come from the hashed subpackets only; issuers (hex fingerprint or key id) from both.
    """
    hashed_end = 6 + int.from_bytes(body[4:6], 'big')
    unhashed = body[hashed_end + 2:hashed_end + 2 + int.from_bytes(body[hashed_end:hashed_end + 2], 'big')]
    created = expires = None
    issuers = set()
    for hashed, area in ((True, body[6:hashed_end]), (False, unhashed)):
        pos = 0
        while pos < len(area):
            first = area[pos]
            if first < 192:
                length, pos = first, pos + 1
            elif first < 255:
                length, pos = ((first - 192) << 8) + area[pos + 1] + 192, pos + 2
            else:
                length, pos = int.from_bytes(area[pos + 1:pos + 5], 'big'), pos + 5
            kind, value = area[pos] & 0x7F if pos < len(area) else None, area[pos + 1:pos + length]
            if hashed and kind == 2 and len(value) == 4:
                created = int.from_bytes(value, 'big')
            elif hashed and kind == 9 and len(value) == 4:
                expires = int.from_bytes(value, 'big')
            elif kind == 16 and len(value) == 8:
                issuers.add(value.hex().upper())
            elif kind == 33 and len(value) == 21:
                issuers.add(value[1:].hex().upper())
            pos += max(length, 1)
    return created, expires, issuers


def _made_before_expiry(status, expiries):
    """The warning for good signatures all made before their expired keys expired, else None."""
    notes = []
    for args in (a for k, a in status if k == 'VALIDSIG'):
        if len(args) < 10 or not args[2].isdigit():
            return None
        made = int(args[2])
        ends = [expiries.get(args[0].upper()), expiries.get(args[9].upper())]
        known = [end for end in ends if end is not None]
        if args[0].upper() not in expiries or not known or any(made >= end for end in known):
            return None
        notes.append('made %s by key %s, which expired %s' % (_day(made), args[0].upper(), _day(min(known))))
    return notes and ('a good signature %s: accepted, since it was made before the expiry (OpenPGP); '
                      'the vendor signs new files with a newer key' % '; '.join(notes))


def _day(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def _check_status(status, pins, what, expiries=None, warnings=None):
    """Apply the policy to parsed status lines; return the fingerprint that satisfied a pin.

    ``expiries`` (:func:`key_expiries` of the keyring) lets a signature by an expired key pass
    when it was made before the expiry; the warning then goes to the ``warnings`` list.
    """
    failures = sorted(((k, a) for k, a in status if k in _FAILURE_STATUS),
                      key=lambda item: _FAILURE_STATUS.index(item[0]))
    if failures and {k for k, _a in failures} == {'EXPKEYSIG'} and expiries:
        note = _made_before_expiry(status, expiries)
        if note:
            failures = []
            if warnings is not None:
                warnings.append('%s: %s' % (what, note))
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


def _verify(arguments, keyring_path, trusted_fingerprints, what, gpgv, timeout, workdir, warnings=None):
    pins = _pins(trusted_fingerprints)
    keyrings = _prepare_keyrings(keyring_path, workdir)
    result = _run_gpgv(keyrings + arguments, what, gpgv, timeout, workdir)
    status = parse_status(result.stdout.decode('utf-8', 'replace'))
    expiries = None
    if any(keyword == 'EXPKEYSIG' for keyword, _args in status):
        expiries = {}
        for path in keyrings[1::2]:
            expiries.update(key_expiries(_read(path, 'keyring')))
    fingerprint = _check_status(status, pins, what, expiries, warnings)
    if result.returncode != 0:
        message = result.stderr.decode('utf-8', 'replace').strip().splitlines()
        last = message[-1] if message else 'no message'
        raise SignatureError(f'{what}: gpgv exited with status {result.returncode}: {last}')
    return fingerprint


def verify_detached(data_path, signature_path, keyring_path, trusted_fingerprints, gpgv=None, timeout=DEFAULT_TIMEOUT,
                    what=None, warnings=None):
    """Check a detached signature (armored or binary) over the file ``data_path``.

    ``keyring_path`` is one keyring file or a list of them (binary, keybox or armored).
    ``what`` names the pair in messages (default: both paths); ``warnings`` (a list) receives
    what was accepted with a warning (a signature made before its key expired).
    Returns the pinned fingerprint that signed; raises SignatureError otherwise.
    """
    what = what or f'signature {os.fsdecode(signature_path)!r} over {os.fsdecode(data_path)!r}'
    for path, kind in ((data_path, 'signed file'), (signature_path, 'signature file')):
        if not os.path.isfile(path):
            raise SignatureError(f'{what}: {kind} {os.fsdecode(path)!r} does not exist')
    with tempfile.TemporaryDirectory(prefix='cloudimages-gpgv-') as workdir:
        return _verify(['--', os.path.abspath(signature_path), os.path.abspath(data_path)],
                       keyring_path, trusted_fingerprints, what, gpgv, timeout, workdir, warnings)


def verify_clearsigned(text_or_path, keyring_path, trusted_fingerprints, gpgv=None, timeout=DEFAULT_TIMEOUT,
                       warnings=None):
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
                              timeout, workdir, warnings)
        body = _read(output, 'gpgv output')
    try:
        return fingerprint, body.decode('utf-8')
    except UnicodeDecodeError:
        raise SignatureError(f'{what}: the signed text is not UTF-8') from None
