# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Reading a release group from Glance and applying a rotation plan to it.

Each rename/visibility/property change of one image is ONE ``PATCH /v2/images/{id}`` with the
plan's JSON-patch operations, so the new latest is complete (name, public, properties) the
moment it appears. Deletes re-check usage right before the DELETE and treat Glance's 409 as
"in use"; a 404 means another run got there first. Glance's calls are ``_glance.Glance``'s.
"""

from __future__ import annotations

import copy
import time

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance, GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import list_managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils._process import NO_GUARD
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import (
    PATCH_ACTIONS, latest_clash, pairs, plan, undo_ops)
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import (
    DEFAULT_SERVICES, in_use, lookup, pending_text)


def list_group(conn, provider, release_key, owners, extra_ids=()):
    """Every image of the group (owned by ``owners``; hidden and community included), plus ``extra_ids``.

    An extra id (the candidate) is read as it is, so the planner can say why it is not a member.
    """
    images = list_managed(conn, provider, owners, release_key)
    seen = {image['id'] for image in images}
    glance = Glance(conn)
    for image_id in extra_ids:
        if image_id and image_id not in seen:
            found = glance.get(image_id)
            if found is not None:
                images.append(found)
    return images


def _refit(ops, image):
    """The ops still needed on ``image`` as it is now, after another run changed it first.

    Glance refuses (409) removing or replacing a property that is gone, and two runs adding
    the same property at once can make one PATCH fail (500, duplicate row); ``add`` sets a
    property whether it exists or not.
    """
    fitted = []
    properties = image['properties']
    for op in ops:
        key = op['path'][1:].replace('~1', '/').replace('~0', '~')
        if key in ('name', 'visibility', 'os_hidden'):
            if (bool(image.get(key)) if key == 'os_hidden' else image.get(key)) != op['value']:
                fitted.append(op)
        elif op['op'] == 'remove':
            if key in properties:
                fitted.append(op)
        elif not _managed.same_value(properties.get(key), op['value']) or key not in properties:
            fitted.append(dict(op, op='add'))
    return fitted


def _patch_converging(glance, image_id, ops):
    """PATCH; after a 409 or 5xx, re-read the image and send what is still needed (twice at most)."""
    for attempt in range(3):
        try:
            glance.patch(image_id, ops)
            return
        except GlanceError as exc:
            if attempt == 2 or not (exc.status == 409 or (exc.status or 0) >= 500):
                raise
            time.sleep(attempt)
            current = glance.get(image_id)
            if current is None:
                raise GlanceError('image %s is gone' % image_id, 404) from exc
            remaining = _refit(ops, current)
            if remaining == ops and exc.status == 409:
                raise
            if not remaining:
                return
            ops = remaining


def execute(conn, actions, require_complete_usage=True, stop_after=None, usage_services=DEFAULT_SERVICES,
            guard=NO_GUARD):
    """Apply ``actions`` in order; return one outcome per action applied: ``done``, ``gone`` or ``refused: …``.

    Unknown usage (a service of ``usage_services`` without an endpoint) refuses every delete.
    The demotion of the previous latest and the promotion after it are one step (``pairs``): a
    cancel by ``guard`` waits for both, and when the promotion fails the demotion is undone, so the
    catalog keeps its latest.

    ``stop_after`` applies only the first N actions (tests simulate a killed run with it).
    """
    glance, outcomes = Glance(conn), []
    for step in pairs(actions[:stop_after]):
        with guard.pair():
            first = len(outcomes)
            try:
                for action in step:
                    outcomes.append(_apply(glance, action, require_complete_usage, usage_services))
            except BaseException:
                if len(step) > 1:
                    _undo(glance, step[:len(outcomes) - first])
                raise
            if len(step) > 1 and outcomes[-1] == 'gone':  # the candidate was deleted meanwhile
                _undo(glance, step[:-1])
                outcomes[first:-1] = ['undone: the candidate to promote is gone'] * (len(step) - 1)
    return outcomes


def settle_latest(conn, policy, now, guard=NO_GUARD):
    """After a promotion: None, or ``(plan, outcomes)`` of the rotation that left one latest when another
    run promoted its own candidate in the same gap (_rotation.latest_clash).

    The group is listed again (``policy.owners``' images only) and planned as a run without a candidate
    plans it: the newest version (created_at, then id) stays the latest, the others are demoted as previous
    versions, deleted only by the usual rules. A function of the state, so both runs, checking at once, demote
    the same images; the run that promotes last always sees both.
    """
    images = list_group(conn, policy.provider, policy.release_key, policy.owners)
    if not latest_clash(images, policy):
        return None
    policy = copy.copy(policy)
    policy.candidate = None
    result = plan(images, policy, now)
    if result.usage_needed:
        result = plan(images, policy, now, lookup(conn, result.usage_needed, policy.usage_services))
    return result, execute(conn, result.actions, policy.require_all_projects_usage,
                           usage_services=policy.usage_services, guard=guard)


def _undo(glance, applied):
    for action in reversed(applied):
        _patch_converging(glance, action['id'], undo_ops(action))


def _apply(glance, action, require_complete_usage, usage_services):
    kind, image_id = action['action'], action['id']
    outcome = 'done'
    try:
        if kind in PATCH_ACTIONS:
            _patch_converging(glance, image_id, action['patch'])
        elif kind in ('deactivate', 'delete'):
            users = _users_now(glance.conn, image_id, require_complete_usage, usage_services)
            if users:
                outcome = 'refused: %s' % users
            elif kind == 'deactivate':
                glance.deactivate(image_id)
            elif not glance.delete(image_id):
                outcome = 'gone'
        elif kind == 'cleanup':
            outcome = 'done' if glance.delete(image_id) else 'gone'
        else:
            outcome = 'nothing to do'
    except GlanceError as exc:
        if exc.status == 404:
            outcome = 'gone'
        elif exc.status == 409 and kind not in PATCH_ACTIONS:
            outcome = 'refused: Glance answered 409 (in use or protected): %s' % exc
        else:
            raise
    return outcome


def _users_now(conn, image_id, require_complete_usage, usage_services):
    """Why the image cannot go now (fresh usage), or '' when it can."""
    used, usage = in_use(conn, image_id, usage_services)
    if used:
        entry = usage['images'][image_id]
        return 'in use since planning by %s' % ', '.join(
            ['server %s' % s['id'] for s in entry['servers']] + ['volume %s' % v['id'] for v in entry['volumes']])
    if usage['unknown'] or (require_complete_usage and not usage['complete']):
        return 'usage incomplete: %s' % usage['reason']
    if usage['pending']:
        return pending_text(usage['pending'])
    return ''
