# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Does what Glance stores equal what the vendor published? The pure part of image_verify.

Trust comes from the upstream digest recorded on the image at upload (``cloudimages_digest``,
read from signed vendor metadata then) and, when the caller passes the vendor's current
``release`` for the same build, from that freshly verified checksum too. The upstream file is
downloaded against that digest, brought into the form Glance stores (expanded; raw when Glance
stores raw) and its md5 / ``os_hash_algo`` digests are compared with Glance's ``checksum`` and
``os_hash_value``: the seed pages' manual ``openstack image show`` against ``md5sum`` of the
converted upstream file, for every image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._checksums import (
    ChecksumError, parse_digest)
# The same url_rewrites semantics as upstream_release (longest canonical prefix -> mirror prefix).
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import rewrite
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._checksum_dir import archive_urls

STATUSES = ('match', 'mismatch', 'source_gone', 'unverifiable', 'skipped', 'error')
PRIVATE_SOURCE = 'private'   # image_source of provider-built images (SCS): nothing upstream to compare with


class VerifyUsageError(ValueError):
    """Bad module input (not a per-image outcome)."""


@dataclass
class Plan:
    """What to download for one image and how to reproduce Glance's stored form from it."""

    url: str                      # where to download (mirror-rewritten)
    digest: str                   # '<algo>:<hex>' the download must match (the recorded cloudimages_digest)
    filename: str                 # vendor's file name (compression follows from its suffix)
    convert_to_raw: bool          # Glance stores raw, so compare with the raw conversion
    disk_format: str | None       # expected format after decompression (None: qcow2 or raw)
    image_signature_url: str | None = None
    trust: dict = field(default_factory=dict)
    vendor_checksum: tuple | None = None   # (algo, hex) the vendor publishes now for this build, checked after download
    archives: list = field(default_factory=list)   # where the vendor moves old builds (vault), tried when url is gone


def index_releases(releases):
    """Release dicts (upstream_release's ``release``) by key; VerifyUsageError on a malformed one."""
    indexed = {}
    for number, release in enumerate(releases or ()):
        if not isinstance(release, dict):
            raise VerifyUsageError('releases[%d] is not a dict (pass the release returned by upstream_release)'
                                   % number)
        missing = [k for k in ('key', 'version', 'checksum') if release.get(k) in (None, '')]
        if missing:
            raise VerifyUsageError('releases[%d] lacks %s (pass the release returned by upstream_release)'
                                   % (number, ', '.join(missing)))
        try:
            parse_digest(release['checksum'])
        except ChecksumError as exc:
            raise VerifyUsageError('releases[%d] (%s) checksum: %s' % (number, release['key'], exc)) from None
        if release['key'] in indexed:
            raise VerifyUsageError('releases holds release key %s twice' % release['key'])
        indexed[release['key']] = release
    return indexed


def select(images, refs=None, release_keys=None):
    """The managed images to verify: by default every public and community one; ``refs`` are ids or names.

    An explicitly named image is verified whatever its visibility. A ref that names no image,
    or a name shared by several images, is a usage error (nothing is verified then).
    """
    if refs:
        by_id = {image['id']: image for image in images}
        chosen = {}
        for ref in refs:
            if ref in by_id:
                chosen[ref] = by_id[ref]
                continue
            named = [image for image in images if image.get('name') == ref]
            if not named:
                raise VerifyUsageError('images: no managed image of this provider has the id or name %r' % ref)
            if len(named) > 1:
                raise VerifyUsageError('images: %d managed images are named %r; give their ids (%s)'
                                       % (len(named), ref, ', '.join(sorted(i['id'] for i in named))))
            chosen[named[0]['id']] = named[0]
        picked = list(chosen.values())
    else:
        picked = [image for image in images if image.get('visibility') in _managed.PROMOTED_VISIBILITIES]
    if release_keys:
        picked = [image for image in picked if (image.get('properties') or {}).get(_managed.RELEASE) in release_keys]
    return sorted(picked, key=lambda image: (image.get('name') or '', image['id']))


def base_result(image):
    props = image.get('properties') or {}
    return {
        'id': image['id'], 'name': image.get('name'), 'visibility': image.get('visibility'),
        'image_status': image.get('status'), 'disk_format': image.get('disk_format'),
        'release_key': props.get(_managed.RELEASE), 'architecture': props.get('architecture'),
        'build': props.get(_managed.BUILD),
        'image_source': props.get('image_source'), 'source': None,
        'status': None, 'reason': '', 'differs': [], 'expected': {}, 'actual': actual(image),
        'from_cache': None, 'signer': None, 'deactivated': False,
    }


def actual(image):
    return {'checksum': image.get('checksum'), 'os_hash_algo': image.get('os_hash_algo') or 'sha512',
            'os_hash_value': image.get('os_hash_value')}


def outcome(result, status, reason, **extra):
    result.update(extra, status=status, reason=reason)
    return result


