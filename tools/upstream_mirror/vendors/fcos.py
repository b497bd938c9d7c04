"""Fedora CoreOS stable stream on builds.coreos.fedoraproject.org (reference section 4).

``/streams/stable.json`` names the newest release; the OpenStack artifact is
``/prod/streams/stable/builds/<rel>/<arch>/fedora-coreos-<rel>-openstack.<arch>.qcow2.xz`` with a
detached binary ``.sig``. Hashes live only in the JSON (``sha256`` of the xz and
``uncompressed-sha256`` of the qcow2). Releases are ``<fedora>.<YYYYMMDD>.3.<respin>``.
"""

from __future__ import annotations

import os

from .. import signing
from ..context import iso
from .base import Vendor, uncompressed_of

FEDORA_MAJOR = 44


class FedoraCoreOS(Vendor):
    distro = 'fedora-coreos'
    host = 'builds.coreos.fedoraproject.org'
    releases = {'stable': 3}   # stream name -> stream index in the version string
    compression = 'xz'
    hour = (18, 45)

    def release_root(self, ctx, release):
        return ctx.path(self.host, 'prod', 'streams', release)

    def build_dir(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.release_root(ctx, release), 'builds', build['version'], arch)

    def image_path(self, ctx, release, build, arch='x86_64'):
        name = 'fedora-coreos-%s-openstack.%s.qcow2.xz' % (build['version'], arch)
        return os.path.join(self.build_dir(ctx, release, build, arch), name)

    def drop_build(self, ctx, release, build):
        ctx.remove(os.path.dirname(self.build_dir(ctx, release, build)))

    def next_build(self, ctx, release, previous, day, bump=False):
        stem = '%d.%s.%d' % (FEDORA_MAJOR, day.strftime('%Y%m%d'), self.releases[release])
        respin = 0
        if previous and previous['version'].startswith(stem + '.'):
            respin = int(previous['version'].rsplit('.', 1)[1]) + 1
        return self.make_build(day, '%s.%d' % (stem, respin))

    def write_build(self, ctx, release, build):
        for arch in self.arches:  # None: the bootable disk, compressed from cached streams (a stand-in elsewhere)
            self.put_payload(ctx, release, build, None, arch=arch)

    def publish(self, ctx, release, builds):
        for build in builds:
            for arch in self.arches:
                path = self.image_path(ctx, release, build, arch)
                ctx.sign(path, path + '.sig', signing.DETACHED_BINARY, self.signature_fault(ctx, release, build))
        build = builds[-1]
        stream = {'stream': release,
                  'metadata': {'last-modified': iso(build['published']), 'generator': 'fedora-coreos-stream-generator v0.4.0'},
                  'architectures': {arch: {'artifacts': {'openstack': {
                      'release': build['version'],
                      'formats': {'qcow2.xz': {'disk': self.disk(ctx, release, build, arch)}}}},
                      'images': {}} for arch in self.arches}}
        ctx.write_json(ctx.path(self.host, 'streams', '%s.json' % release), stream, build['published'])
        releases = {'stream': release, 'metadata': {'last-modified': iso(build['published'])},
                    'releases': [{'version': b['version'], 'metadata': ctx.url(os.path.join(
                        os.path.dirname(self.build_dir(ctx, release, b)), 'release.json'))} for b in builds]}
        ctx.write_json(os.path.join(self.release_root(ctx, release), 'releases.json'), releases, build['published'])

    def drop_release(self, ctx, release):
        ctx.remove(self.release_root(ctx, release))
        ctx.remove(ctx.path(self.host, 'streams', '%s.json' % release))

    def disk(self, ctx, release, build, arch):
        path = self.image_path(ctx, release, build, arch)
        return {'location': ctx.url(path), 'signature': ctx.url(path + '.sig'), 'sha256': ctx.digest(path),
                'uncompressed-sha256': uncompressed_of(build, arch)['sha256']}

    def describe(self, ctx, release, build, arch='x86_64'):
        path = self.image_path(ctx, release, build, arch)
        info = self.info(ctx, release, build, path, arch, image_signature_url=ctx.url(path + '.sig'),
                         signature_kind=signing.DETACHED_BINARY,
                         index_url=ctx.url(ctx.path(self.host, 'streams', '%s.json' % release)))
        info.uncompressed_sha256 = uncompressed_of(build, arch)['sha256']
        info.uncompressed_size = uncompressed_of(build, arch)['size']
        return info
