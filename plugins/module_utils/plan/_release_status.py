# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Is a release already in its final form in one cloud? The daily sync's fast path.

A release is *settled* when the cloud holds its newest upstream build, promoted, and the
rotation planner has nothing to change (names, visibility, properties, retention, cleanup,
retirement). A settled release needs no download, upload, boot test or rotation today; any
other release takes the whole path (roles/image_sync/tasks/release.yml), whose modules decide
again from fresh state. So a wrong "not settled" costs time, never correctness.

Pure: the caller lists the images, discovers the release and looks up usage.
"""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._build_order import (
    compare, describe, image_build, withdrawal_accepts,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import missing_stores
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import members, plan


def existing_build(images, policy, release):
    """The newest active image of the group holding exactly the upstream file of ``release``, or None."""
    digest = release.get('checksum')
    found = [image for image in members(images, policy)
             if image.get('status') == 'active' and digest and image['properties'].get(_managed.DIGEST) == digest]
    return max(found, key=lambda image: (image.get('created_at') or '', image['id'])) if found else None


def current_latest(images, policy, now):
    """The image the group publishes as Latest now (the planner's choice), or None."""
    return {image['id']: image for image in images}.get(plan(images, policy, now).latest)


def assess(images, policy, release, now, usage=None, stores=()):
    """``{'settled', 'reason', 'existing', 'usage_needed', 'missing_stores', 'warnings', 'latest_since',
    'kept_in_use'}``.

    Of one release group; ``latest_since`` is the upload time of its current Latest, which stays
    published when today's build fails (the morning view's "Latest age").

    ``release`` is the discovered release dict, None for a retired release. The planner runs without
    a candidate, as release.yml would when nothing is uploaded; when it needs usage that ``usage``
    does not give, the release is not settled and ``usage_needed`` says for which images. The
    current build must be in every one of ``stores`` (image_upload copies it into those it lacks).
    """
    latest = current_latest(images, policy, now)
    status = _assess(images, policy, release, now, usage, stores, latest)
    status['latest_since'] = (latest or {}).get('created_at')
    return status


def _assess(images, policy, release, now, usage, stores, latest):
    existing = rollback = None
    if not policy.retired:
        existing = existing_build(images, policy, release)
        rollback = _rollback(latest, release, policy)
        if rollback is None and existing is None:
            return _status(False, 'build %s is not in this cloud yet' % release.get('version'))
        if rollback is None and existing.get('visibility') not in _managed.PROMOTED_VISIBILITIES:
            return _status(False, 'build %s is uploaded but not promoted yet' % release.get('version'), existing)
        missing = missing_stores(existing, stores) if rollback is None else []
        if missing:
            status = _status(False, 'build %s is here but not in the store(s) %s' % (release.get('version'),
                                                                                     ', '.join(missing)), existing)
            status['missing_stores'] = missing
            return status
    result = plan(images, policy, now, usage)
    if result.usage_needed:
        status = _status(False, 'usage of older images to check', existing)
        status['usage_needed'] = result.usage_needed
    elif result.changed:
        actions = sorted({action['action'] for action in result.actions if action['action'] != 'keep'})
        status = _status(False, 'rotation to do: %s' % ', '.join(actions), existing)
    elif policy.retired:
        status = _status(True, 'retired, nothing to change')
    elif rollback:
        status = _status(True, rollback, existing)
    else:
        status = _status(True, 'build %s is here, nothing to change' % release.get('version'), existing)
    status['warnings'] = result.warnings + ([rollback] if rollback else [])
    status['kept_in_use'] = result.kept_in_use()
    return status


def _rollback(latest, release, policy):
    """Why ``release`` must not be uploaded: its build is older than the current latest's; else None.

    The planner would refuse to promote it (``_rotation._refuse_rollback``), so uploading it
    again every day would only cost a download and a boot test: such a release is settled, with
    a warning, until upstream publishes a build at least as new as the current latest. Unless the
    operator accepted exactly this step back (``policy.accept_withdrawal``): then the planner
    promotes the older build's image (``_rotation._withdrawn``), uploaded first if the cloud has none.
    """
    if latest is None or compare(release.get('version'), release.get('build_date'), *image_build(latest)) >= 0:
        return None
    if withdrawal_accepts(policy.accept_withdrawal, image_build(latest)[0], release.get('version')):
        return None
    return 'upstream build %s is older than %s of the current latest %s: refusing a rollback, the latest stays' % (
        describe(release.get('version'), release.get('build_date')), describe(*image_build(latest)), latest['id'])


def _status(settled, reason, existing=None):
    return {'settled': settled, 'reason': reason, 'existing': existing, 'usage_needed': [], 'missing_stores': [],
            'warnings': [], 'kept_in_use': None}
