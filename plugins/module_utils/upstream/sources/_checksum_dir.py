# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Sources whose image directory holds every build plus one checksum file: Rocky, AlmaLinux, generic.

The checksum file is the entry document: it changes exactly when a build is added. The newest
build is the listed name matching the pattern with the highest version (version-aware, so
``9.10`` beats ``9.9``). Signed variants verify the file before its digests are used.

Rocky and AlmaLinux are discovered through the major-version alias directory (``/pub/rocky/9/``),
which always shows the newest minor, but ``image_source`` names the release's own directory
(``/pub/rocky/9.6/``): the alias stops serving a build at the next minor release, the release
directory keeps it until the vendor moves it to its vault (:func:`archive_urls`).
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, Source, catalog_entry, date_in, listing_names, newest_match,
    same_digest, select_checksum,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._names import COMPRESSIONS


def pick(entries, pattern, what):
    """``(Checksum, version)`` of the newest entry whose name matches ``pattern``.

    Names only a problem line mentions compete too, so a newest build whose own line is
    broken or ambiguous is refused rather than silently replaced by an older one.
    """
    names = {entry.name for entry in entries}
    for problem in getattr(entries, 'problems', ()):
        tokens = list(problem.names) + re.split(r'[\s()*=,]+|: ', problem.line)
        names.update(token.rsplit('/', 1)[-1] for token in tokens if token)
    found = newest_match(sorted(names), pattern)
    if found is None:
        shown = pattern if isinstance(pattern, str) else pattern.pattern
        raise DiscoveryError('%s lists no file matching %s' % (what, shown))
    name, version = found
    return select_checksum(entries, name, what), version


class ChecksumDir(Source):
    checksum_name = 'CHECKSUM'
    signature = 'none'            # none | detached | clearsigned
    signature_name = None

    def directory(self):
        raise NotImplementedError

    def pattern(self):
        raise NotImplementedError

    def entry_url(self):
        return self.directory() + self.checksum_name

    def build_version(self, entry, version):  # pylint: disable=unused-argument
        """The build's version: the file name's (``pick``); a source may derive it otherwise."""
        return version

    def newest(self, ctx, entry):
        checksum, version = pick(ctx.parse_checksums(entry.body, entry.url), self.pattern(), entry.url)
        version = self.build_version(entry, version)
        hint = '%s:%s' % (checksum.algorithm, checksum.hexdigest)
        return {'version': version, 'filename': checksum.name, 'hint': hint}

    def resolve(self, ctx, entry, candidate):
        body, fingerprint, signature_url = entry.body, None, None
        if self.signature == 'detached':
            signature_url = self.directory() + self.signature_name
            fingerprint = ctx.verify_detached(self, entry.body, signature_url, self.release, entry.last_modified)
        elif self.signature == 'clearsigned':
            signature_url = self.entry_url()
            fingerprint, body = ctx.verify_clearsigned(self, entry, self.release)
        checksum, version = pick(ctx.parse_checksums(body, entry.url), self.pattern(), entry.url)
        version = self.build_version(entry, version)
        if version != candidate['version']:
            raise DiscoveryError('%s: the signed content names %s, the unsigned parse %s'
                                 % (entry.url, version, candidate['version']))
        same_digest(checksum, candidate['hint'], '%s %s' % (self.label(), version))
        return self.result(ctx, version, date_in(version) or entry.modified_date,
                           self.directory() + checksum.name, checksum, self.entry_url(), self.signature,
                           signature_url, fingerprint, image_source=self.image_source(checksum.name, version))

    def image_source(self, name, version):  # pylint: disable=unused-argument
        return None


ROCKY_IMAGE = re.compile(r'https://dl\.rockylinux\.org/(?:pub|vault)/rocky/[0-9.]+/images/(?P<arch>[a-z0-9_]+)/'
                         r'(?P<name>Rocky-[0-9]+-GenericCloud-[A-Za-z]+-(?P<minor>[0-9]+\.[0-9]+)'
                         r'-[0-9]{8}\.[0-9]+\.[^/]+)')
