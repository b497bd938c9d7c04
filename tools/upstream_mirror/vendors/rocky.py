"""Rocky Linux GenericCloud on dl.rockylinux.org (reference section 5).

``/pub/rocky/<major>/images/x86_64/`` holds the current minor's builds
``Rocky-<maj>-GenericCloud-{Base,LVM}-<maj.min>-<YYYYMMDD>.<respin>.x86_64.qcow2`` plus
``.latest.`` aliases (and Rocky 9's legacy ``Rocky-9-GenericCloud.latest``), per-file
``.CHECKSUM`` sidecars and a dir-wide ``CHECKSUM``, BSD style with ``# <name>: <N> bytes``
comments. Older minors move to ``/vault/rocky/<maj.min>/``. Rocky 10 signs the dir-wide
``CHECKSUM`` (detached armored ``CHECKSUM.asc``, as listed in the real 10.1 CHECKSUM); Rocky 9
is unsigned, as upstream.
"""

from __future__ import annotations

import os

from .. import checksums, signing
from .base import TRAVERSAL_NAME
from .flat import FlatDir

FIRST_MINOR = {'9': 5, '10': 0, '11': 0}
SIGNED = ('10',)


class Rocky(FlatDir):
    distro = 'rocky'
    host = 'dl.rockylinux.org'
    releases = FIRST_MINOR
    variants = ('Base', 'LVM')
    hour = (4, 12)
    upcoming = ('11',)  # advance(new_releases=[(distro, '11')]): a new major appears
    minor_parent = ('pub', 'rocky')

    def signs(self, release):
        return release in SIGNED

    def current_dir(self, ctx, release, arch='x86_64'):
        return ctx.path(self.host, 'pub', 'rocky', release, 'images', arch)

    def vault_dir(self, ctx, release, build, arch='x86_64'):
        return ctx.path(self.host, 'vault', 'rocky', '%s.%d' % (release, build['minor']), 'images', arch)

    def versioned_name(self, release, build, variant, arch='x86_64'):
        return 'Rocky-%s-GenericCloud-%s-%s.%s.qcow2' % (release, variant, build['version'], arch)

    def alias_names(self, release, variant, arch='x86_64'):
        names = ['Rocky-%s-GenericCloud-%s.latest.%s.qcow2' % (release, variant, arch)]
        if release == '9' and variant == 'Base':
            names.append('Rocky-9-GenericCloud.latest.%s.qcow2' % arch)  # legacy alias, same bytes
        return names

    def next_build(self, ctx, release, previous, day, bump=False):
        minor = previous['minor'] + (1 if bump else 0) if previous else FIRST_MINOR[release]
        stamp = day.strftime('%Y%m%d')
        respin = 0
        if previous and previous['minor'] == minor and previous['version'].endswith('-%s.%d' % (stamp, previous['respin'])):
            respin = previous['respin'] + 1
        return self.make_build(day, '%s.%d-%s.%d' % (release, minor, stamp, respin), minor=minor, respin=respin)

    def write_checksums(self, ctx, release, directory, builds):
        names = [name for name in self.files_in(directory) if name.endswith('.qcow2')]
        poisoned = {name for build in builds if self.checksum_fault(ctx, release, build)
                    for arch in self.arches for name in self.build_files(release, build, arch)}
        entries = []
        for name in names:
            path = os.path.join(directory, name)
            entry = (ctx.digest(path), name, ctx.size(path))
            sidecar = [entry] + ([(entry[0], TRAVERSAL_NAME, entry[2])] if name in poisoned else [])
            ctx.write(path + '.CHECKSUM', checksums.bsd('sha256', sidecar), os.path.getmtime(path))
            entries.append(entry)
        if self.checksum_fault(ctx, release, builds[-1]):
            entries.append((entries[0][0], TRAVERSAL_NAME, entries[0][2]))
        path = os.path.join(directory, 'CHECKSUM')
        ctx.write(path, checksums.bsd('sha256', entries), self.newest_mtime(directory, names))
        if release in SIGNED:
            ctx.sign(path, path + '.asc', signing.DETACHED_ARMORED, self.signature_fault(ctx, release, builds[-1]))

    def drop_release(self, ctx, release):
        super().drop_release(ctx, release)
        pub = ctx.path(self.host, 'pub', 'rocky')
        if os.path.isdir(os.path.join(pub, release)):
            ctx.remove(os.path.join(pub, release))

    def describe(self, ctx, release, build, arch='x86_64'):
        path = self.image_path(ctx, release, build, arch)
        dir_checksum = os.path.join(os.path.dirname(path), 'CHECKSUM')
        signed = {'checksum_signature_url': ctx.url(dir_checksum + '.asc'),
                  'signature_kind': signing.DETACHED_ARMORED} if release in SIGNED else {}
        return self.describe_flat(ctx, release, build, arch, checksum_url=ctx.url(path + '.CHECKSUM'), **signed,
                                  extra={'dir_checksum_url': ctx.url(dir_checksum),
                                         'minor': '%s.%d' % (release, build['minor']),
                                         'release_url': self.release_url(ctx, release, build, arch)})
