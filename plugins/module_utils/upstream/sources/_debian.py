# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Debian genericcloud images on cloud.debian.org.

The entry is ``<codename>/latest/debian-<N>-genericcloud-<arch>.json`` (it changes with every
build and names the dated build directory); the digest comes from that build's ``SHA512SUMS``
and must equal the JSON's base64 sha512. Debian signs neither: HTTPS only, by opt-in.

The release list is the archive's ``dists/`` listing (``DISTS``), not cloud.debian.org's top
directory: a testing codename gets its cloud tree (daily builds) before it is released, while
the archive links ``Debian<N>.<point>/`` (``Debian12.14/``, ``Debian13.5/``) only for released
versions, next to the codename and suite directories (seen on ftp.debian.org/debian/dists/; the
same archive is deb.debian.org/debian/). The highest N is the stable release.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _checksums
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, Source, catalog_entry, date_in, dir_of, listing_names, same_digest,
)

BASE = 'https://cloud.debian.org/images/cloud/'
CODENAMES = {'10': 'buster', '11': 'bullseye', '12': 'bookworm', '13': 'trixie', '14': 'forky', '15': 'duke'}
VERSION = re.compile(r'[0-9]{8}-[0-9]+')
DISTS = 'https://deb.debian.org/debian/dists/'
RELEASED = re.compile(r'Debian([1-9][0-9]{0,2})\.[0-9]{1,3}/')


def _labels(item):
    return (item.get('metadata') or {}).get('labels') or {}


def parse_build_json(doc, url, image_format='qcow2'):
    """``(version, ref, 'sha512:<hex>')`` of the Upload of ``image_format`` in a Debian per-build JSON List."""
    items = doc.get('items') if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise DiscoveryError('%s is not a Debian cloud build list' % url)
    builds = [i for i in items if isinstance(i, dict) and i.get('kind') == 'Build']
    uploads = [i for i in items if isinstance(i, dict) and i.get('kind') == 'Upload'
               and _labels(i).get('upload.cloud.debian.org/image-format') == image_format]
    if len(builds) != 1 or len(uploads) != 1:
        raise DiscoveryError('%s: expected one Build and one %s Upload, found %d and %d'
                             % (url, image_format, len(builds), len(uploads)))
    version = str(((builds[0].get('data') or {}).get('info') or {}).get('version') or '')
    if not VERSION.fullmatch(version):
        raise DiscoveryError('%s: unexpected build version %r' % (url, version))
    ref = str((uploads[0].get('data') or {}).get('ref') or '')
    digest = ((uploads[0].get('metadata') or {}).get('annotations') or {}).get('cloud.debian.org/digest')
    try:
        algorithm, hexdigest = _checksums.debian_digest_to_hex(digest)
    except _checksums.ChecksumError as exc:
        raise DiscoveryError('%s: %s' % (url, exc)) from None
    return version, ref, '%s:%s' % (algorithm, hexdigest)


class Debian(Source):
    name = 'debian'
    distro = 'debian'
    signed = False
    login_user = 'debian'

    def codename(self):
        """The cloud tree's directory; ``options.codename`` names a release newer than this code."""
        return str(self.options.get('codename') or CODENAMES.get(self.release) or '')

    def check(self):
        if not re.fullmatch(r'[a-z]+', self.codename()):
            known = ', '.join(sorted(CODENAMES, key=int))
            raise DiscoveryError('unknown Debian release %r (known: %s; a newer one needs '
                                 'options.codename)' % (self.release, known))

    def entry_url(self):
        return '%s%s/latest/debian-%s-genericcloud-%s.json' % (
            BASE, self.codename(), self.release, self.vendor_arch)

    def catalog_url(self):
        return DISTS

    def catalog(self, entry):
        """Released versions, newest first; other entries (suites, codenames, files) are ignored."""
        found = (RELEASED.fullmatch(name) for name in listing_names(entry.text))
        numbers = {match[1] for match in found if match}
        return [catalog_entry(number, ('Debian %s %s' % (number, CODENAMES.get(number, ''))).strip().title())
                for number in sorted(numbers, key=int, reverse=True)]

    def newest(self, ctx, entry):
        version, ref, digest = parse_build_json(entry.json(), entry.url)
        name = 'debian-%s-genericcloud-%s-%s.qcow2' % (self.release, self.vendor_arch, version)
        expected_ref = '%s/%s/%s' % (self.codename(), version, name)
        if ref != expected_ref:
            raise DiscoveryError('%s: upload ref %r is not the expected %r' % (entry.url, ref, expected_ref))
        return {'version': version, 'filename': name, 'hint': digest}

    def resolve(self, ctx, entry, candidate):
        image_url = BASE + '%s/%s/%s' % (self.codename(), candidate['version'], candidate['filename'])
        sums_url = dir_of(image_url) + 'SHA512SUMS'
        sums = ctx.get(sums_url, what='checksum file')
        checksum = ctx.find_checksum(sums.text, candidate['filename'], sums.url, 'sha512')
        same_digest(checksum, candidate['hint'], '%s %s' % (self.label(), candidate['version']))
        return self.result(ctx, candidate['version'], date_in(candidate['version']), image_url, checksum, sums_url)
