# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Fedora Cloud Base and Fedora CoreOS.

Fedora Cloud: ``fedoraproject.org/releases.json`` names the newest compose's image (link and
sha256); the digest is then read from the clearsigned ``Fedora-Cloud-<N>-<R>-<arch>-CHECKSUM``
next to it, verified with that release's key. The build date is the checksum file's
Last-Modified (Fedora names carry none).

Fedora CoreOS: ``streams/<stream>.json`` (unsigned) gives location, sha256 and the per-artifact
detached ``.sig``, which image_fetch verifies over the image itself with the Fedora key of the
release's major version. The stream is unsigned, so what it may say is narrowed: the artifact
must sit on the canonical host, over https, in the directory of the very release the stream
names (checked before url_rewrites apply; the rewritten URL must be https or loopback http).
The major picks the key only among the pinned keys (signing_keys), and since it leads the version, a
stream going back to an older major is a rollback (engine guard, and the planner against the
current Latest). So a forged major can only pick a genuine Fedora key of a release at least as
new as the one verified before, and its artifact must carry that key's signature.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _signatures
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import Checksum
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, EndOfLife, Source, catalog_entry, dir_of, hint_of, same_digest,
    secure_transport,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._names import COMPRESSION

KEYRING_URL = 'https://fedoraproject.org/fedora.gpg'
FCOS_HOST = 'https://builds.coreos.fedoraproject.org/'
FCOS_ARTIFACT = re.compile(r'[A-Za-z0-9][A-Za-z0-9._-]*')
# The stream's formats of a qcow2 artifact that we read, preferred first, with their compression.
FCOS_FORMATS = {'qcow2.xz': 'xz', 'qcow2.gz': 'gz', 'qcow2': 'none'}
IMAGE_NAME = re.compile(r'Fedora-Cloud-Base-Generic-(?P<version>[0-9]+-[0-9]+(?:\.[0-9]+)*)'
                        r'\.(?P<arch>[a-z0-9_]+)\.qcow2')


def _images(entries, arch, url, subvariant='Cloud_Base'):
    if not isinstance(entries, list):
        raise DiscoveryError('%s is not a Fedora releases list' % url)
    return [e for e in entries if isinstance(e, dict) and e.get('arch') == arch and e.get('subvariant') == subvariant
            and str(e.get('link', '')).endswith('.qcow2')]


def released(entries, arch, url):
    """The released versions (no "45 Beta") with a Cloud Base qcow2 for ``arch``, newest first."""
    versions = {str(e.get('version')) for e in _images(entries, arch, url)}
    return sorted((v for v in versions if re.fullmatch(r'[0-9]+', v)), key=int, reverse=True)


def pick_release(entries, release, arch, url, subvariant='Cloud_Base'):
    """The releases.json entry for ``release``/``arch`` qcow2 (pre-releases such as "45 Beta" never match).

    Fedora removes a release from releases.json at its end of life: a release older than every
    listed one raises EndOfLife.
    """
    found = [e for e in _images(entries, arch, url, subvariant) if str(e.get('version')) == release]
    listed = released(entries, arch, url)
    if not found and listed and release.isdigit() and int(release) < int(listed[-1]):
        raise EndOfLife(True, 'Fedora %s is no longer in %s, which lists %s: Fedora removes a release '
                        'at its end of life' % (release, url, ', '.join(listed)))
    others = sorted({str(e.get('arch')) for e in entries if isinstance(e, dict) and str(e.get('version')) == release
                     and e.get('subvariant') == subvariant and str(e.get('link', '')).endswith('.qcow2')} - {arch})
    if not found and others:
        raise DiscoveryError('Fedora %s is not built for %s: %s lists its %s qcow2 for %s only'
                             % (release, arch, url, subvariant, ', '.join(others)))
    if not found:
        raise DiscoveryError('Fedora %s (%s) is not in %s: the release has reached its end of life or '
                             'is not released yet' % (release, arch, url))
    if len({e['link'] for e in found}) > 1:
        raise DiscoveryError('%s lists several %s images for Fedora %s (%s)' % (url, subvariant, release, arch))
    return found[0]


