# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Releases over time: vendor end of life, streams that follow the vendor, new releases.

Pure: the caller fetches the vendor's release list (``_engine.vendor_catalog``) and the images.

* ``end_of_life``: the vendor's own lifecycle data (Ubuntu's ``supported``/``support_eol``).
* ``concrete``: one release of a stream entry (``release: current``): its own release key
  ``release_key(family, N, arch)``, ``{release}`` replaced in its name and properties, its end of support from
  the stream's ``end_of_support`` map (a floor: retired once passed).
* ``stream_members``: the releases of a stream the cloud still holds images of, so a release
  that leaves the stream is retired instead of forgotten.
* ``available``: what the vendor lists that the run does not carry.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import version_key

PLACEHOLDER = '{release}'


def end_of_life(lifecycle, today):
    """``(date or True, reason)`` when the vendor's lifecycle data ends support before ``today``, else None."""
    if not lifecycle:
        return None
    eol, where = lifecycle.get('support_eol'), lifecycle.get('source') or 'its index'
    if lifecycle.get('supported') is False:
        return eol or True, '%s marks it unsupported (supported: false%s) in %s' % (
            lifecycle.get('vendor') or 'the vendor', ', support_eol %s' % eol if eol else '', where)
    if eol and eol < today:
        return eol, 'its end of support %s (support_eol in %s) has passed' % (eol, where)
    return None


def _fill(value, release):
    return value.replace(PLACEHOLDER, release) if isinstance(value, str) else value


def stream_key(spec):
    """``(family, arch)`` of a stream entry whose ``rotate.release_key`` is
    ``release_key(family, <stream>, arch)``, such as ``fedora-current-aarch64``."""
    stream = str(spec['discover']['release'])
    arch = spec['discover'].get('arch') or DEFAULT_ARCH
    key = str((spec.get('rotate') or {}).get('release_key') or '')
    suffix = _managed.release_key('', stream, arch)
    if not key.endswith(suffix) or key == suffix:
        raise ValueError('rotate.release_key of a %r release must be its key (such as %s), not %r'
                         % (stream, _managed.release_key('fedora', stream, arch), key))
    return key[:-len(suffix)], arch


def concrete(spec, release, today, reason=None):
    """The entry ``spec`` (a stream) for its concrete ``release``; ``reason`` retires it."""
    family, arch = stream_key(spec)
    found = copy.deepcopy(spec)
    floors = (spec.get('stream') or {}).get('end_of_support') or {}
    eos = str(floors.get(release) or '') or None
    rotate = found['rotate']
    rotate['release_key'] = _managed.release_key(family, release, arch)
    rotate['name'] = _fill(rotate.get('name'), release)
    rotate['properties'] = {key: _fill(value, release) for key, value in (rotate.get('properties') or {}).items()}
    if eos:
        rotate['properties']['provided_until'] = eos
    found['discover']['release'] = release
    found['end_of_support'] = eos
    found['follows'] = spec['discover']['release']
    if eos and eos < today and not reason:
        reason = 'end_of_support %s (distribution data) has passed' % eos
    if reason:
        rotate['retired'] = True
        found['retired_reason'] = reason
    return found


def stream_members(images, provider, family, arch=DEFAULT_ARCH):
    """Releases N (numeric) of ``provider``'s managed images keyed ``release_key(family, N, arch)``,
    newest first."""
    head, tail = _managed.release_key(family, '\n', arch).split('\n')
    pattern = re.compile(re.escape(head) + r'([0-9]+(?:\.[0-9]+)*)' + re.escape(tail))
    tag = _managed.managed_tag(provider)
    found = set()
    for image in images:
        match = pattern.fullmatch(str((image.get('properties') or {}).get(_managed.RELEASE) or ''))
        if match and tag in (image.get('tags') or ()):
            found.add(match[1])
    return sorted(found, key=version_key, reverse=True)


def not_in_data(images, provider, carried):
    """``provider``'s managed images whose release key no queued release carries (``carried``: keys),
    by key: ``[{'provider', 'release_key', 'images': [{'id', 'name', 'visibility'}], 'summary'}]``,
    sorted; ``summary`` is the group in one line, as the run summary shows it.

    A release dropped from the data (or a distribution dropped from a cloud) leaves its images
    behind; nothing here acts on them: retiring needs the release's naming, which is data.
    """
    tag = _managed.managed_tag(provider)
    found = {}
    for image in images:
        key = (image.get('properties') or {}).get(_managed.RELEASE)
        if tag in (image.get('tags') or ()) and key not in carried:
            entry = {name: image.get(name) for name in ('id', 'name', 'visibility')}
            found.setdefault(key, []).append(entry)
    groups = []
    for key, images in sorted(found.items(), key=lambda item: str(item[0])):
        images.sort(key=lambda image: str(image['name']))
        names = [str(image['name']) for image in images]
        summary = '%s: %d image%s (%s); in no release of the data, left as they are' % (
            key or 'no %s' % _managed.RELEASE, len(names), '' if len(names) == 1 else 's', ', '.join(names))
        groups.append({'provider': provider, 'release_key': key, 'summary': summary, 'images': images})
    return groups


def available(catalog, carried, today, lts_only=False):
    """Entries of the vendor's ``catalog`` newer than every ``carried`` release and still supported."""
    newest = max((version_key(str(release)) for release in carried), default=None)
    found = []
    for item in catalog or ():
        if newest is not None and version_key(item['release']) <= newest:
            continue
        if (lts_only and not item.get('lts')) or end_of_life(item, today):
            continue
        found.append(item)
    return found
