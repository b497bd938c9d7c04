"""Flatcar Container Linux stable channel (reference section 8).

``stable.release.flatcar-linux.net/<board>/<version>/`` (amd64-usr, arm64-usr) and ``current/`` -> newest, with
``version.txt`` and ``flatcar_production_openstack_image.img.bz2`` plus the newer uncompressed
``.img``. Each carries ``.DIGESTS`` (md5/sha1/sha512 sections), ``.DIGESTS.asc`` (clearsigned
DIGESTS), ``.DIGESTS.sig`` and ``.sig`` (detached binary).
"""

from __future__ import annotations

import hashlib
import os

from .. import checksums, images, signing
from .base import TRAVERSAL_NAME, Vendor, set_uncompressed, uncompressed_of

IMAGE = 'flatcar_production_openstack_image.img'
FIRST_VERSION = {'stable': (4230, 2, 2)}


class Flatcar(Vendor):
    distro = 'flatcar'
    host = 'stable.release.flatcar-linux.net'
    releases = FIRST_VERSION
    compression = 'bz2'
    hour = (14, 20)
    arch_names = {'x86_64': 'amd64-usr', 'aarch64': 'arm64-usr'}  # Flatcar's boards

    def release_root(self, ctx, release, arch='x86_64'):
        return ctx.path(self.host, self.spell(arch))

    def build_dir(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.release_root(ctx, release, arch), build['version'])

    def image_path(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.build_dir(ctx, release, build, arch), IMAGE + '.bz2')

    def next_build(self, ctx, release, previous, day, bump=False):
        if not previous:
            major, branch, patch = FIRST_VERSION[release]
        elif bump:
            major, branch, patch = previous['major'] + 229, 2, 0   # a new major promoted to stable
        else:
            major, branch, patch = previous['major'], previous['branch'], previous['patch'] + 1
        return self.make_build(day, '%d.%d.%d' % (major, branch, patch), major=major, branch=branch, patch=patch)

    def write_build(self, ctx, release, build):
        text = ''.join('%s=%s\n' % item for item in (
            ('FLATCAR_BUILD', build['major']), ('FLATCAR_BRANCH', build['branch']), ('FLATCAR_PATCH', build['patch']),
            ('FLATCAR_VERSION', build['version']), ('FLATCAR_VERSION_ID', build['version']), ('FLATCAR_BUILD_ID', '""'),
            ('FLATCAR_SDK_VERSION', '%d.0.0' % build['major'])))
        for arch in self.arches:
            self.put_payload(ctx, release, build, None, arch=arch)  # None: the bootable disk
            ctx.write(os.path.join(self.build_dir(ctx, release, build, arch), 'version.txt'), text, build['published'])

    def drop_build(self, ctx, release, build):
        for arch in self.arches:
            ctx.remove(self.build_dir(ctx, release, build, arch))

    def drop_release(self, ctx, release):
        for arch in self.arches:
            ctx.remove(self.release_root(ctx, release, arch))

    def put_payload(self, ctx, release, build, qcow2, compressed=None, uncompressed=None, arch='x86_64'):
        """Both published forms of the image; a bomb replaces only the ``.bz2``."""
        directory = self.build_dir(ctx, release, build, arch)
        if compressed is None:
            if qcow2 is None and not self.boots(build, arch=arch):
                qcow2 = self.qcow2(ctx, release, build, arch=arch)  # a stand-in
            if qcow2 is None:  # the .bz2 comes from cached streams (see bootable.py)
                qcow2 = self.qcow2(ctx, release, build)
                compressed, uncompressed = ctx.images.bootable_compressed(
                    'bz2', self.boot_id(release, build), self.boot_fault(ctx, release, build), self.virtual_size)
            else:
                compressed = images.bzip2(qcow2)
                uncompressed = {'sha256': hashlib.sha256(qcow2).hexdigest(), 'size': len(qcow2)}
            ctx.write(os.path.join(directory, IMAGE), qcow2, build['published'])
        set_uncompressed(build, arch, uncompressed)
        ctx.write(os.path.join(directory, IMAGE + '.bz2'), compressed, build['published'])

    def publish(self, ctx, release, builds):
        for arch in self.arches:
            self.publish_board(ctx, release, builds, arch)

    def publish_board(self, ctx, release, builds, arch):
        for build in builds:
            fault = self.signature_fault(ctx, release, build)
            for name in (IMAGE, IMAGE + '.bz2'):
                path = os.path.join(self.build_dir(ctx, release, build, arch), name)
                digests = {algo: ctx.digest(path, algo) for algo in ('md5', 'sha1', 'sha512')}
                body = checksums.flatcar_digests(name, digests)
                if self.checksum_fault(ctx, release, build):
                    body += checksums.flatcar_digests(TRAVERSAL_NAME, digests)
                ctx.write(path + '.DIGESTS', body, build['published'])
                ctx.sign(path + '.DIGESTS', path + '.DIGESTS.asc', signing.CLEARSIGNED, fault)
                ctx.sign(path + '.DIGESTS', path + '.DIGESTS.sig', signing.DETACHED_BINARY, fault)
                ctx.sign(path, path + '.sig', signing.DETACHED_BINARY, fault)
        ctx.symlink(builds[-1]['version'], os.path.join(self.release_root(ctx, release, arch), 'current'))

    def describe(self, ctx, release, build, arch='x86_64'):
        path = self.image_path(ctx, release, build, arch)
        current = os.path.join(self.release_root(ctx, release, arch), 'current')
        info = self.info(ctx, release, build, path, arch, pointer_url=ctx.url(os.path.join(current, IMAGE + '.bz2')),
                         checksum_url=ctx.url(path + '.DIGESTS'), checksum_signature_url=ctx.url(path + '.DIGESTS.asc'),
                         image_signature_url=ctx.url(path + '.sig'), signature_kind=signing.DETACHED_BINARY,
                         index_url=ctx.url(os.path.join(current, 'version.txt')),
                         extra={'uncompressed_url': ctx.url(path[:-len('.bz2')])})
        info.uncompressed_sha256 = uncompressed_of(build, arch)['sha256']
        info.uncompressed_size = uncompressed_of(build, arch)['size']
        return info
