# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""A provider-built image (Windows Server, SLES...): a path or URL plus the checksum the build produced.

Nothing is discovered and nothing is fetched: the operator states version and digest, which
image_fetch then enforces on the bytes. ``image_source`` defaults to ``private`` (SCS's value
for images without a public upstream).
"""

from __future__ import annotations

import datetime
import os
import re
import urllib.parse

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _checksums
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, Source, date_in,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._names import COMPRESSIONS

KNOWN = {'path', 'url', 'checksum', 'version', 'build_date', 'filename', 'distro', 'login_user', 'disk_format',
         'compression', 'image_source', 'architectures'}


def parse_checksum(value, name):
    """``'sha256:<hex>'`` (algorithm optional when the length tells it) -> Checksum; sha256 or stronger."""
    try:
        algorithm, hexdigest = _checksums.parse_digest(value, bare=True, what='options.checksum')
    except _checksums.ChecksumError as exc:
        raise DiscoveryError('local_artifact: %s' % exc) from None
    return _checksums.Checksum(name, algorithm, hexdigest)


class LocalArtifact(Source):
    name = 'local_artifact'
    signed = None   # nothing fetched: the operator's checksum is the trust anchor

    def __init__(self, release, arch=DEFAULT_ARCH, options=None):
        super().__init__(release, arch, options)
        opts = self.options
        self.distro = self.family = str(opts.get('distro') or 'custom')
        self.login_user = opts.get('login_user')
        self.disk_format = str(opts.get('disk_format') or 'qcow2')
        self.compression = str(opts.get('compression') or 'none')

    def check(self):
        opts = self.options
        unknown = set(opts) - KNOWN
        if unknown:
            raise DiscoveryError('local_artifact: unknown options %s' % ', '.join(sorted(unknown)))
        self.built_for()
        if bool(opts.get('path')) == bool(opts.get('url')):
            raise DiscoveryError('local_artifact: give exactly one of options.path and options.url')
        if opts.get('url') and urllib.parse.urlsplit(str(opts['url'])).scheme not in ('http', 'https'):
            raise DiscoveryError('local_artifact: options.url must be an http(s) URL; use options.path for local files')
        if not opts.get('checksum'):
            raise DiscoveryError('local_artifact: options.checksum ("sha256:<hex>") is required')
        if not opts.get('version'):
            raise DiscoveryError('local_artifact: options.version (the provider build id) is required')
        if self.compression not in COMPRESSIONS:
            raise DiscoveryError('local_artifact: options.compression must be one of %s' % ', '.join(COMPRESSIONS))

    def entry_url(self):
        return None

    def resolve(self, ctx, entry, candidate):
        opts = self.options
        version = str(opts['version'])
        if opts.get('path'):
            path = os.path.abspath(os.path.expanduser(str(opts['path'])))
            if not os.path.isfile(path):
                raise DiscoveryError('local_artifact: %s is not a file' % path)
            location, name = 'file://' + urllib.parse.quote(path), os.path.basename(path)
            mtime = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc).date().isoformat()
        else:
            location, mtime = str(opts['url']), None
            name = urllib.parse.unquote(urllib.parse.urlsplit(location).path.rsplit('/', 1)[-1])
        name = str(opts.get('filename') or name)
        build_date = opts.get('build_date') or date_in(version) or mtime
        if not build_date:
            raise DiscoveryError('local_artifact: options.build_date is required when the version '
                                 'holds no YYYYMMDD date')
        build_date = str(build_date)
        if not re.fullmatch(r'[0-9]{4}-[0-9]{2}-[0-9]{2}', build_date):
            raise DiscoveryError('local_artifact: options.build_date must be YYYY-MM-DD, not %r' % build_date)
        checksum = parse_checksum(opts['checksum'], name)
        return self.result(ctx, version, build_date, location, checksum, None, filename=name,
                           image_source=str(opts.get('image_source') or 'private'))
