"""Fedora Cloud Base (reference section 7).

Canonical URLs use the ``download.fedoraproject.org`` redirector (the server answers 302 to
``dl.fedoraproject.org``, same path). ``/pub/fedora/linux/releases/<N>/Cloud/<arch>/images/``
holds one compose: ``Fedora-Cloud-Base-Generic-<N>-<R>.<arch>.qcow2`` (+ a UKI sibling) and the
clearsigned ``Fedora-Cloud-<N>-<R>-<arch>-CHECKSUM`` (BSD lines with ``# bytes`` comments), for
x86_64 and aarch64 alike.
``fedoraproject.org/releases.json`` is the flat discovery array. End of life moves the tree to
archives.fedoraproject.org.
"""

from __future__ import annotations

import os

from .. import checksums, signing
from .base import TRAVERSAL_NAME, Vendor

FIRST_RESPIN = {'45': 3, '44': 5, '43': 4}
REDIRECTOR = 'download.fedoraproject.org'
VARIANTS = (('Generic', 'Cloud_Base'), ('UEFI-UKI', 'Cloud_Base_UKI'))


class Fedora(Vendor):
    distro = 'fedora'
    host = 'dl.fedoraproject.org'
    releases = FIRST_RESPIN
    upcoming = ('45',)  # advance(new_releases=[('fedora', '45')])
    retention = 1  # a released Fedora tree holds exactly one compose
    hour = (13, 3)

    def release_root(self, ctx, release):
        return ctx.path(self.host, 'pub', 'fedora', 'linux', 'releases', release)

    def build_dir(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.release_root(ctx, release), 'Cloud', arch, 'images')

    @staticmethod
    def image_name(build, variant='Generic', arch='x86_64'):
        return 'Fedora-Cloud-Base-%s-%s.%s.qcow2' % (variant, build['version'], arch)

    @staticmethod
    def checksum_name(build, arch='x86_64'):
        return 'Fedora-Cloud-%s-%s-CHECKSUM' % (build['version'], arch)

    def image_path(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.build_dir(ctx, release, build, arch), self.image_name(build, arch=arch))

    def redirector_url(self, ctx, path):
        return ctx.url(path).replace('://%s/' % self.host, '://%s/' % REDIRECTOR, 1)

    def next_build(self, ctx, release, previous, day, bump=False):
        respin = previous['respin'] + 1 if previous else FIRST_RESPIN[release]
        return self.make_build(day, '%s-1.%d' % (release, respin), respin=respin)

    def write_build(self, ctx, release, build):
        for arch in self.arches:
            directory = self.build_dir(ctx, release, build, arch)
            for variant, _subvariant in VARIANTS:
                ctx.write(os.path.join(directory, self.image_name(build, variant, arch)),
                          self.qcow2(ctx, release, build, variant, arch), build['published'])

    def drop_build(self, ctx, release, build):
        for arch in self.arches:
            directory = self.build_dir(ctx, release, build, arch)
            for variant, _subvariant in VARIANTS:
                ctx.remove(os.path.join(directory, self.image_name(build, variant, arch)))
            ctx.remove(os.path.join(directory, self.checksum_name(build, arch)))

    def publish(self, ctx, release, builds):
        build = builds[-1]
        for arch in self.arches:
            directory = self.build_dir(ctx, release, build, arch)
            entries = []
            for variant, _subvariant in VARIANTS:
                path = os.path.join(directory, self.image_name(build, variant, arch))
                entries.append((ctx.digest(path), os.path.basename(path), ctx.size(path)))
            if self.checksum_fault(ctx, release, build):
                entries.append((entries[0][0], TRAVERSAL_NAME, entries[0][2]))
            body = os.path.join(ctx.root, 'work', 'fedora-%s-%s.body' % (release, arch))
            ctx.write(body, checksums.bsd('sha256', entries), build['published'])
            ctx.sign(body, os.path.join(directory, self.checksum_name(build, arch)), signing.CLEARSIGNED,
                     self.signature_fault(ctx, release, build))

    def publish_distro(self, ctx, live, ended=None):
        entries = []
        newest = 0
        for release in sorted(live, key=int, reverse=True):
            build = live[release][-1]
            newest = max(newest, build['published'])
            for arch in self.arches:
                for variant, subvariant in VARIANTS:
                    path = os.path.join(self.build_dir(ctx, release, build, arch),
                                        self.image_name(build, variant, arch))
                    entries.append({'version': release, 'arch': arch, 'link': self.redirector_url(ctx, path),
                                    'variant': 'Cloud', 'subvariant': subvariant, 'sha256': ctx.digest(path),
                                    'size': str(ctx.size(path))})
        if live:
            # A pre-release entry, as the real file carries during beta: discovery must skip it.
            beta = str(max(int(release) for release in live) + 1)
            entries[:0] = [{'version': '%s Beta' % beta, 'arch': arch, 'variant': 'Cloud', 'subvariant': 'Cloud_Base',
                            'link': 'https://%s/pub/fedora/linux/releases/test/%s_Beta/Cloud/%s/images/'
                                    'Fedora-Cloud-Base-Generic-%s_Beta-1.2.%s.qcow2'
                                    % (REDIRECTOR, beta, arch, beta, arch),
                            'sha256': '0' * 64, 'size': '1'} for arch in self.arches]
        ctx.write_json(ctx.path('fedoraproject.org', 'releases.json'), entries, newest or 0, indent=None)

    def drop_release(self, ctx, release):
        source = self.release_root(ctx, release)
        target = ctx.path('archives.fedoraproject.org', 'pub', 'archive', 'fedora', 'linux', 'releases', release)
        if os.path.isdir(source):
            ctx.remove(target)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(source, target)

    def describe(self, ctx, release, build, arch='x86_64'):
        path = self.image_path(ctx, release, build, arch)
        checksum = os.path.join(os.path.dirname(path), self.checksum_name(build, arch))
        info = self.info(ctx, release, build, path, arch, checksum_url=self.redirector_url(ctx, checksum),
                         checksum_signature_url=self.redirector_url(ctx, checksum), signature_kind=signing.CLEARSIGNED,
                         index_url=ctx.url(ctx.path('fedoraproject.org', 'releases.json')),
                         extra={'mirror_url': ctx.url(path)})
        info.image_url = self.redirector_url(ctx, path)
        return info
