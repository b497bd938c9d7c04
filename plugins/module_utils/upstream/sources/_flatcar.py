# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Flatcar Container Linux channels on <channel>.release.flatcar-linux.net.

``<arch>-usr/current/version.txt`` names the newest version; the digest is read from the
versioned directory's ``<image>.DIGESTS.asc`` (clearsigned DIGESTS, sha512 used), and image_fetch
checks the detached ``<image>.sig`` over the image. The build date is version.txt's
Last-Modified (versions carry no date). Flatcar publishes the image as ``.img.bz2`` and, documented
since ~3602, as the uncompressed ``.img`` (and may drop the compressed files): the first of
FORMATS whose DIGESTS.asc exists is taken, and a version with none of them is refused by name.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, NotFoundError, Source,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._names import COMPRESSION

IMAGE = 'flatcar_production_openstack_image.img'
# (suffix, compression) in the order taken: the smaller download first.
FORMATS = (('.bz2', 'bz2'), ('', 'none'), ('.gz', 'gz'))
CHANNELS = ('stable', 'beta', 'alpha', 'lts')


def parse_version_txt(text, url):
    """``FLATCAR_VERSION`` (or the older ``COREOS_VERSION``) from a shell-style version.txt."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition('=')
        if sep:
            values[key.strip()] = value.strip().strip('"\'')
    version = values.get('FLATCAR_VERSION') or values.get('FLATCAR_VERSION_ID') or values.get('COREOS_VERSION')
    if not version or not re.fullmatch(r'[0-9]+\.[0-9]+\.[0-9]+', version):
        raise DiscoveryError('%s: no usable FLATCAR_VERSION (got %r)' % (url, version))
    return version


class Flatcar(Source):
    name = 'flatcar'
    distro = 'flatcar'
    login_user = 'core'
    compression = COMPRESSION['flatcar']
    keyring_url = 'https://www.flatcar.org/security/image-signing-key/Flatcar_Image_Signing_Key.asc'
    keyring_name = 'Flatcar_Image_Signing_Key.asc'

    def check(self):
        if self.release not in CHANNELS:
            raise DiscoveryError('Flatcar releases are channels (%s), not %r' % (', '.join(CHANNELS), self.release))

    def base(self):
        return 'https://%s.release.flatcar-linux.net/%s/' % (self.release, self.vendor_arch)

    def entry_url(self):
        return self.base() + 'current/version.txt'

    def newest(self, ctx, entry):
        return {'version': parse_version_txt(entry.text, entry.url), 'build_date': entry.modified_date}

    def resolve(self, ctx, entry, candidate):
        directory = '%s%s/' % (self.base(), candidate['version'])
        for suffix, compression in FORMATS:
            name = IMAGE + suffix
            try:
                signed = ctx.get(directory + name + '.DIGESTS.asc', what='checksum file')
                break
            except NotFoundError:
                continue
        else:
            raise DiscoveryError('Flatcar %s %s offers none of the image formats this collection reads (%s: no '
                                 '.DIGESTS.asc in %s); refusing it' % (self.release, candidate['version'], ', '.join(
                                     IMAGE + suffix for suffix, _compression in FORMATS), ctx.url(directory)))
        image_url = directory + name
        fingerprint, body = ctx.verify_clearsigned(self, signed)
        checksum = ctx.find_checksum(body, name, signed.url, 'sha512')
        result = self.result(ctx, candidate['version'], candidate['build_date'], image_url, checksum,
                             image_url + '.DIGESTS', 'clearsigned', image_url + '.DIGESTS.asc', fingerprint,
                             image_signature_url=image_url + '.sig')
        result['compression'] = compression
        return result
