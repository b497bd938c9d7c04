"""Ubuntu Server and Minimal releases trees on cloud-images.ubuntu.com (reference sections 1-2).

``/<tree>/<codename>/release-<serial>/`` with ``release/`` -> newest, ``/<tree>/<version>/`` ->
codename, GNU binary-mode ``SHA256SUMS`` + armored detached ``SHA256SUMS.gpg``,
``unpacked/build-info.txt`` and simplestreams under ``/<tree>/streams/v1/``.
"""

from __future__ import annotations

import os
import time

from .. import checksums, signing
from .base import TRAVERSAL_NAME, Vendor

SERIES = {
    '26.04': dict(codename='resolute', title='Resolute Raccoon', eol='2031-05-29', sums_order='hash'),
    '24.04': dict(codename='noble', title='Noble Numbat', eol='2029-05-31', sums_order='hash'),
    '22.04': dict(codename='jammy', title='Jammy Jellyfish', eol='2027-06-01', sums_order='name'),
}


def rfc2822(timestamp):
    return time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(timestamp))


class Ubuntu(Vendor):
    distro = 'ubuntu'
    host = 'cloud-images.ubuntu.com'
    releases = SERIES
    hour = (16, 27)
    tree = 'releases'
    flavor = 'server'
    retention = 4
    arch_names = {'x86_64': 'amd64', 'aarch64': 'arm64'}

    # -- naming -------------------------------------------------------------------------------
    def file_name(self, release, arch='amd64', ext='img'):
        return 'ubuntu-%s-%s-cloudimg-%s.%s' % (release, self.flavor, arch, ext)

    def release_root(self, ctx, release):
        return ctx.path(self.host, self.tree, SERIES[release]['codename'])

    def build_dir(self, ctx, release, build):
        return os.path.join(self.release_root(ctx, release), 'release-%s' % build['version'])

    def image_path(self, ctx, release, build, arch='x86_64'):
        return os.path.join(self.build_dir(ctx, release, build), self.file_name(release, self.spell(arch)))

    def stream_path(self, release, build, name):
        """Item ``path`` relative to the stream's mirror root (``/releases/`` has a ``server/`` alias)."""
        return 'server/releases/%s/release-%s/%s' % (SERIES[release]['codename'], build['version'], name)

    # -- builds -------------------------------------------------------------------------------
    def next_build(self, ctx, release, previous, day, bump=False):
        serial = day.strftime('%Y%m%d')
        if previous and previous['version'].split('.')[0] == serial:
            # Same-day respin: YYYYMMDD.N
            parts = previous['version'].split('.')
            serial = '%s.%d' % (serial, int(parts[1]) + 1 if len(parts) > 1 else 1)
        return self.make_build(day, serial)

    def write_build(self, ctx, release, build):
        directory = self.build_dir(ctx, release, build)
        stamp = build['published']
        for arch in self.arches:
            ctx.write(self.image_path(ctx, release, build, arch), self.qcow2(ctx, release, build, arch=arch), stamp)
            arch = self.spell(arch)
            manifest = ''.join('%s\t%s\n' % (pkg, ver) for pkg, ver in (
                ('adduser', '3.137ubuntu1'), ('cloud-init', '25.2-0ubuntu1~%s' % release),
                ('linux-image-virtual:%s' % arch, build['version']), ('openssh-server', '1:9.6p1-3ubuntu13')))
            ctx.write(os.path.join(directory, self.file_name(release, arch, 'manifest')), manifest, stamp)
        info = 'build_name=%s\nserial=%s\n' % (self.flavor, build['version'])
        ctx.write(os.path.join(directory, 'unpacked', 'build-info.txt'), info, stamp)

    # -- derived files --------------------------------------------------------------------------
    def publish(self, ctx, release, builds):
        root = self.release_root(ctx, release)
        for build in builds:
            directory = self.build_dir(ctx, release, build)
            names = self.files_in(directory, exclude=('SHA256SUMS', 'SHA256SUMS.gpg'))
            entries = [(ctx.digest(os.path.join(directory, name)), name) for name in names]
            if self.checksum_fault(ctx, release, build):
                entries.append((ctx.digest(self.image_path(ctx, release, build)), TRAVERSAL_NAME))
            # noble's file is sorted by hash, jammy's by name: parsers must not rely on order.
            entries.sort(key=lambda entry: entry[0] if SERIES[release]['sums_order'] == 'hash' else entry[1])
            sums = os.path.join(directory, 'SHA256SUMS')
            ctx.write(sums, checksums.gnu(entries, binary=True), build['published'])
            ctx.sign(sums, sums + '.gpg', signing.DETACHED_ARMORED, self.signature_fault(ctx, release, build))
        ctx.symlink('release-%s' % builds[-1]['version'], os.path.join(root, 'release'))
        ctx.symlink(SERIES[release]['codename'], ctx.path(self.host, self.tree, release))

    def drop_release(self, ctx, release):
        """End of life as on the real tree: the last build stays, marked unsupported in the streams."""
        entry = ctx.state['releases']['%s/%s' % (self.distro, release)]
        for build in entry['builds'][:-1]:
            self.drop_build(ctx, release, build)
        del entry['builds'][:-1]
        entry['support_eol'] = min(SERIES[release]['eol'], ctx.state['today'])

    def publish_distro(self, ctx, live, ended=None):
        streams = ctx.path(self.host, self.tree, 'streams', 'v1')
        if self.tree == 'releases':
            ctx.symlink('..', ctx.path(self.host, 'releases', 'server'))
        products = {}
        newest = 0
        for release, builds in sorted(list(live.items()) + list((ended or {}).items())):
            meta = SERIES[release]
            for arch in map(self.spell, self.arches):
                versions = {}
                for build in builds:
                    directory = self.build_dir(ctx, release, build)
                    items = {}
                    for ftype, ext in (('disk1.img', 'img'), ('manifest', 'manifest')):
                        name = self.file_name(release, arch, ext)
                        path = os.path.join(directory, name)
                        items[ftype] = {'ftype': ftype, 'md5': ctx.digest(path, 'md5'), 'path': self.stream_path(release, build, name),
                                        'sha256': ctx.digest(path), 'size': ctx.size(path)}
                    versions[build['version']] = {'items': items, 'label': 'release',
                                                  'pubname': 'ubuntu-%s-%s-%s-%s-%s' % (meta['codename'], release, arch, self.flavor, build['version'])}
                    newest = max(newest, build['published'])
                products['com.ubuntu.cloud:%s:%s:%s' % (self.flavor, release, arch)] = {
                    'aliases': '%s,%s' % (release, meta['codename']), 'arch': arch, 'os': 'ubuntu',
                    'release': meta['codename'], 'release_codename': meta['title'], 'release_title': '%s LTS' % release,
                    'support_eol': ctx.state['releases']['%s/%s' % (self.distro, release)].get('support_eol', meta['eol']),
                    'supported': release in live, 'version': release, 'versions': versions}
        if not products:
            ctx.remove(os.path.join(ctx.path(self.host, self.tree), 'streams'))
            return
        updated = rfc2822(newest)
        content_id = 'com.ubuntu.cloud:released:download'
        doc = {'content_id': content_id, 'creator': 'climdb-download-streams-export', 'datatype': 'image-downloads',
               'format': 'products:1.0', 'license': 'http://www.canonical.com/intellectual-property-policy',
               'products': products, 'updated': updated}
        index = {'format': 'index:1.0', 'updated': updated, 'index': {content_id: {
            'datatype': 'image-downloads', 'format': 'products:1.0', 'path': 'streams/v1/%s.json' % content_id,
            'products': sorted(products), 'updated': updated}}}
        for name, obj in (('%s.json' % content_id, doc), ('index.json', index)):
            path = os.path.join(streams, name)
            ctx.write_json(path, obj, newest)
            ctx.sign(path, path[:-len('.json')] + '.sjson', signing.CLEARSIGNED)

    def describe(self, ctx, release, build, arch='x86_64'):
        path = self.image_path(ctx, release, build, arch)
        directory = os.path.dirname(path)
        root = self.release_root(ctx, release)
        return self.info(
            ctx, release, build, path, arch,
            pointer_url=ctx.url(os.path.join(root, 'release', os.path.basename(path))),
            checksum_url=ctx.url(os.path.join(directory, 'SHA256SUMS')),
            checksum_signature_url=ctx.url(os.path.join(directory, 'SHA256SUMS.gpg')),
            signature_kind=signing.DETACHED_ARMORED,
            index_url=ctx.url(ctx.path(self.host, self.tree, 'streams', 'v1', 'com.ubuntu.cloud:released:download.json')),
            extra={'build_info_url': ctx.url(os.path.join(root, 'release', 'unpacked', 'build-info.txt')),
                   'product': 'com.ubuntu.cloud:%s:%s:%s' % (self.flavor, release, self.spell(arch)),
                   'codename': SERIES[release]['codename']})


class UbuntuMinimal(Ubuntu):
    distro = 'ubuntu-minimal'
    tree = 'minimal/releases'
    flavor = 'minimal'
    hour = (17, 5)

    def stream_path(self, release, build, name):
        # Unverified upstream; relative to https://cloud-images.ubuntu.com/minimal/releases/.
        return '%s/release-%s/%s' % (SERIES[release]['codename'], build['version'], name)
