"""The mirror tree on disk: build, advance, end-of-life and content faults.

Layout of ``root``::

    www/<vendor host>/<vendor path>   what the server publishes
    keys/                             exported public keys + fingerprints.json
    gnupg/                            GNUPGHOME with the trusted and untrusted secret keys
    state.json                        simulated clock, builds per release, injected faults
    catalog.json                      ``Mirror.releases`` as JSON, for non-Python consumers
    redirects.json                    prefix redirects the server applies
    cache/ work/ pristine/ signed.json digests.json  internals
"""

from __future__ import annotations

import datetime
import json
import os
import shutil

from . import images
from .context import Context
from .signing import Keyring
from .vendors import REDIRECTS, VENDORS
from .vendors.base import ARCHES

DEFAULT_TODAY = datetime.date(2026, 11, 16)
# Builds created by build(), in days before "today"; the middle one starts a new minor
# (Rocky/AlmaLinux) or major (Flatcar) so a fresh mirror already shows a version transition.
HISTORY = (35, 14, 0)
BUMP_AT = 1
CONTENT_FAULTS = ('bad_signature', 'checksum_traversal', 'backing_file', 'data_file', 'decompression_bomb', 'tampered_image',
                  'unbootable')


class Mirror:
    """A vendor-faithful upstream tree under ``root`` with a simulated clock."""

    def __init__(self, root, today=None, bootable=True):
        self.root = os.path.abspath(root)
        self.keyring = Keyring(self.root)
        self._today = today
        self._bootable = bootable  # False: every build a tiny stand-in (mirror-only tests: fast, ~3 MB)
        self._state = None
        state_path = os.path.join(self.root, 'state.json')
        if os.path.exists(state_path):
            with open(state_path, encoding='utf-8') as handle:
                self._state = json.load(handle)

    # -- properties -------------------------------------------------------------------------------
    def sync_settings(self, url):
        """The inventory settings of a sync from this mirror served at ``url``: its test key, the
        rewrite of every vendor host onto it, and the provider's Windows artifacts."""
        return {
            'image_sync_url_rewrites': {'https://': url + '/'},
            'image_sync_keyring': self.keyring.trusted_keyring,
            'image_sync_trusted_fingerprints': [self.keyring.trusted_fingerprint],
            'windows_artifacts_url': 'https://%s/windows' % VENDORS['windows'].host,
        }

    @property
    def www(self):
        return os.path.join(self.root, 'www')

    @property
    def today(self):
        if self._state:
            return datetime.date.fromisoformat(self._state['today'])
        return self._today or DEFAULT_TODAY

    @property
    def state(self):
        if self._state is None:
            raise RuntimeError('mirror at %s is not built yet: call build()' % self.root)
        return self._state

    def _context(self):
        return Context(self.root, self.state, self.keyring, images.ImageFactory(os.path.join(self.root, 'cache')))

    def _live(self, distro=None):
        """``{(distro, release): builds}`` of releases not at end of life."""
        return {(entry['distro'], entry['release']): entry['builds'] for entry in self.state['releases'].values()
                if not entry['eol'] and (distro is None or entry['distro'] == distro)}

    def _entry(self, distro, release):
        try:
            return self.state['releases']['%s/%s' % (distro, release)]
        except KeyError:
            raise KeyError('unknown release %s %s' % (distro, release)) from None

    # -- lifecycle --------------------------------------------------------------------------------
    def build(self, without=()):
        """(Re)create the whole tree: three builds per release, the newest dated ``today``.

        Releases in ``without`` (``(distro, release)`` pairs) and each vendor's ``upcoming`` ones are
        left out: ``advance(new_releases=...)`` publishes them later.
        """
        without = {tuple(item) for item in without}
        for name in ('www', 'pristine', 'work', 'signed.json', 'digests.json', 'state.json', 'catalog.json'):
            Context.remove(os.path.join(self.root, name))
        os.makedirs(self.www)
        self.keyring.ensure()
        today = self._today or DEFAULT_TODAY
        self._state = {'today': today.isoformat(), 'counters': {}, 'releases': {}, 'faults': {},
                       'bootable': self._bootable}
        ctx = self._context()
        history = {(vendor.distro, release): [] for vendor in VENDORS.values() for release in vendor.releases
                   if release not in vendor.upcoming and (vendor.distro, release) not in without}
        # Oldest builds first across all vendors, so global counters (Debian CI numbers) grow with time.
        for index, offset in enumerate(HISTORY):
            day = today - datetime.timedelta(days=offset)
            for (distro, release), builds in history.items():
                vendor = VENDORS[distro]
                build = vendor.next_build(ctx, release, builds[-1] if builds else None, day, bump=index == BUMP_AT)
                if offset or not self._bootable:
                    build['stand_in'] = True  # history before today: a tiny non-booting qcow2
                vendor.write_build(ctx, release, build)
                builds.append(build)
                if len(builds) > vendor.retention:
                    vendor.drop_build(ctx, release, builds.pop(0))
        for (distro, release), builds in history.items():
            self._state['releases']['%s/%s' % (distro, release)] = {'distro': distro, 'release': release, 'builds': builds, 'eol': False}
        self._publish(ctx)
        return self

    def advance(self, days=1, bump=(), only=None, new_releases=()):
        """Move the clock by ``days`` and publish one new build of every live release.

        ``new_releases``: ``(distro, release)`` pairs published for the first time that day (a
        release left out of build(), such as Ubuntu 26.04 or the upcoming Fedora 45).
        ``bump``: distros that start a new minor/major (Rocky, AlmaLinux, Flatcar).
        ``only``: restrict to these ``(distro, release)`` pairs. ``days=0`` makes same-day
        respins (``YYYYMMDD.1``, ``.0`` -> ``.1``); AlmaLinux 9 has no respin grammar and refuses.
        Builds beyond each vendor's retention are deleted, as on the real trees.
        """
        day = self.today + datetime.timedelta(days=days)
        self.state['today'] = day.isoformat()
        ctx = self._context()
        for distro, release in new_releases:
            if release not in VENDORS[distro].releases or '%s/%s' % (distro, release) in self.state['releases']:
                raise KeyError('%s %s is unknown to the mirror or already published' % (distro, release))
            self.state['releases']['%s/%s' % (distro, release)] = {'distro': distro, 'release': release, 'builds': [], 'eol': False}
        fresh = {tuple(item) for item in new_releases}
        for (distro, release), builds in self._live().items():
            if (distro, release) in fresh:
                build = VENDORS[distro].next_build(ctx, release, None, day)
                VENDORS[distro].write_build(ctx, release, build)
                builds.append(build)
                continue
            if only is not None and (distro, release) not in set(map(tuple, only)):
                continue
            vendor = VENDORS[distro]
            build = vendor.next_build(ctx, release, builds[-1], day, bump=distro in bump)
            if not self.state.get('bootable', True):
                build['stand_in'] = True
            vendor.write_build(ctx, release, build)
            builds.append(build)
            while len(builds) > vendor.retention:
                old = builds.pop(0)
                vendor.drop_build(ctx, release, old)
                self.state['faults'].pop('%s/%s/%s' % (distro, release, old['version']), None)
        self._publish(ctx)
        return self

    def eol(self, distro, release):
        """End of life: the release disappears from its tree and from every index."""
        entry = self._entry(distro, release)
        ctx = self._context()
        VENDORS[distro].drop_release(ctx, release)
        entry['eol'] = True  # Ubuntu keeps it in its streams, marked "supported": false
        self._publish(ctx)
        return self

    def inject(self, distro, release, fault, version=None, **params):
        """Content fault on a build (default: newest), keeping checksums/signatures as the attack would.

        * ``bad_signature`` (``mode='untrusted'`` key, or ``'tampered'``: trusted key over other bytes)
        * ``checksum_traversal``: checksum file gains an entry named ``../../../../etc/cron.d/...``
        * ``backing_file`` (``backing='/etc/hostname'``), ``data_file`` (``data_file='/etc/hostname'``):
          malicious qcow2, correctly checksummed and signed (the vendor "published" it)
        * ``decompression_bomb`` (``expanded_size=1 GiB``, ``expands_to='qcow2'`` or ``'raw'``: the head is
          the real qcow2, or zeros, which a client must refuse as soon as it sees them): FCOS xz / Flatcar bz2 only
        * ``tampered_image``: bytes changed after publication; checksums still describe the original
        * ``unbootable``: checksummed and signed like any build, but its kernel panics at boot
        """
        vendor = VENDORS[distro]
        entry = self._entry(distro, release)
        build = next((b for b in entry['builds'] if b['version'] == version), None) if version else entry['builds'][-1]
        if build is None or entry['eol']:
            raise KeyError('no live build %s of %s %s' % (version, distro, release))
        ctx = self._context()
        path = vendor.image_path(ctx, release, build)
        record = dict(params) or True
        if fault == 'bad_signature':
            if not vendor.signs(release):
                raise ValueError('%s publishes no signature' % distro)
            record = params.get('mode', 'untrusted')
            if record not in ('untrusted', 'tampered'):
                raise ValueError('bad_signature mode must be untrusted or tampered')
        elif fault == 'checksum_traversal':
            if distro == 'fedora-coreos':
                raise ValueError('fedora-coreos publishes no checksum file')
        elif fault in ('backing_file', 'data_file'):
            if fault == 'backing_file':
                payload = images.qcow2_with_backing(params.get('backing', '/etc/hostname'), virtual_size=vendor.virtual_size)
            else:
                payload = images.qcow2_with_data_file(params.get('data_file', '/etc/hostname'), virtual_size=vendor.virtual_size)
            Context.remove(ctx.pristine(path))
            vendor.put_payload(ctx, release, build, payload)
        elif fault == 'decompression_bomb':
            if not vendor.compression:
                raise ValueError('%s does not publish a compressed image' % distro)
            expands_to = params.get('expands_to', 'qcow2')
            if expands_to not in ('qcow2', 'raw'):
                raise ValueError('decompression_bomb expands_to must be qcow2 or raw')
            # tiny, the bomb is the point
            head = ctx.images.qcow2(vendor.label(release, build), vendor.virtual_size) if expands_to == 'qcow2' else b''
            compressed, digest, size = images.decompression_bomb(vendor.compression, head, params.get('expanded_size', 1 << 30))
            Context.remove(ctx.pristine(path))
            vendor.put_payload(ctx, release, build, None, compressed=compressed, uncompressed={'sha256': digest, 'size': size})
            record = {'expanded_size': size, 'expands_to': expands_to}
        elif fault == 'unbootable':
            if not vendor.boots(build):
                raise ValueError('%s publishes no bootable image' % distro)
            # Same build, correctly checksummed and signed, but its /init exits: the kernel panics.
            self.state['faults'].setdefault('%s/%s/%s' % (distro, release, build['version']), {})[fault] = record
            Context.remove(ctx.pristine(path))
            vendor.write_build(ctx, release, build)
        elif fault == 'tampered_image':
            pristine = ctx.pristine(path)
            with open(path, 'rb') as handle:
                data = bytearray(handle.read())
            if not os.path.exists(pristine):
                os.makedirs(os.path.dirname(pristine), exist_ok=True)
                shutil.copy2(path, pristine)
            data[len(data) // 2] ^= 0xFF
            ctx.write(path, bytes(data), build['published'])
        else:
            raise ValueError('unknown content fault %r (known: %s)' % (fault, ', '.join(CONTENT_FAULTS)))
        self.state['faults'].setdefault('%s/%s/%s' % (distro, release, build['version']), {})[fault] = record
        self._publish(ctx)
        return self.release(distro, release)

    def resign(self):
        """Sign everything again with the keyring's current signer (after a key rotation)."""
        self._publish(self._context())
        return self

    def publish_key(self, url, which='trusted', armored=True):
        """Serve the exported public key ``which`` at the canonical ``url`` (a vendor's keyring URL)."""
        host, _sep, path = url.split('://', 1)[1].partition('/')
        target = os.path.join(self.www, host, *path.split('/'))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(self.keyring.public_key(which, armored=armored), target)
        return target

    def _publish(self, ctx):
        by_distro = {}
        for (distro, release), builds in self._live().items():
            VENDORS[distro].publish(ctx, release, builds)
            by_distro.setdefault(distro, {})[release] = builds
        ended = {}
        for entry in self.state['releases'].values():
            if entry['eol'] and entry['builds']:
                ended.setdefault(entry['distro'], {})[entry['release']] = entry['builds']
        for distro, vendor in VENDORS.items():
            vendor.publish_distro(ctx, by_distro.get(distro, {}), ended.get(distro, {}))
        ctx.save()
        self._write_json('redirects.json', REDIRECTS)
        self._write_json('state.json', self.state)
        self._write_json('catalog.json', [info.to_dict() for arch in ARCHES
                                          for info in self._describe(ctx, arch).values()])

    def _write_json(self, name, obj):
        tmp = os.path.join(self.root, name + '.tmp')
        with open(tmp, 'w', encoding='utf-8') as handle:
            json.dump(obj, handle, indent=1, sort_keys=True)
        os.replace(tmp, os.path.join(self.root, name))

    # -- catalog ----------------------------------------------------------------------------------
    def _describe(self, ctx, arch='x86_64'):
        return {key: VENDORS[key[0]].describe(ctx, key[1], builds[-1], arch) for key, builds in self._live().items()
                if arch in VENDORS[key[0]].arches}

    @property
    def releases(self):
        """``{(distro, release): ReleaseInfo}`` for every live release's newest x86_64 build."""
        return self._describe(self._context())

    def releases_of(self, arch):
        """``releases`` of another architecture (``aarch64``); vendors that build none for it are left out."""
        return self._describe(self._context(), arch)

    def release(self, distro, release, arch='x86_64'):
        return self.releases_of(arch)[(distro, release)]

    def history(self, distro, release, arch='x86_64'):
        """ReleaseInfo of every build still published (oldest first); only the newest has a pointer_url."""
        ctx = self._context()
        builds = self._entry(distro, release)['builds']
        infos = [VENDORS[distro].describe(ctx, release, build, arch) for build in builds]
        for info in infos[:-1]:
            info.pointer_url = None
        return infos

    def builds(self, distro, release):
        """All published builds of a release (oldest first) as stored in state."""
        return [dict(build) for build in self._entry(distro, release)['builds']]

    # -- housekeeping -----------------------------------------------------------------------------
    def copy(self, dest):
        """Clone this mirror (keys included, gpg-agent sockets excluded) into ``dest``.

        Published files are hard links: every write replaces a file (new inode) and never changes one in
        place, so the copies stay independent, and a copy costs no 16 MB disk per bootable image.
        """
        root = self.root

        def link_or_copy(src, dst):
            top = os.path.relpath(src, root).split(os.sep)[0]
            if top in ('www', 'pristine'):
                try:
                    os.link(src, dst)
                    return dst
                except OSError:
                    pass
            return shutil.copy2(src, dst)

        current = self._context().current_digests()
        shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns('S.*', '*.lock'),
                        copy_function=link_or_copy)
        copy = Mirror(dest)
        # The links moved every file's ctime, which the digest cache checks: both trees would hash it all again.
        for mirror in (self, copy):
            mirror._context().adopt_digests(current)  # pylint: disable=protected-access
        return copy

    def close(self):
        self.keyring.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
