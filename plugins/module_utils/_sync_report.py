# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""What the daily sync tells users and operators, from what it actually does.

``description``: the ``image_description`` of a release's images in one cloud (boot-tested or
not, how to reproduce Glance's checksum from a compressed ``image_source``). Pure.
"""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils._sources._base import COMPRESSIONS
from ansible_collections.cloudimages.openstack.plugins.module_utils._sources._registry import SOURCES

_DECOMPRESS = {'xz': 'xz -dk', 'bz2': 'bzip2 -dk', 'gz': 'gzip -dk'}


class ReportError(ValueError):
    pass


def compression_of(source, options=None):
    """How the upstream file of a release is compressed: its options, else its source's default."""
    options = options or {}
    if options.get('compression'):
        value = str(options['compression'])
    elif source in SOURCES:
        value = SOURCES[source].compression
    else:
        raise ReportError('unknown source %r; known: %s' % (source, ', '.join(sorted(SOURCES))))
    if value not in COMPRESSIONS:
        raise ReportError('compression must be one of %s, not %r' % (', '.join(COMPRESSIONS), value))
    return value


def description(name, boot_tested, compression='none', store_raw=False, provider_built=False, note=''):
    """The image_description of release ``name`` as this cloud's sync makes its images."""
    origin = ('built by the provider, checked against the provider\'s checksum' if provider_built
              else 'unmodified upstream image, checked against the vendor\'s checksum (and signature where signed)')
    tested = ('boot-tested in this cloud before publication' if boot_tested
              else 'not boot-tested in this cloud (boot tests are off)')
    text = '%s: %s; %s.' % (name, origin, tested)
    if compression not in COMPRESSIONS:
        raise ReportError('compression must be one of %s, not %r' % (', '.join(COMPRESSIONS), compression))
    if compression != 'none':
        steps = 'decompress it first (%s FILE)' % _DECOMPRESS[compression]
        if store_raw:
            steps += ', then qemu-img convert -O raw the result, then md5sum'
        else:
            steps += ', then md5sum the result (this cloud stores it unconverted)'
        text += (' The file at image_source is %s-compressed: to reproduce Glance\'s checksum, %s.'
                 % (compression, steps))
    if note:
        text += ' ' + str(note).strip()
    return text
