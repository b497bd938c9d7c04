"""Debian genericcloud on cloud.debian.org/images/cloud/ (reference section 3).

``/<codename>/<YYYYMMDD>-<buildno>/`` (build number: one global CI counter) and a real
``latest/`` directory whose file names drop the date stamp. ``SHA512SUMS`` in GNU text mode,
a Kubernetes-style JSON List per image with base64 sha512 digests. Unsigned, as upstream.
``cdimage.debian.org/cdimage/cloud/`` is an alias of the same tree.

The release list is the archive's ``deb.debian.org/debian/dists/``: one directory per codename
(a small ``Release`` file in it), suite links (``stable/`` -> ``trixie``, ``testing/``, ...) and a
``Debian<N>.<point>/`` link per *released* version (as on ftp.debian.org/debian/dists/: Debian11.11,
Debian12.14, Debian13.5 in mid-2026). The testing codename has its directory, never such a link.
Debian 14 (forky, testing until then) is upcoming: ``advance(new_releases=[('debian', '14')])``.
"""

from __future__ import annotations

import os
import time
import uuid

from .. import checksums
from ..context import b64_nopad
from .base import TRAVERSAL_NAME, Vendor

CODENAMES = {'14': 'forky', '13': 'trixie', '12': 'bookworm', '11': 'bullseye'}
POINTS = {'14': '14.0', '13': '13.5', '12': '12.14', '11': '11.11'}  # Debian<point>/ in dists/
TESTING = {'13': 'forky', '14': 'duke'}  # the codename in testing while the key is the newest stable
SUITES = ('stable', 'oldstable', 'oldoldstable')
FIRST_BUILD_NUMBER = 2391