ALMA_IMAGE = re.compile(r'https://(?:repo\.almalinux\.org/almalinux|vault\.almalinux\.org)/[0-9.]+/cloud/'
                        r'(?P<arch>[a-z0-9_]+)/images/(?P<name>AlmaLinux-[0-9]+-GenericCloud-(?P<minor>[0-9]+\.[0-9]+)'
                        r'-[0-9]{8}(?:\.[0-9]+)?\.[^/]+)')


def archive_urls(image_source):
    """Where a Rocky or AlmaLinux build can be now that ``image_source`` is gone, in order.

    The release directory first (for images recorded through the major alias), then the
    vendor's vault: dl.rockylinux.org/vault/rocky/<X.Y>/, vault.almalinux.org/<X.Y>/.
    """
    rocky, alma = ROCKY_IMAGE.fullmatch(image_source or ''), ALMA_IMAGE.fullmatch(image_source or '')
    if rocky:
        urls = ['https://dl.rockylinux.org/%s/rocky/%s/images/%s/%s'
                % (tree, rocky['minor'], rocky['arch'], rocky['name']) for tree in ('pub', 'vault')]
    elif alma:
        urls = ['https://%s/%s/cloud/%s/images/%s' % (host, alma['minor'], alma['arch'], alma['name'])
                for host in ('repo.almalinux.org/almalinux', 'vault.almalinux.org')]
    else:
        return []
    return [url for url in urls if url != image_source]


MAJOR = re.compile(r'[1-9][0-9]{0,2}/')


def _minor(version):
    return version.split('-', 1)[0]


class MajorTree(ChecksumDir):
    """Rocky and AlmaLinux: one vendor tree whose top directory (``top``) holds every major release.

    Its listing is the vendor's release list (``catalog``): majors (``8/``, ``9/``, ``10/``) and
    point releases (``9.6/``, ``10.1/``) as subdirectories, next to the RPM-GPG-KEY files, as on
    dl.rockylinux.org/pub/rocky/ and repo.almalinux.org/almalinux/ (upstreams.md sections 5, 6).
    """

    title = ''
    top = ''
    images = ''       # the images directory below ``top`` of a major or point release and an arch
    key_file = ''     # the release key's file name in ``top``, ``%s`` the major

    @property
    def keyring_url(self):
        return self.top + self.keyring_name

    @property
    def keyring_name(self):
        return self.key_file % self.release

    def check(self):
        if not re.fullmatch(r'[0-9]+', self.release):
            raise DiscoveryError('%s releases are major versions such as "9" or "10", not %r'
                                 % (self.title, self.release))

    def directory(self):
        return self.top + self.images % (self.release, self.vendor_arch)

    def image_source(self, name, version):
        return self.top + self.images % (_minor(version), self.vendor_arch) + name

    def catalog_url(self):
        return self.top

    def catalog(self, entry):
        """The majors the top listing shows, newest first; any other entry (point releases, keys,
        ``10-beta/``, links elsewhere) is ignored, so a listing can only ever announce a number."""
        majors = {name[:-1] for name in listing_names(entry.text) if MAJOR.fullmatch(name)}
        return [catalog_entry(major, '%s %s' % (self.title, major))
                for major in sorted(majors, key=int, reverse=True)]


class Rocky(MajorTree):
    """dl.rockylinux.org; CHECKSUM is BSD-style.

    Rocky 10 signs it: a detached armored ``CHECKSUM.asc`` by the Rocky 10 release key (listed
    in the real 10.1 images CHECKSUM). Rocky 9's is unsigned: Rocky states that only 8 and 10
    sign the checksums on the mirrors; for 9 the signed commits of rocky-linux/checksums are the
    only authenticity, which a sync cannot use. Rocky 8 (not in the role data) would be signed too.
    """

    name = 'rocky'
    distro = 'rocky'
    title = 'Rocky Linux'
    login_user = 'rocky'
    signed_releases = ('8', '10')
    signature_name = 'CHECKSUM.asc'
    top = 'https://dl.rockylinux.org/pub/rocky/'
    images = '%s/images/%s/'
    key_file = 'RPM-GPG-KEY-Rocky-%s'

    def __init__(self, release, arch=DEFAULT_ARCH, options=None):
        super().__init__(release, arch, options)
        self.signed = self.release in self.signed_releases
        self.signature = 'detached' if self.signed else 'none'

    def pattern(self):
        variant = re.escape(self.options.get('variant', 'Base'))
        return r'Rocky-%s-GenericCloud-%s-(?P<version>%s\.[0-9]+-[0-9]{8}\.[0-9]+)\.%s\.qcow2' % (
            self.release, variant, self.release, re.escape(self.vendor_arch))


