"""Provider-built images (Windows Server 2022/2025) in an internal artifact store (reference 10a).

No public upstream exists: the provider's pipeline drops
``windows-server-<rel>-datacenter-gui-<YYYYMMDD>.qcow2`` plus a stable-name alias into
``artifacts.provider.test/windows/<rel>/`` with a GNU ``SHA256SUMS``. No discovery, no signature.
"""

from __future__ import annotations

import os

from .. import checksums
from .base import MIB, TRAVERSAL_NAME
from .flat import FlatDir


class Windows(FlatDir):
    distro = 'windows'
    host = 'artifacts.provider.test'
    releases = {'2022': 'datacenter-gui', '2025': 'datacenter-gui'}
    signed = False
    bootable = False  # Windows artifacts are non-booting stand-ins (docs/operations.md)
    arches = ('x86_64',)  # the provider's pipeline builds no aarch64 artifact (roles/windows data says so)
    hour = (22, 10)
    virtual_size = 64 * MIB

    def current_dir(self, ctx, release, arch='x86_64'):
        return ctx.path(self.host, 'windows', release)

    def versioned_name(self, release, build, variant, arch='x86_64'):
        return 'windows-server-%s-%s-%s.qcow2' % (release, self.releases[release], build['version'])

    def alias_names(self, release, variant, arch='x86_64'):
        return ['windows-server-%s-%s.qcow2' % (release, self.releases[release])]

    def next_build(self, ctx, release, previous, day, bump=False):
        return self.make_build(day, day.strftime('%Y%m%d'))

    def write_checksums(self, ctx, release, directory, builds):
        names = [name for name in self.files_in(directory) if name.endswith('.qcow2')]
        entries = [(ctx.digest(os.path.join(directory, name)), name) for name in names]
        if self.checksum_fault(ctx, release, builds[-1]):
            entries.append((entries[0][0], TRAVERSAL_NAME))
        ctx.write(os.path.join(directory, 'SHA256SUMS'), checksums.gnu(entries), self.newest_mtime(directory, names))

    def describe(self, ctx, release, build, arch='x86_64'):
        directory = self.current_dir(ctx, release)
        return self.describe_flat(ctx, release, build, checksum_url=ctx.url(os.path.join(directory, 'SHA256SUMS')))
