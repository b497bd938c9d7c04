# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""What the daily sync tells users and operators, from what it actually does.

``description``: the ``image_description`` of a release's images in one cloud (boot-tested or
not, how to reproduce Glance's checksum from a compressed ``image_source``).
``change_lines``: a rotation plan in words, the same for a check-mode plan and the real run that
follows it (names, never IDs: the planned candidate has none yet). Pure.
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


def _quoted(name):
    return '"%s"' % name


def change_lines(actions):
    """One line per action of an image_rotate plan that changes something, in plan order."""
    lines = []
    for action in actions or ():
        kind = action.get('action')
        if kind == 'keep':
            continue
        before, after = action.get('before') or {}, action.get('after') or {}
        name = before.get('name')
        if kind in ('delete', 'cleanup', 'deactivate'):
            lines.append('%s %s: %s' % (kind, _quoted(name), action.get('reason')))
            continue
        moves = []
        if after.get('name') != name:
            moves.append('name %s' % _quoted(after.get('name')))
        if after.get('visibility') != before.get('visibility'):
            moves.append(str(after.get('visibility')))
        if bool(after.get('os_hidden')) != bool(before.get('os_hidden')):
            moves.append('hidden' if after.get('os_hidden') else 'listed')
        changed = after.get('properties') or {}
        if changed:
            moves.append('properties %s' % ', '.join('%s=%s' % (key, changed[key]) for key in sorted(changed)))
        lines.append('%s %s -> %s (%s)' % (kind, _quoted(name), '; '.join(moves), action.get('reason')))
    return lines