class Fedora(Source):
    name = 'fedora'
    distro = 'fedora'
    login_user = 'fedora'
    keyring_url = KEYRING_URL
    keyring_name = 'fedora.gpg'

    streams = ('current',)

    def entry_url(self):
        return 'https://fedoraproject.org/releases.json'

    def catalog_url(self):
        return self.entry_url()

    def catalog(self, entry):
        return [catalog_entry(version, 'Fedora %s' % version)
                for version in released(entry.json(), self.vendor_arch, entry.url)]

    def stream(self, catalog):
        """``current``: the newest release and those before it until their end of life, that is every
        release releases.json lists (Fedora drops a release from it at its end of life)."""
        return [item['release'] for item in catalog]

    def newest(self, ctx, entry):
        item = pick_release(entry.json(), self.release, self.vendor_arch, entry.url)
        link = str(item['link'])
        name = link.rsplit('/', 1)[-1]
        match = IMAGE_NAME.fullmatch(name)
        if not link.startswith('https://') or not match or match['arch'] != self.vendor_arch \
                or not match['version'].startswith(self.release + '-'):
            raise DiscoveryError('%s: unexpected image link %r for Fedora %s' % (entry.url, link, self.release))
        return {'version': match['version'], 'link': link, 'filename': name,
                'hint': hint_of('sha256', item.get('sha256'))}

    def resolve(self, ctx, entry, candidate):
        sums_url = '%sFedora-Cloud-%s-%s-CHECKSUM' % (dir_of(candidate['link']), candidate['version'], self.vendor_arch)
        sums = ctx.get(sums_url, what='checksum file')
        if not ctx.user_fingerprints and not ctx.pins(self):
            self._refuse_unpinned(ctx, sums)
        fingerprint, body = ctx.verify_clearsigned(self, sums)
        checksum = ctx.find_checksum(body, candidate['filename'], sums.url, 'sha256')
        same_digest(checksum, candidate['hint'], '%s %s' % (self.label(), candidate['version']))
        return self.result(ctx, candidate['version'], sums.modified_date, candidate['link'], checksum, sums_url,
                           'clearsigned', sums_url, fingerprint)

    def _refuse_unpinned(self, ctx, sums):
        """Fail closed on a release without a pinned key, naming the key that signed it."""
        known = sorted({pin for pins in ctx.signing_keys.values()
                        for pin in ([pins] if isinstance(pins, str) else pins)})
        try:
            keyring = ctx.user_keyring or ctx.vendor_keyring(self, known)
            signer = _signatures.verify_clearsigned(sums.body, keyring, known, gpgv=ctx.gpgv)[0]
        except _signatures.SignatureError as exc:
            match = re.search(r'signed by ([0-9A-F]{40})', str(exc))
            signer = match[1] if match else None
        raise DiscoveryError(
            'Fedora %s has no pinned signing key, so it is refused. %s Check that key at '
            'https://fedoraproject.org/security/ and add its fingerprint for %s to '
            'fedora_signing_keys in the data (or pass trusted_fingerprints).'
            % (self.release, 'Its %s is signed by %s.' % (sums.url, signer) if signer else
               'The signer of %s could not be read.' % sums.url, self.release))


class FedoraCoreOS(Source):
    name = 'fedora_coreos'
    distro = 'fedora-coreos'
    login_user = 'core'
    compression = COMPRESSION['fedora_coreos']
    keyring_url = KEYRING_URL
    keyring_name = 'fedora.gpg'
    platform = 'openstack'

    def check(self):
        if not re.fullmatch(r'[a-z][a-z0-9-]*', self.release):
            raise DiscoveryError('Fedora CoreOS releases are stream names such as "stable", not %r' % self.release)

    def entry_url(self):
        return 'https://builds.coreos.fedoraproject.org/streams/%s.json' % self.release

    def newest(self, ctx, entry):
        doc = entry.json()
        try:
            artifact = doc['architectures'][self.vendor_arch]['artifacts'][self.platform]
            offered = [name for name in artifact['formats'] if isinstance(name, str)]
            version = str(artifact['release'])
        except (KeyError, TypeError):
            raise DiscoveryError('%s has no %s artifact for %s'
                                 % (entry.url, self.platform, self.vendor_arch)) from None
        known = [name for name in FCOS_FORMATS if name in offered]
        if not known:  # e.g. qcow2.zst: refused by name rather than fetched and misread
            raise DiscoveryError('%s offers the %s artifact for %s only as %s, a format this collection does not '
                                 'read (it reads %s); refusing it'
                                 % (entry.url, self.platform, self.vendor_arch, ', '.join(offered) or 'nothing',
                                    ', '.join(FCOS_FORMATS)))
        try:
            disk = artifact['formats'][known[0]]['disk']
        except (KeyError, TypeError):
            raise DiscoveryError('%s has no %s disk for %s' % (entry.url, known[0], self.vendor_arch)) from None
        match = re.fullmatch(r'(?P<major>[0-9]+)\.(?P<date>[0-9]{8})\.[0-9]+\.[0-9]+', version)
        if not match:
            raise DiscoveryError('%s: unexpected release %r' % (entry.url, version))
        location, signature = str(disk.get('location', '')), str(disk.get('signature', ''))
        directory = '%sprod/streams/%s/builds/%s/%s/' % (FCOS_HOST, self.release, version, self.vendor_arch)
        if not location.startswith(directory) or not FCOS_ARTIFACT.fullmatch(location[len(directory):]):
            raise DiscoveryError('%s: artifact %r is not in %s: Fedora CoreOS artifacts come only from that host '
                                 'over https, in the directory of the release the stream names'
                                 % (entry.url, location, directory))
        if signature != location + '.sig':
            raise DiscoveryError('%s: unexpected signature %r for %s' % (entry.url, signature, location))
        if not secure_transport(ctx.url(location)):
            raise DiscoveryError('%s: the artifact would come from %s: only https, or plain http from a loopback '
                                 'mirror; fix url_rewrites' % (entry.url, ctx.url(location)))
        hint = hint_of('sha256', disk.get('sha256'))
        if not hint:
            raise DiscoveryError('%s: no usable sha256 for %s' % (entry.url, location))
        date = match['date']
        return {'version': version, 'major': match['major'], 'build_date': '%s-%s-%s' % (date[:4], date[4:6], date[6:]),
                'location': location, 'signature': signature, 'hint': hint, 'compression': FCOS_FORMATS[known[0]]}

    def resolve(self, ctx, entry, candidate):
        # The stream is unsigned; the image's own signature is checked by image_fetch with this trust.
        ctx.use_trust(self, candidate['major'])
        algorithm, hexdigest = candidate['hint'].split(':', 1)
        checksum = Checksum(candidate['location'].rsplit('/', 1)[-1], algorithm, hexdigest)
        result = self.result(ctx, candidate['version'], candidate['build_date'], candidate['location'], checksum,
                             self.entry_url(), image_signature_url=candidate['signature'])
        result['compression'] = candidate.get('compression', self.compression)  # a remembered older candidate: xz
        return result