class Debian(Vendor):
    distro = 'debian'
    host = 'cloud.debian.org'
    releases = CODENAMES
    hour = (1, 52)
    signed = False
    retention = 3
    upcoming = ('14',)
    arch_names = {'x86_64': 'amd64', 'aarch64': 'arm64'}

    def release_root(self, ctx, release):
        return ctx.path(self.host, 'images', 'cloud', CODENAMES[release])

    def build_dir(self, ctx, release, build):
        return os.path.join(self.release_root(ctx, release), build['version'])

    @staticmethod
    def stem(release, arch, version=None):
        name = 'debian-%s-genericcloud-%s' % (release, arch)
        return '%s-%s' % (name, version) if version else name

    def image_path(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.build_dir(ctx, release, build),
                            self.stem(release, self.spell(arch), build['version']) + '.qcow2')

    def next_build(self, ctx, release, previous, day, bump=False):
        counters = ctx.state['counters']
        number = counters.get('debian', FIRST_BUILD_NUMBER) + 1
        counters['debian'] = number
        return self.make_build(day, '%s-%d' % (day.strftime('%Y%m%d'), number))

    def write_build(self, ctx, release, build):
        directory = self.build_dir(ctx, release, build)
        raw = {}
        for arch in self.arches:
            ctx.write(self.image_path(ctx, release, build, arch), self.qcow2(ctx, release, build, arch=arch),
                      build['published'])
            if self.boots(build, arch=arch):
                raw[self.spell(arch)] = ctx.images.bootable_raw_sha512(
                    self.boot_id(release, build), self.boot_fault(ctx, release, build), self.virtual_size)
            else:
                raw[self.spell(arch)] = ctx.images.raw_sha512(self.label(release, build, arch=arch),
                                                              self.virtual_size)
        build['raw_sha512'] = raw  # kept in state: hashing the 16 MiB guest disk on every publish is wasteful

    def build_json(self, ctx, release, build, arch):
        version = build['version']
        labels = {'cloud.debian.org/vendor': 'genericcloud', 'cloud.debian.org/version': version,
                  'debian.org/arch': arch, 'debian.org/dist': 'debian', 'debian.org/release': CODENAMES[release]}
        name = self.stem(release, arch, version) + '.qcow2'
        qcow2 = os.path.join(self.build_dir(ctx, release, build), name)

        def uid(kind):
            return str(uuid.uuid5(uuid.NAMESPACE_URL, '%s/%s/%s' % (kind, version, name)))

        build_item = {
            'apiVersion': 'cloud.debian.org/v1alpha1', 'kind': 'Build',
            'data': {'info': {'arch': arch, 'build_id': 'cloud-admin-team-master', 'release': CODENAMES[release],
                              'release_baseid': release, 'release_id': release, 'type': 'official',
                              'vendor': 'genericcloud', 'version': version},
                     'packages': [{'name': 'cloud-init', 'version': '25.1.4-1'}, {'name': 'linux-image-cloud-%s' % arch, 'version': version}]},
            'metadata': {'annotations': {'cloud.debian.org/digest': 'sha512:' + b64_nopad(build['raw_sha512'][arch])},
                         'labels': labels, 'uid': uid('build')}}
        upload = {
            'apiVersion': 'cloud.debian.org/v1alpha1', 'kind': 'Upload',
            'data': {'familyRef': None, 'provider': 'cloud.debian.org', 'ref': '%s/%s/%s' % (CODENAMES[release], version, name)},
            'metadata': {'annotations': {'cloud.debian.org/digest': 'sha512:' + b64_nopad(ctx.digest(qcow2, 'sha512'))},
                         'labels': dict(labels, **{'upload.cloud.debian.org/image-format': 'qcow2',
                                                   'upload.cloud.debian.org/type': 'release'}),
                         'uid': uid('upload')}}
        return {'apiVersion': 'v1', 'items': [build_item, upload], 'kind': 'List'}

    def write_sums(self, ctx, release, build, directory):
        names = self.files_in(directory, exclude=('SHA512SUMS',))
        entries = [(ctx.digest(os.path.join(directory, name), 'sha512'), name) for name in names]
        if self.checksum_fault(ctx, release, build):
            entries.append((ctx.digest(self.image_path(ctx, release, build), 'sha512'), TRAVERSAL_NAME))
        ctx.write(os.path.join(directory, 'SHA512SUMS'), checksums.gnu(entries), self.newest_mtime(directory, names))

    def publish(self, ctx, release, builds):
        for build in builds:
            directory = self.build_dir(ctx, release, build)
            for arch in map(self.spell, self.arches):
                path = os.path.join(directory, self.stem(release, arch, build['version']) + '.json')
                ctx.write_json(path, self.build_json(ctx, release, build, arch), build['published'], indent=4)
            self.write_sums(ctx, release, build, directory)
        newest = builds[-1]
        latest = os.path.join(self.release_root(ctx, release), 'latest')
        source = self.build_dir(ctx, release, newest)
        wanted = set()
        for arch in map(self.spell, self.arches):
            for ext in ('qcow2', 'json'):
                alias = self.stem(release, arch) + '.' + ext
                ctx.link(os.path.join(source, self.stem(release, arch, newest['version']) + '.' + ext), os.path.join(latest, alias))
                wanted.add(alias)
        for name in self.files_in(latest, exclude=wanted | {'SHA512SUMS'}):
            os.unlink(os.path.join(latest, name))
        self.write_sums(ctx, release, newest, latest)

    def publish_distro(self, ctx, live, ended=None):
        ctx.symlink('../../cloud.debian.org/images/cloud', ctx.path('cdimage.debian.org', 'cdimage', 'cloud'))
        self.publish_dists(ctx, live)

    @staticmethod
    def publish_dists(ctx, live):
        """The archive's ``dists/`` for the live releases (an ended one has moved to archive.debian.org)."""
        dists = ctx.path('deb.debian.org', 'debian', 'dists')
        ctx.remove(dists)
        released = sorted(live, key=int, reverse=True)
        if not released:
            return
        suites = [(release, SUITES[index] if index < len(SUITES) else None) for index, release in enumerate(released)]
        suites += [(TESTING[released[0]], 'testing'), ('sid', 'unstable')]
        for release, suite in suites:
            codename = CODENAMES.get(release, release)
            mtime = (live.get(release) or live[released[0]])[0]['published']
            fields = ['Origin: Debian', 'Label: Debian', 'Suite: %s' % (suite or codename)]
            fields += ['Version: %s' % POINTS[release]] if release in live else []
            fields += ['Codename: %s' % codename, time.strftime('Date: %a, %d %b %Y %H:%M:%S UTC', time.gmtime(mtime)),
                       'Architectures: all amd64 arm64 ppc64el', 'Components: main contrib non-free-firmware non-free']
            ctx.write(os.path.join(dists, codename, 'Release'), '\n'.join(fields) + '\n', mtime)
            if suite:
                ctx.symlink(codename, os.path.join(dists, suite))
            if release in live:
                ctx.symlink(codename, os.path.join(dists, 'Debian' + POINTS[release]))

    def describe(self, ctx, release, build, arch='x86_64'):
        path = self.image_path(ctx, release, build, arch)
        latest = os.path.join(self.release_root(ctx, release), 'latest')
        stem = self.stem(release, self.spell(arch))
        return self.info(
            ctx, release, build, path, arch,
            pointer_url=ctx.url(os.path.join(latest, stem + '.qcow2')),
            checksum_url=ctx.url(os.path.join(os.path.dirname(path), 'SHA512SUMS')),
            index_url=ctx.url(os.path.join(latest, stem + '.json')),
            extra={'codename': CODENAMES[release], 'json_url': ctx.url(path[:-len('.qcow2')] + '.json')})
