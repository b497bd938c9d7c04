from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import find
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._signatures import (
    SignatureError, _check_status, dearmor, normalize_fingerprint, parse_status, signature_created, verify_clearsigned,
    verify_detached,
)

pytestmark = pytest.mark.skipif(not (shutil.which('gpg') and shutil.which('gpgv')), reason='needs gpg and gpgv')

PAST = '20200101T000000!'


class Keys:
    """Throw-away keys in a private GNUPGHOME, created once per session."""

    def __init__(self, home):
        self.home = home
        self.home.mkdir(mode=0o700)
        self.trusted = self.generate('Trusted <trusted@example.test>')
        self.other = self.generate('Other <other@example.test>')
        self.unknown = self.generate('Unknown <unknown@example.test>')
        self.primary = self.generate('Subkeys <subkeys@example.test>', usage='cert')
        self.gpg('--quick-add-key', self.primary, 'ed25519', 'sign', 'never')
        self.subkey = self.fingerprints(self.primary)[1]
        self.expired = self.generate('Expired <expired@example.test>', expire='1d', faked=PAST)
        self.revoked = self.generate('Revoked <revoked@example.test>')

    def gpg(self, *args, data=None, faked=None):
        command = ['gpg', '--homedir', str(self.home), '--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '']
        if faked:
            command += ['--faked-system-time', faked]
        result = subprocess.run(command + list(args), input=data, capture_output=True, check=True)
        return result.stdout

    def generate(self, uid, usage='sign', expire='never', faked=None):
        self.gpg('--quick-gen-key', uid, 'ed25519', usage, expire, faked=faked)
        return self.fingerprints(uid)[0]

    def fingerprints(self, who):
        out = self.gpg('--with-colons', '--list-keys', who).decode()
        return [line.split(':')[9] for line in out.splitlines() if line.startswith('fpr:')]

    def revoke(self, fingerprint):
        certificate = (self.home / 'openpgp-revocs.d' / f'{fingerprint}.rev').read_text()
        self.gpg('--import', data=certificate.replace(':-----BEGIN', '-----BEGIN').encode())

    def export(self, path, *fingerprints, armor=False):
        path.write_bytes(self.gpg(*(['--armor'] if armor else []), '--export', *fingerprints))
        return path

    def sign(self, data_path, *signers, armor=False, clear=False, faked=None):
        suffix = '.asc' if armor or clear else '.sig'
        out = Path(str(data_path) + suffix)
        mode = ['--clearsign'] if clear else ['--detach-sign'] + (['--armor'] if armor else [])
        local = sum((['--local-user', s] for s in signers), [])
        self.gpg(*local, *mode, '--output', str(out), str(data_path), faked=faked)
        return out


@pytest.fixture(scope='session')
def keys(tmp_path_factory):
    made = Keys(tmp_path_factory.mktemp('gpg') / 'home')
    yield made
    # gpg started an agent for this home: stop it with the tests.
    subprocess.run(['gpgconf', '--homedir', str(made.home), '--kill', 'gpg-agent'], check=False)


@pytest.fixture(scope='session')
def material(keys, tmp_path_factory):
    """Signed files and keyrings shared by the tests (keyring holds every key except 'unknown')."""
    base = tmp_path_factory.mktemp('signed')
    data = base / 'SHA256SUMS'
    data.write_text('0' * 64 + ' *image.img\n')
    signed = {
        'armored': keys.sign(data, keys.trusted, armor=True),
        'binary': keys.sign(data, keys.trusted),
    }
    for name in ('other', 'unknown', 'primary'):
        copy = base / f'by-{name}'
        copy.write_bytes(data.read_bytes())
        signed[name] = keys.sign(copy, getattr(keys, name))
    expired = base / 'by-expired'
    expired.write_bytes(data.read_bytes())
    signed['expired'] = keys.sign(expired, keys.expired, faked=PAST)
    revoked = base / 'by-revoked'
    revoked.write_bytes(data.read_bytes())
    signed['revoked'] = keys.sign(revoked, keys.revoked)
    keys.revoke(keys.revoked)
    both = base / 'by-both'
    both.write_bytes(data.read_bytes())
    signed['both'] = keys.sign(both, keys.trusted, keys.other)
    everyone = (keys.trusted, keys.other, keys.primary, keys.expired, keys.revoked)
    return {
        'data': data,
        'signed': signed,
        'keyring': keys.export(base / 'keyring.gpg', *everyone),
        'keyring_asc': keys.export(base / 'keyring.asc', *everyone, armor=True),
    }


def copy_of(path, tmp_path):
    target = tmp_path / Path(path).name
    shutil.copyfile(path, target)
    return target


# ---------------------------------------------------------------- detached

@pytest.mark.parametrize('signature', ['armored', 'binary'])
@pytest.mark.parametrize('keyring', ['keyring', 'keyring_asc'])
def test_detached_valid(keys, material, signature, keyring):
    fingerprint = verify_detached(material['data'], material['signed'][signature], material[keyring], [keys.trusted])
    assert fingerprint == keys.trusted


def test_detached_accepts_str_paths_and_formatted_pins(keys, material):
    spaced = ' '.join(keys.trusted[i:i + 4] for i in range(0, 40, 4)).lower()
    assert verify_detached(str(material['data']), str(material['signed']['binary']), str(material['keyring']),
                           [keys.other, spaced]) == keys.trusted
    assert verify_detached(material['data'], material['signed']['binary'], material['keyring'], '0x' + keys.trusted) == keys.trusted


def test_detached_with_several_keyrings(keys, material, tmp_path):
    trusted = keys.export(tmp_path / 'trusted.asc', keys.trusted, armor=True)
    other = keys.export(tmp_path / 'other.gpg', keys.other)
    assert verify_detached(material['data'], material['signed']['armored'], [other, trusted], [keys.trusted]) == keys.trusted


def test_concatenated_armored_keyrings(keys, material, tmp_path):
    keyring = tmp_path / 'both.asc'
    keyring.write_bytes(keys.gpg('--armor', '--export', keys.other) + b'\n' + keys.gpg('--armor', '--export', keys.trusted))
    assert verify_detached(material['data'], material['signed']['binary'], keyring, [keys.trusted]) == keys.trusted


def test_tampered_data(keys, material, tmp_path):
    data = copy_of(material['data'], tmp_path)
    data.write_text(data.read_text().replace('image.img', 'evil.img'))
    with pytest.raises(SignatureError, match=r'BAD signature.*\[BADSIG\]') as error:
        verify_detached(data, material['signed']['armored'], material['keyring'], [keys.trusted])
    assert str(data) in str(error.value)


def test_signed_by_key_not_pinned(keys, material):
    data = material['signed']['other'].with_suffix('')
    with pytest.raises(SignatureError, match=f'signed by {keys.other}, which is not in the trusted list \\[{keys.trusted}\\]'):
        verify_detached(data, material['signed']['other'], material['keyring'], [keys.trusted])


def test_unknown_key(keys, material):
    data = material['signed']['unknown'].with_suffix('')
    with pytest.raises(SignatureError, match=r'the signing key is not in the keyring \(key [0-9A-F]{16}\) \[NO_PUBKEY\]'):
        verify_detached(data, material['signed']['unknown'], material['keyring'], [keys.trusted, keys.unknown])


def test_subkey_of_pinned_primary(keys, material):
    data = material['signed']['primary'].with_suffix('')
    assert verify_detached(data, material['signed']['primary'], material['keyring'], [keys.primary]) == keys.primary
    # pinning the subkey itself works too and reports the subkey
    assert verify_detached(data, material['signed']['primary'], material['keyring'], [keys.subkey]) == keys.subkey
    with pytest.raises(SignatureError, match=f'signed by {keys.primary}'):
        verify_detached(data, material['signed']['primary'], material['keyring'], [keys.trusted])


def test_a_signature_made_before_its_key_expired_still_verifies_with_a_warning(keys, material):
    """OpenPGP: a good signature stays good after its key expires (made 2020-01-01, key expired a day later)."""
    data, warnings = material['signed']['expired'].with_suffix(''), []
    assert verify_detached(data, material['signed']['expired'], material['keyring'], [keys.expired],
                           warnings=warnings) == keys.expired
    assert warnings == ['signature %r over %r: a good signature made 2020-01-01 00:00 UTC by key %s, which expired '
                        '2020-01-02 00:00 UTC: accepted, since it was made before the expiry (OpenPGP); the vendor '
                        'signs new files with a newer key' % (str(material['signed']['expired']), str(data), keys.expired)]


def test_flatcar_like_subkey_expiry(keys, tmp_path):
    """A pinned primary that never expires, signing subkeys that do (Flatcar's: 2027-03-08), on a faked clock.

    Made before the subkey expired: verifies after the expiry, with a warning. Made after the
    expiry the key's own self-signature states (set afterwards, as a vendor shortening a subkey's
    life does): refused as before, EXPKEYSIG, which makes discovery fetch the keyring again.
    """
    primary = keys.generate('Rotating <rotating@example.test>', usage='cert', faked='20200101T000000!')
    keys.gpg('--quick-add-key', primary, 'ed25519', 'sign', '2020-12-31', faked='20200101T000000!')
    keys.gpg('--quick-add-key', primary, 'ed25519', 'sign', 'never', faked='20200101T000000!')
    _primary, old, short = keys.fingerprints(primary)
    data = tmp_path / 'DIGESTS'
    data.write_text('0' * 64 + '  flatcar_production_openstack_image.img\n')
    before = keys.sign(data, old + '!', faked='20200601T000000!')
    after = Path(keys.sign(data, short + '!', armor=True, faked='20200601T000000!'))
    keys.gpg('--quick-set-expire', primary, '2020-03-01', short, faked='20200102T000000!')
    keyring = keys.export(tmp_path / 'keyring.gpg', primary)
    warnings = []
    assert verify_detached(data, before, keyring, [primary], warnings=warnings) == primary
    assert len(warnings) == 1 and 'made 2020-06-01 00:00 UTC by key %s, which expired 2020-12-31' % old in warnings[0]
    with pytest.raises(SignatureError, match=r'the signing key has expired .*\[EXPKEYSIG\]') as caught:
        verify_detached(data, after, keyring, [primary], warnings=warnings)
    assert caught.value.missing_key and len(warnings) == 1


def test_revoked_key(keys, material):
    data = material['signed']['revoked'].with_suffix('')
    with pytest.raises(SignatureError, match='revoked.*REVKEYSIG'):
        verify_detached(data, material['signed']['revoked'], material['keyring'], [keys.revoked])


def test_every_signer_must_be_pinned(keys, material):
    data = material['signed']['both'].with_suffix('')
    with pytest.raises(SignatureError, match=f'signed by {keys.other}'):
        verify_detached(data, material['signed']['both'], material['keyring'], [keys.trusted])
    assert verify_detached(data, material['signed']['both'], material['keyring'], [keys.trusted, keys.other]) == keys.trusted


def test_garbage_signature(keys, material, tmp_path):
    signature = tmp_path / 'garbage.sig'
    signature.write_bytes(b'this is not a signature\n')
    with pytest.raises(SignatureError):
        verify_detached(material['data'], signature, material['keyring'], [keys.trusted])


def test_keyring_without_the_key(keys, material, tmp_path):
    keyring = keys.export(tmp_path / 'other.gpg', keys.other)
    with pytest.raises(SignatureError, match='not in the keyring|could not be checked'):
        verify_detached(material['data'], material['signed']['binary'], keyring, [keys.trusted])


@pytest.mark.parametrize('which', ['data', 'signature', 'keyring'])
def test_missing_files(keys, material, tmp_path, which):
    paths = {'data': material['data'], 'signature': material['signed']['binary'], 'keyring': material['keyring']}
    paths[which] = tmp_path / 'missing'
    with pytest.raises(SignatureError, match='missing'):
        verify_detached(paths['data'], paths['signature'], paths['keyring'], [keys.trusted])


@pytest.mark.parametrize('pins, message', [
    ([], 'no trusted fingerprints'),
    (None, 'no trusted fingerprints'),
    (['1A5D6C4C7DB87C81'], 'not a full OpenPGP fingerprint'),
    (['Z' * 40], 'not a full OpenPGP fingerprint'),
])
def test_bad_pins(material, pins, message):
    with pytest.raises(SignatureError, match=message):
        verify_detached(material['data'], material['signed']['binary'], material['keyring'], pins)


def test_empty_keyring_list(keys, material):
    with pytest.raises(SignatureError, match='no keyring'):
        verify_detached(material['data'], material['signed']['binary'], [], [keys.trusted])


def test_gpgv_missing(keys, material, clearsigned, tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(SignatureError, match='gpgv not found on PATH'):
        verify_detached(material['data'], material['signed']['binary'], material['keyring'], [keys.trusted])
    with pytest.raises(SignatureError, match='gpgv not found on PATH'):
        verify_clearsigned(clearsigned, material['keyring'], [keys.trusted])


# ---------------------------------------------------------------- fail closed with a fake gpgv

def fake_gpgv(tmp_path, status, code, delay=0):
    script = tmp_path / 'fake-gpgv'
    lines = ''.join(f'echo "[GNUPG:] {line}"\n' for line in status)
    script.write_text(f'#!/bin/sh\nsleep {delay}\n{lines}echo "gpgv: fake failure" >&2\nexit {code}\n')
    script.chmod(0o755)
    return str(script)


def validsig(fingerprint, primary=None):
    return f'VALIDSIG {fingerprint} 2026-01-01 1767225600 0 4 0 22 10 00 {primary or fingerprint}'


@pytest.mark.parametrize('status, code, message', [
    ([], 0, 'no valid signature'),
    (['GOODSIG 1234 someone'], 0, 'no valid signature'),
    (['VALIDSIG_PLACEHOLDER'], 1, 'exited with status 1: gpgv: fake failure'),
    (['VALIDSIG_PLACEHOLDER', 'BADSIG 1234 someone'], 0, 'BADSIG'),
    (['VALIDSIG_PLACEHOLDER', 'ERRSIG 1234 22 10 00 1767225600 9'], 0, 'ERRSIG'),
    (['NODATA 1'], 2, 'no OpenPGP signature data'),
])
def test_fail_closed(keys, material, tmp_path, status, code, message):
    status = [validsig(keys.trusted) if s == 'VALIDSIG_PLACEHOLDER' else s for s in status]
    with pytest.raises(SignatureError, match=message):
        verify_detached(material['data'], material['signed']['binary'], material['keyring'], [keys.trusted],
                        gpgv=fake_gpgv(tmp_path, status, code))


def test_fake_gpgv_success_path(keys, material, tmp_path):
    gpgv = fake_gpgv(tmp_path, ['NEWSIG', 'KEY_CONSIDERED X 0', validsig(keys.subkey, keys.primary)], 0)
    assert verify_detached(material['data'], material['signed']['binary'], material['keyring'], [keys.primary], gpgv=gpgv) == keys.primary


def test_timeout(keys, material, tmp_path):
    with pytest.raises(SignatureError, match='did not finish within'):
        verify_detached(material['data'], material['signed']['binary'], material['keyring'], [keys.trusted],
                        gpgv=fake_gpgv(tmp_path, [validsig(keys.trusted)], 0, delay=5), timeout=0.3)


# ---------------------------------------------------------------- clearsigned

BODY = (
    '# Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2: 583729152 bytes\n'
    f'SHA256 (Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2) = {"ab" * 32}\n'
    '-----this line needs dash-escaping\n'
)


@pytest.fixture(scope='session')
def clearsigned(keys, tmp_path_factory):
    base = tmp_path_factory.mktemp('clear')
    plain = base / 'Fedora-Cloud-44-1.7-x86_64-CHECKSUM'
    plain.write_text(BODY)
    return keys.sign(plain, keys.trusted, clear=True)


@pytest.mark.parametrize('form', ['path', 'str-path', 'text', 'bytes'])
def test_clearsigned_valid(keys, material, clearsigned, form):
    value = {
        'path': clearsigned,
        'str-path': str(clearsigned),
        'text': clearsigned.read_text(),
        'bytes': clearsigned.read_bytes(),
    }[form]
    assert '- -----this line' in clearsigned.read_text()
    fingerprint, body = verify_clearsigned(value, material['keyring_asc'], [keys.trusted])
    assert fingerprint == keys.trusted
    assert body == BODY
    checksums = ''.join(line for line in body.splitlines(True) if not line.startswith('-'))
    assert find(checksums, 'Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2').size == 583729152


def test_clearsigned_tampered(keys, material, clearsigned):
    text = clearsigned.read_text().replace('ab' * 32, 'cd' * 32)
    with pytest.raises(SignatureError, match='BADSIG'):
        verify_clearsigned(text, material['keyring'], [keys.trusted])


def test_clearsigned_untrusted(keys, material, clearsigned):
    with pytest.raises(SignatureError, match=f'signed by {keys.trusted}, which is not in the trusted list'):
        verify_clearsigned(clearsigned, material['keyring'], [keys.other])


def test_clearsigned_body_comes_from_gpgv_not_from_the_wrapper(keys, material, clearsigned):
    evil = f'{"ee" * 32}  evil.img\n'
    text = evil + clearsigned.read_text() + evil
    fingerprint, body = verify_clearsigned(text, material['keyring'], [keys.trusted])
    assert fingerprint == keys.trusted
    assert body == BODY


def test_clearsigned_twice_is_refused(keys, material, clearsigned):
    with pytest.raises(SignatureError, match='exactly one'):
        verify_clearsigned(clearsigned.read_text() * 2, material['keyring'], [keys.trusted])
    with pytest.raises(SignatureError, match='exactly one'):
        verify_clearsigned('not signed\n', material['keyring'], [keys.trusted])


def test_clearsigned_missing_file(keys, material, tmp_path):
    with pytest.raises(SignatureError, match='cannot read clearsigned file'):
        verify_clearsigned(str(tmp_path / 'nope'), material['keyring'], [keys.trusted])


# ---------------------------------------------------------------- helpers

def test_normalize_fingerprint():
    assert normalize_fingerprint('d2eb 4462 6fdd c30b 513d  5bb7 1a5d 6c4c 7db8 7c81') == 'D2EB44626FDDC30B513D5BB71A5D6C4C7DB87C81'
    assert normalize_fingerprint('0x' + 'a' * 64) == 'A' * 64
    with pytest.raises(SignatureError):
        normalize_fingerprint('7DB87C81')


def test_parse_status():
    text = 'gpgv: noise\n[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG ABC Some One <a@b>\n[GNUPG:] \n'
    assert parse_status(text) == [('NEWSIG', []), ('GOODSIG', ['ABC', 'Some', 'One', '<a@b>'])]


def test_dearmor_errors():
    assert dearmor(b'\x99binary') == b'\x99binary'
    with pytest.raises(SignatureError, match='unterminated'):
        dearmor(b'-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n')
    with pytest.raises(SignatureError, match='invalid base64'):
        dearmor(b'-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n')
    with pytest.raises(SignatureError, match='not ASCII'):
        dearmor('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\u00e9'.encode())


def test_no_user_gnupghome_is_touched(keys, material, tmp_path, monkeypatch):
    home = tmp_path / 'home'
    monkeypatch.setenv('GNUPGHOME', str(home))
    monkeypatch.setenv('HOME', str(home))
    verify_detached(material['data'], material['signed']['binary'], material['keyring'], [keys.trusted])
    assert not home.exists()
    assert os.environ['GNUPGHOME'] == str(home)


def test_keybox_keyring(keys, material):
    keybox = keys.home / 'pubring.kbx'
    assert keybox.read_bytes()[8:12] == b'KBXf'
    assert verify_detached(material['data'], material['signed']['armored'], keybox, [keys.trusted]) == keys.trusted


@pytest.mark.parametrize('status, missing', [
    ('[GNUPG:] NO_PUBKEY 1234567890ABCDEF\n[GNUPG:] ERRSIG 1234567890ABCDEF 22 8 00 1 9\n', True),
    ('[GNUPG:] KEYEXPIRED 1700000000\n[GNUPG:] EXPKEYSIG 1234567890ABCDEF Flatcar\n', True),
    ('[GNUPG:] BADSIG 1234567890ABCDEF someone\n', False),
    ('[GNUPG:] NODATA 1\n', False),
])
def test_a_missing_or_expired_key_is_told_apart(status, missing):
    """What makes discovery fetch the vendor keyring again (key rotation) and what does not."""
    with pytest.raises(SignatureError) as caught:
        _check_status(parse_status(status), ['F88CFEDEFF29A5B4D9523864E25D9AED0593B34A'], 'DIGESTS.asc')
    assert caught.value.missing_key is missing


def test_signature_created_reads_the_signature_packet(keys, material, tmp_path):
    """Armored and binary detached signatures; the faked clock of the 'expired' one is 2020-01-01."""
    assert signature_created(material['signed']['expired'].read_bytes()) == 1577836800
    armored = keys.sign(copy_of(material['data'], tmp_path), keys.trusted, armor=True, faked='20300203T040506!')
    assert signature_created(armored.read_bytes()) == 1896321906
    assert signature_created(b'not a signature') is None
