"""AlmaLinux GenericCloud on repo.almalinux.org (reference section 6).

``/almalinux/<major>/cloud/x86_64/images/`` with ``AlmaLinux-9-GenericCloud-9.6-<YYYYMMDD>``
(AL10 adds a respin: ``10.1-<YYYYMMDD>.0``) and ``-latest`` names, ``CHECKSUM`` in GNU text mode
listing both, ``CHECKSUM.asc`` an armored detached signature. Older minors move to
vault.almalinux.org.
"""

from __future__ import annotations

import os

from .. import checksums, signing
from .base import TRAVERSAL_NAME
from .flat import FlatDir

FIRST_MINOR = {'9': 5, '10': 0, '11': 0}


class AlmaLinux(FlatDir):
    distro = 'almalinux'
    host = 'repo.almalinux.org'
    releases = FIRST_MINOR
    hour = (9, 40)
    upcoming = ('11',)  # advance(new_releases=[(distro, '11')]): a new major appears
    minor_parent = ('almalinux',)

    def current_dir(self, ctx, release, arch='x86_64'):
        return ctx.path(self.host, 'almalinux', release, 'cloud', arch, 'images')

    def vault_dir(self, ctx, release, build, arch='x86_64'):
        return ctx.path('vault.almalinux.org', '%s.%d' % (release, build['minor']), 'cloud', arch, 'images')

    def versioned_name(self, release, build, variant, arch='x86_64'):
        return 'AlmaLinux-%s-GenericCloud-%s.%s.qcow2' % (release, build['version'], arch)

    def alias_names(self, release, variant, arch='x86_64'):
        return ['AlmaLinux-%s-GenericCloud-latest.%s.qcow2' % (release, arch)]

    def next_build(self, ctx, release, previous, day, bump=False):
        minor = previous['minor'] + (1 if bump else 0) if previous else FIRST_MINOR[release]
        version = '%s.%d-%s' % (release, minor, day.strftime('%Y%m%d'))
        respin = 0
        if release != '9':
            if previous and previous['version'].startswith(version + '.'):
                respin = previous['respin'] + 1
            version = '%s.%d' % (version, respin)
        elif previous and previous['version'] == version:
            raise ValueError('AlmaLinux 9 names carry no respin: one build per day and minor')
        return self.make_build(day, version, minor=minor, respin=respin)

    def write_checksums(self, ctx, release, directory, builds):
        names = [name for name in self.files_in(directory) if name.endswith('.qcow2')]
        entries = [(ctx.digest(os.path.join(directory, name)), name) for name in names]
        # Dir-wide files reflect the newest build's faults: a later clean build repairs them.
        if self.checksum_fault(ctx, release, builds[-1]):
            entries.append((entries[0][0], TRAVERSAL_NAME))
        path = os.path.join(directory, 'CHECKSUM')
        ctx.write(path, checksums.gnu(entries), self.newest_mtime(directory, names))
        ctx.sign(path, path + '.asc', signing.DETACHED_ARMORED, self.signature_fault(ctx, release, builds[-1]))

    def describe(self, ctx, release, build, arch='x86_64'):
        directory = os.path.dirname(self.image_path(ctx, release, build, arch))
        return self.describe_flat(ctx, release, build, arch, checksum_url=ctx.url(os.path.join(directory, 'CHECKSUM')),
                                  checksum_signature_url=ctx.url(os.path.join(directory, 'CHECKSUM.asc')),
                                  signature_kind=signing.DETACHED_ARMORED,
                                  extra={'minor': '%s.%d' % (release, build['minor']),
                                         'release_url': self.release_url(ctx, release, build, arch)})