def plan(image, releases=None, rewrites=None):
    """(result, Plan) for one flattened image: a Plan to download, or a finished result (plan None)."""
    result = base_result(image)
    props = image.get('properties') or {}
    source, digest, build = props.get('image_source'), props.get(_managed.DIGEST), props.get(_managed.BUILD)
    if source == PRIVATE_SOURCE:
        return outcome(result, 'skipped', 'provider-built image (image_source: private): '
                                          'there is no upstream file to compare with'), None
    if not digest:
        return outcome(result, 'unverifiable',
                       'no %s property: the upstream digest was never recorded' % _managed.DIGEST), None
    try:
        algorithm, hexdigest = parse_digest(digest)
    except ChecksumError as exc:
        return outcome(result, 'unverifiable', '%s: %s' % (_managed.DIGEST, exc)), None
    if not source or not re.match(r'(?i)https?://', str(source)):
        return outcome(result, 'unverifiable',
                       'image_source %r is not an http(s) URL of the upstream file' % (source,)), None
    if not image.get('checksum'):
        return outcome(result, 'unverifiable',
                       'Glance holds no checksum for this image (status %s)' % image.get('status')), None
    stores_raw = image.get('disk_format') == 'raw'
    step = Plan(url=rewrite(source, rewrites), digest='%s:%s' % (algorithm, hexdigest),
                filename=source.split('?', 1)[0].rstrip('/').rsplit('/', 1)[-1],
                convert_to_raw=stores_raw, disk_format=None if stores_raw else image.get('disk_format'),
                archives=[rewrite(url, rewrites) for url in archive_urls(source)])
    release = (releases or {}).get(props.get(_managed.RELEASE))
    if release is not None and str(release.get('version')) == str(build):
        vendor = parse_digest(release['checksum'])
        if vendor[0] == algorithm and vendor[1] != hexdigest:
            return outcome(result, 'mismatch',
                           'vendor now publishes another digest for build %s: %s:%s, the image records %s'
                           % (build, vendor[0], vendor[1], digest), differs=['vendor_digest'],
                           expected={'vendor_digest': '%s:%s' % vendor},
                           actual=dict(result['actual'], vendor_digest=digest)), None
        step.vendor_checksum = vendor if vendor[0] != algorithm else None
        if release.get('image_source') == source:
            # Same file: download where discovery says (already rewritten) and check the image signature too.
            step.url = release.get('url') or step.url
            step.image_signature_url = release.get('image_signature_url') or None
            step.trust = dict(release.get('trust') or {})
    result['source'] = step.url
    return result, step


def compare(result, image, stored, upstream_digests, step, extra_digests=None):
    """Finish ``result`` from the digests of the reproduced stored form (``stored``) and of the download."""
    want = actual(image)
    algo = want['os_hash_algo']
    digests = dict(stored, **(extra_digests or {}))
    expected = {'checksum': digests.get('md5'), 'os_hash_algo': algo, 'os_hash_value': digests.get(algo)}
    form = 'raw conversion' if step.convert_to_raw else 'image'
    differs, reasons = [], []
    if (want['checksum'] or '').lower() != expected['checksum']:
        differs.append('checksum')
        reasons.append("Glance checksum %s != md5 %s of the upstream %s"
                       % (want['checksum'], expected['checksum'], form))
    if want['os_hash_value'] and (want['os_hash_value'] or '').lower() != expected['os_hash_value']:
        differs.append('os_hash_value')
        reasons.append('Glance os_hash_value (%s) %s != %s of the upstream %s'
                       % (algo, _short(want['os_hash_value']), _short(expected['os_hash_value']), form))
    if step.vendor_checksum:
        vendor_algo, vendor_hex = step.vendor_checksum
        got = (upstream_digests or {}).get(vendor_algo)
        if got is not None and got != vendor_hex:
            differs.append('vendor_digest')
            reasons.append('vendor now publishes %s:%s for this build, the upstream file is %s:%s'
                           % (vendor_algo, vendor_hex, vendor_algo, got))
    result['expected'] = expected
    if differs:
        return outcome(result, 'mismatch', '; '.join(reasons), differs=differs)
    checked = 'checksum and os_hash_value' if want['os_hash_value'] else 'checksum (Glance has no os_hash_value)'
    return outcome(result, 'match', '%s equal the upstream %s of %s' % (checked, form, step.url))


def _short(value):
    return (value or 'none')[:16] + ('...' if value and len(value) > 16 else '')


def summarize(results):
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result['status']] += 1
    counts['total'] = len(results)
    return counts


def mismatch_message(results, provider):
    bad = [r for r in results if r['status'] == 'mismatch']
    return '%d of %d images of %s do not match upstream: %s' % (
        len(bad), len(results), provider,
        '; '.join('%s (%s): %s' % (r['name'], r['id'], ', '.join(r['differs'])) for r in bad))
