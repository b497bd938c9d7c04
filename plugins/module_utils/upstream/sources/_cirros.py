# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""CirrOS on download.cirros-cloud.net.

``version/released`` names the newest version; when it belongs to another series than the
requested one (say 0.7.x for "0.6"), the top-level directory listing gives the newest of the
series. ``<version>/SHA256SUMS`` is unsigned: HTTPS only, by opt-in.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, Source, catalog_entry, listing_names, newest_match,
)

BASE = 'https://download.cirros-cloud.net/'


class CirrOS(Source):
    name = 'cirros'
    distro = 'cirros'
    signed = False
    login_user = 'cirros'

    def check(self):
        if not re.fullmatch(r'[0-9]+\.[0-9]+', self.release):
            raise DiscoveryError('CirrOS releases are series such as "0.6", not %r' % self.release)

    def entry_url(self):
        return BASE + 'version/released'

    def catalog_url(self):
        return self.entry_url()

    def catalog(self, entry):
        """The series of the newest released version: ``version/released`` is all CirrOS says."""
        version = entry.text.strip()
        if not re.fullmatch(r'[0-9]+\.[0-9]+\.[0-9]+', version):
            raise DiscoveryError('%s: unexpected version %r' % (entry.url, version[:40]))
        series = version.rsplit('.', 1)[0]
        return [catalog_entry(series, 'CirrOS %s (%s)' % (series, version))]

    def newest(self, ctx, entry):
        version = entry.text.strip()
        if not re.fullmatch(r'[0-9]+\.[0-9]+\.[0-9]+', version):
            raise DiscoveryError('%s: unexpected version %r' % (entry.url, version[:40]))
        if not version.startswith(self.release + '.'):
            listing = ctx.get(BASE, what='directory listing')
            found = newest_match(listing_names(listing.text), r'(?P<version>%s\.[0-9]+)/' % re.escape(self.release))
            if not found:
                raise DiscoveryError('CirrOS %s: no version of that series in %s' % (self.release, listing.url))
            version = found[1]
        return {'version': version}

    def resolve(self, ctx, entry, candidate):
        version = candidate['version']
        name = 'cirros-%s-%s-disk.img' % (version, self.vendor_arch)
        sums = ctx.get('%s%s/SHA256SUMS' % (BASE, version), what='checksum file')
        checksum = ctx.find_checksum(sums.text, name, sums.url, 'sha256')
        return self.result(ctx, version, sums.modified_date, '%s%s/%s' % (BASE, version, name), checksum,
                           '%s%s/SHA256SUMS' % (BASE, version))
