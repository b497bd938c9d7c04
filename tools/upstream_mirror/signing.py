"""Throw-away OpenPGP keys and the three signature shapes vendors publish.

Two ed25519 keys live in one GNUPGHOME under the mirror dir: ``trusted`` signs everything a
vendor signs, ``untrusted`` exists for bad-signature faults. Their public halves are exported
(binary and armored) so tests can pin them with ``gpgv --keyring``.

Key rotation, as vendors do it: :meth:`Keyring.add_signing_subkey` gives a key a new signing
subkey (Flatcar, yearly), which gpg then prefers; :meth:`Keyring.add_key` creates another primary
key (Fedora, one per release) and :meth:`Keyring.use` makes it the one that signs. Each change
bumps :attr:`Keyring.generation`, so the mirror re-signs what it publishes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

UIDS = {
    'trusted': 'Upstream Mirror Test Signing Key <signing@upstream-mirror.test>',
    'untrusted': 'Untrusted Attacker Key <attacker@upstream-mirror.test>',
}

# Signature shapes, named after what the vendor file looks like.
DETACHED_ARMORED = 'detached-armored'   # Ubuntu SHA256SUMS.gpg, AlmaLinux CHECKSUM.asc
DETACHED_BINARY = 'detached-binary'     # FCOS *.sig, Flatcar *.sig / *.DIGESTS.sig
CLEARSIGNED = 'clearsigned'             # Fedora *-CHECKSUM, Flatcar *.DIGESTS.asc, Ubuntu *.sjson
KINDS = (DETACHED_ARMORED, DETACHED_BINARY, CLEARSIGNED)


class Keyring:
    """Keys under ``<directory>/gnupg``, exports under ``<directory>/keys``."""

    def __init__(self, directory):
        self.home = os.path.join(directory, 'gnupg')
        self.keys_dir = os.path.join(directory, 'keys')
        self._fingerprints = None

    # -- paths tests pin ---------------------------------------------------------------------
    def public_key(self, which='trusted', armored=False):
        """Path of the exported public key (binary ``.gpg`` usable as a gpgv keyring, or ``.asc``)."""
        return os.path.join(self.keys_dir, '%s.%s' % (which, 'asc' if armored else 'gpg'))

    @property
    def trusted_keyring(self):
        return self.public_key('trusted')

    @property
    def untrusted_keyring(self):
        return self.public_key('untrusted')

    @property
    def fingerprints(self):
        """``{'trusted': FPR, 'untrusted': FPR}`` (40 upper-case hex digits)."""
        if self._fingerprints is None:
            with open(os.path.join(self.keys_dir, 'fingerprints.json'), encoding='utf-8') as handle:
                self._fingerprints = json.load(handle)
        return self._fingerprints

    @property
    def trusted_fingerprint(self):
        return self.fingerprints['trusted']

    @property
    def signer(self):
        """Name of the key that signs what a vendor signs (``trusted`` unless :meth:`use` changed it)."""
        return self.fingerprints.get('_signer', 'trusted')

    @property
    def generation(self):
        """Changes whenever a signing key is added or switched (part of the mirror's re-sign stamp)."""
        return '%s/%d' % (self.signer, self.fingerprints.get('_generation', 0))

    @property
    def untrusted_fingerprint(self):
        return self.fingerprints['untrusted']

    # -- gpg plumbing --------------------------------------------------------------------------
    def _gpg(self, *args, data=None):
        cmd = ['gpg', '--homedir', self.home, '--batch', '--yes', '--quiet', '--no-tty',
               '--pinentry-mode', 'loopback', '--passphrase', ''] + list(args)
        result = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if result.returncode:
            raise RuntimeError('%s failed: %s' % (' '.join(cmd), result.stderr.decode(errors='replace')))
        return result.stdout

    def ensure(self):
        """Generate both keys and their exports unless they already exist."""
        if os.path.exists(os.path.join(self.keys_dir, 'fingerprints.json')):
            return
        os.makedirs(self.home, mode=0o700, exist_ok=True)
        os.makedirs(self.keys_dir, exist_ok=True)
        fingerprints = {}
        for which, uid in UIDS.items():
            self._gpg('--quick-gen-key', uid, 'ed25519', 'sign', 'never')
            listing = self._gpg('--with-colons', '--list-secret-keys', uid).decode()
            fingerprints[which] = [line.split(':')[9] for line in listing.splitlines() if line.startswith('fpr:')][0]
            with open(self.public_key(which), 'wb') as handle:
                handle.write(self._gpg('--export', fingerprints[which]))
            with open(self.public_key(which, armored=True), 'wb') as handle:
                handle.write(self._gpg('--armor', '--export', fingerprints[which]))
        with open(os.path.join(self.keys_dir, 'fingerprints.json'), 'w', encoding='utf-8') as handle:
            json.dump(fingerprints, handle, indent=1)
        self._fingerprints = fingerprints

    def _save(self, fingerprints):
        fingerprints['_generation'] = fingerprints.get('_generation', 0) + 1
        with open(os.path.join(self.keys_dir, 'fingerprints.json'), 'w', encoding='utf-8') as handle:
            json.dump(fingerprints, handle, indent=1)
        self._fingerprints = fingerprints

    def _export(self, which, fingerprint):
        with open(self.public_key(which), 'wb') as handle:
            handle.write(self._gpg('--export', fingerprint))
        with open(self.public_key(which, armored=True), 'wb') as handle:
            handle.write(self._gpg('--armor', '--export', fingerprint))

    def add_signing_subkey(self, which='trusted', expire='never'):
        """Add a signing subkey to ``which`` (re-exported); return its fingerprint. gpg signs with the newest."""
        fingerprint = self.fingerprints[which]
        before = self.subkeys(which)
        self._gpg('--quick-add-key', fingerprint, 'ed25519', 'sign', expire)
        self._export(which, fingerprint)
        self._save(dict(self.fingerprints))
        return [fpr for fpr in self.subkeys(which) if fpr not in before][0]

    def subkeys(self, which='trusted'):
        listing = self._gpg('--with-colons', '--list-keys', self.fingerprints[which]).decode()
        lines = listing.splitlines()
        return [lines[i + 1].split(':')[9] for i, line in enumerate(lines)
                if line.startswith('sub:') and i + 1 < len(lines) and lines[i + 1].startswith('fpr:')]

    def add_key(self, which, uid=None):
        """A new primary signing key named ``which`` (exported); return its fingerprint."""
        uid = uid or '%s <%s@upstream-mirror.test>' % (which, which)
        self._gpg('--quick-gen-key', uid, 'ed25519', 'sign', 'never')
        listing = self._gpg('--with-colons', '--list-secret-keys', uid).decode()
        fingerprint = [line.split(':')[9] for line in listing.splitlines() if line.startswith('fpr:')][0]
        self._export(which, fingerprint)
        self._save(dict(self.fingerprints, **{which: fingerprint}))
        return fingerprint

    def use(self, which):
        """Make ``which`` the key that signs what vendors sign from now on."""
        self._save(dict(self.fingerprints, _signer=which))

    def sign(self, data, kind, key='trusted'):
        """Signature bytes of ``data`` in the given shape; clearsigned output embeds ``data``.

        ``key='trusted'`` means the current signer (:attr:`signer`).
        """
        fpr = self.fingerprints[self.signer if key == 'trusted' else key]
        base = ['--local-user', fpr, '--digest-algo', 'SHA256', '--output', '-']
        if kind == DETACHED_ARMORED:
            return self._gpg(*base, '--armor', '--detach-sign', data=data)
        if kind == DETACHED_BINARY:
            return self._gpg(*base, '--detach-sign', data=data)
        if kind == CLEARSIGNED:
            return self._gpg(*base, '--clearsign', data=data)
        raise ValueError('unknown signature kind %r' % kind)

    def verify(self, signed_path, data_path=None, which='trusted'):
        """True when ``gpgv`` accepts the signature with only the ``which`` public key."""
        args = ['gpgv', '--keyring', os.path.abspath(self.public_key(which)), signed_path]
        if data_path:
            args.append(data_path)
        result = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return result.returncode == 0

    def close(self):
        """Stop the gpg-agent that signing started for this GNUPGHOME."""
        if os.path.isdir(self.home) and shutil.which('gpgconf'):
            subprocess.run(['gpgconf', '--homedir', self.home, '--kill', 'gpg-agent'],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
