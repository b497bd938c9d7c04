"""CirrOS on download.cirros-cloud.net, plus its GitHub release mirror (reference section 9).

``/version/released`` holds the newest version; ``/<ver>/cirros-<ver>-<arch>-disk.img`` with
``SHA256SUMS`` (GNU text mode) and ``MD5SUMS``, unsigned. The GitHub release URL
``github.com/cirros-dev/cirros/releases/download/<ver>/<file>`` answers 302 to an object-storage
host, as GitHub does.
"""

from __future__ import annotations

import os

from .. import checksums
from .base import MIB, TRAVERSAL_NAME, Vendor

FIRST_PATCH = {'0.6': 1}
GITHUB_PREFIX = 'github.com/cirros-dev/cirros/releases/download/'
OBJECTS_PREFIX = 'objects.githubusercontent.com/github-production-release-asset-2e65be/cirros-dev/cirros/'


class CirrOS(Vendor):
    distro = 'cirros'
    host = 'download.cirros-cloud.net'
    releases = FIRST_PATCH
    signed = False
    retention = 4
    hour = (11, 30)
    virtual_size = 112 * MIB  # 117440512 bytes, the real 0.6.x virtual size

    def release_root(self, ctx, release):
        return ctx.path(self.host)

    def build_dir(self, ctx, release, build):
        return ctx.path(self.host, build['version'])

    @staticmethod
    def image_name(build, arch='x86_64'):
        return 'cirros-%s-%s-disk.img' % (build['version'], arch)

    def image_path(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.build_dir(ctx, release, build), self.image_name(build, self.spell(arch)))

    def objects_dir(self, ctx, build):
        return os.path.join(ctx.www, OBJECTS_PREFIX, build['version'])

    def next_build(self, ctx, release, previous, day, bump=False):
        patch = previous['patch'] + 1 if previous else FIRST_PATCH[release]
        return self.make_build(day, '%s.%d' % (release, patch), patch=patch)

    def write_build(self, ctx, release, build):
        for arch in self.arches:
            ctx.write(self.image_path(ctx, release, build, arch), self.qcow2(ctx, release, build, arch=arch),
                      build['published'])

    def drop_build(self, ctx, release, build):
        ctx.remove(self.build_dir(ctx, release, build))
        ctx.remove(self.objects_dir(ctx, build))

    def publish(self, ctx, release, builds):
        for build in builds:
            directory = self.build_dir(ctx, release, build)
            names = [self.image_name(build, self.spell(arch)) for arch in self.arches]
            for algo, sums in (('sha256', 'SHA256SUMS'), ('md5', 'MD5SUMS')):
                entries = [(ctx.digest(os.path.join(directory, name), algo), name) for name in names]
                if self.checksum_fault(ctx, release, build):
                    entries.append((entries[0][0], TRAVERSAL_NAME))
                ctx.write(os.path.join(directory, sums), checksums.gnu(entries), build['published'])
            for name in names + ['SHA256SUMS', 'MD5SUMS']:
                ctx.link(os.path.join(directory, name), os.path.join(self.objects_dir(ctx, build), name))
        newest = builds[-1]
        ctx.write(ctx.path(self.host, 'version', 'released'), newest['version'] + '\n', newest['published'])

    def drop_release(self, ctx, release):
        for build in ctx.state['releases']['%s/%s' % (self.distro, release)]['builds']:
            self.drop_build(ctx, release, build)
        ctx.remove(ctx.path(self.host, 'version'))

    def describe(self, ctx, release, build, arch='x86_64'):
        path = self.image_path(ctx, release, build, arch)
        return self.info(ctx, release, build, path, arch,
                         checksum_url=ctx.url(os.path.join(os.path.dirname(path), 'SHA256SUMS')),
                         index_url=ctx.url(ctx.path(self.host, 'version', 'released')),
                         extra={'github_url': 'https://%s%s/%s' % (GITHUB_PREFIX, build['version'], os.path.basename(path)),
                                'md5sums_url': ctx.url(os.path.join(os.path.dirname(path), 'MD5SUMS'))})