class AlmaLinux(MajorTree):
    """repo.almalinux.org; CHECKSUM (GNU) with a detached armored CHECKSUM.asc by the release key."""

    name = 'almalinux'
    distro = 'almalinux'
    title = 'AlmaLinux'
    login_user = 'almalinux'
    signature = 'detached'
    signature_name = 'CHECKSUM.asc'
    top = 'https://repo.almalinux.org/almalinux/'
    images = '%s/cloud/%s/images/'
    key_file = 'RPM-GPG-KEY-AlmaLinux-%s'

    def pattern(self):
        return r'AlmaLinux-%s-GenericCloud-(?P<version>%s\.[0-9]+-[0-9]{8}(?:\.[0-9]+)?)\.%s\.qcow2' % (
            self.release, self.release, re.escape(self.vendor_arch))


class ChecksumFile(ChecksumDir):
    """Anything else: ``options`` give the directory URL, checksum file name and a file-name regex."""

    name = 'checksum_file'

    def __init__(self, release, arch=DEFAULT_ARCH, options=None):
        super().__init__(release, arch, options)
        opts = self.options
        self.distro = self.family = str(opts.get('distro') or 'custom')
        self.checksum_name = str(opts.get('checksum_file') or 'SHA256SUMS')
        self.signature = str(opts.get('signature') or 'none')
        self.signature_name = str(opts.get('signature_file') or self.checksum_name + '.asc')
        self.signed = self.signature != 'none'
        self.login_user = opts.get('login_user')
        self.disk_format = str(opts.get('disk_format') or 'qcow2')
        self.compression = str(opts.get('compression') or 'none')

    def check(self):
        opts = self.options
        url = opts.get('url')
        if not url or not re.match(r'https?://', str(url)):
            raise DiscoveryError('checksum_file: options.url must be the http(s) URL of the image directory')
        if not opts.get('pattern'):
            raise DiscoveryError('checksum_file: options.pattern (a regex for the image file name, the version in '
                                 'group 1 or a group named "version") is required')
        try:
            re.compile(opts['pattern'])
        except re.error as exc:
            raise DiscoveryError('checksum_file: options.pattern is not a valid regex: %s' % exc) from None
        for name in (self.checksum_name, self.signature_name):
            if '/' in name or name in ('.', '..'):
                raise DiscoveryError('checksum_file: %r must be a file name in options.url, not a path' % name)
        if self.signature not in ('none', 'detached', 'clearsigned'):
            raise DiscoveryError('checksum_file: options.signature must be none, detached or clearsigned')
        if self.compression not in COMPRESSIONS:
            raise DiscoveryError('checksum_file: options.compression must be one of %s' % ', '.join(COMPRESSIONS))
        if str(opts.get('version_from') or 'name') not in ('name', 'last_modified'):
            raise DiscoveryError('checksum_file: options.version_from must be name or last_modified')
        unknown = set(opts) - {'url', 'checksum_file', 'pattern', 'signature', 'signature_file', 'distro',
                               'login_user', 'disk_format', 'compression', 'image_source', 'architectures',
                               'version_from'}
        if unknown:
            raise DiscoveryError('checksum_file: unknown options %s' % ', '.join(sorted(unknown)))
        self.built_for()

    def directory(self):
        url = str(self.options['url'])
        return url if url.endswith('/') else url + '/'

    def pattern(self):
        return self.options['pattern']

    def build_version(self, entry, version):
        """``version_from: last_modified``: a file name without a version (``...-latest.qcow2``, OIM's
        ``latest_url``) is versioned by the checksum file's Last-Modified date, ``YYYYMMDD``, as
        openstack-image-manager versions it; one build a day."""
        if str(self.options.get('version_from') or 'name') != 'last_modified':
            return version
        if not entry.modified_date:
            raise DiscoveryError('%s: no Last-Modified date to version the build by (version_from: last_modified)'
                                 % entry.url)
        return entry.modified_date.replace('-', '')

    def image_source(self, name, version):  # pylint: disable=unused-argument
        return self.options.get('image_source')
