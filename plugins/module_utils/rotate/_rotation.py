# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The rotation planner: the images of one release group + a policy -> ordered actions.

Pure: no I/O, the clock is a parameter. The plan is a function of the observed state only,
so two runs that see the same state plan the same thing, and a run killed half-way leaves a
state whose plan is the rest of the work (tests/unit/plugins/module_utils/test_rotation*.py).

Group: the managed images (``_managed.is_member``: tag, owner, release) of one provider and release
key; an image with our tag but another owner is never part of it. Of those,
``public``/``community`` images in status active or deactivated are *versions*; private or
shared ones are candidates (untouched unless promoted); queued/saving/importing/uploading/killed
ones older than ``stale_after`` are leftovers of killed uploads and are cleaned up.
Versions are ordered by created_at (then id): the newest active one is the latest.
"""

from __future__ import annotations

import re
from datetime import date

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._build_order import (
    WITHDRAWAL_SPEC, check_withdrawal, compare, describe, image_build, withdrawal_accepts,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._naming import Naming, NamingError
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import parse_time
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import DEFAULT_SERVICES, pending_text

PREVIOUS_VISIBILITIES = ('community', 'hidden', 'public')
RETIRED_STATES = ('community', 'hidden', 'delete_unused')
VERSION_STATUSES = ('active', 'deactivated')
CANDIDATE_VISIBILITIES = ('private', 'shared')
USAGE_SERVICES = DEFAULT_SERVICES  # services whose servers or volumes may use an image
# An image stays this long after it stopped being the latest: copies and boots started from it
# before then (a volume still downloading it, a server in BUILD) show no image id yet.
DEMOTED_GRACE_HOURS = 24
# Actions that are one JSON-patch PATCH of one image.
PATCH_ACTIONS = ('promote', 'demote', 'hide', 'rename', 'reconcile')
ACTIONS = PATCH_ACTIONS + ('deactivate', 'delete', 'cleanup', 'keep')
_LAST_N = re.compile(r'^last-([0-9]+)$')
_DATE = re.compile(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}$')


class PlanError(ValueError):
    """Bad policy or candidate: nothing was planned."""


def _check_bool(name, value):
    if not isinstance(value, bool):
        raise PlanError('%s must be true or false, not %r' % (name, value))
    return value


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise PlanError('%s must be an integer >= %d, not %r' % (name, minimum, value))
    return value


def _check_choice(name, value, choices):
    if value not in choices:
        raise PlanError('%s must be one of %s, not %r' % (name, ', '.join(choices), value))
    return value


class Policy:
    """Validated rotation policy. Unknown or inconsistent values raise PlanError naming the option."""

    def __init__(self, provider, release_key, name, naming='latest_suffix', name_templates=None, candidate=None,
                 previous_visibility='community', keep=2, min_age_days=0, delete_unused=False, deactivate_expired=False,
                 retired=False, retired_state='community', properties=None, stale_after=_managed.STALE_AFTER,
                 require_all_projects_usage=True, usage_services=USAGE_SERVICES, owners=None,
                 demoted_grace_hours=DEMOTED_GRACE_HOURS, accept_withdrawal=None):
        try:
            self.tag = _managed.managed_tag(provider)
            self.owners = _managed.check_owners(owners)
        except ValueError as exc:
            raise PlanError(str(exc)) from None
        if not isinstance(release_key, str) or not release_key.strip():
            raise PlanError('release_key must be a non-empty string, not %r' % (release_key,))
        self.provider, self.release_key = provider, release_key
        try:
            self.naming = Naming(name, naming, name_templates)
        except NamingError as exc:
            raise PlanError(str(exc)) from None
        if candidate is not None and (not isinstance(candidate, str) or not candidate.strip()):
            raise PlanError('candidate must be an image id, not %r' % (candidate,))
        self.candidate = candidate
        self.previous_visibility = _check_choice('previous_visibility', previous_visibility, PREVIOUS_VISIBILITIES)
        self.keep = _check_int('keep', keep, 1)
        self.min_age_days = _check_int('min_age_days', min_age_days, 0)
        self.demoted_grace_hours = _check_int('demoted_grace_hours', demoted_grace_hours, 0)
        try:
            self.accept_withdrawal = check_withdrawal(accept_withdrawal)
        except ValueError as exc:
            raise PlanError(str(exc)) from None
        self.delete_unused = _check_bool('delete_unused', delete_unused)
        self.deactivate_expired = _check_bool('deactivate_expired', deactivate_expired)
        self.retired = _check_bool('retired', retired)
        self.retired_state = _check_choice('retired_state', retired_state, RETIRED_STATES)
        if self.retired and candidate is not None:
            raise PlanError('a retired release takes no candidate: stop uploading it (candidate %s)' % candidate)
        self.stale_after = _check_int('stale_after', stale_after, 0)
        self.require_all_projects_usage = _check_bool('require_all_projects_usage', require_all_projects_usage)
        if isinstance(usage_services, str) or not all(name in USAGE_SERVICES for name in usage_services or ()):
            raise PlanError('usage_services must be a list of %s, not %r'
                            % (' and '.join(USAGE_SERVICES), usage_services))
        self.usage_services = tuple(usage_services)
        properties = dict(properties or {})
        bad = sorted(key for key in properties if not isinstance(key, str) or _managed.reserved(key))
        if bad:
            raise PlanError('properties may not set Glance attributes, reserved os_glance* keys or the managed '
                            'identity: %s' % ', '.join(map(str, bad)))
        for key, value in properties.items():
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise PlanError('property %s must be a string, number, boolean or null (to remove it), not %r'
                                % (key, value))
        self.properties = properties
        validity = properties.get('uuid_validity')
        if validity is not None:
            _validity_check(str(validity), 'properties.uuid_validity')


# The one spec of a rotation policy (Policy's arguments but the candidate): the ``policy`` option of
# image_rotate and image_upload (doc_fragments/policy.py) and each release's ``rotate`` in release_status_info.
POLICY_SPEC = dict(
    provider=dict(type='str', required=True),
    release_key=dict(type='str', required=True, no_log=False),
    name=dict(type='str', required=True),
    naming=dict(type='str', default='latest_suffix', choices=['latest_suffix', 'scs']),
    name_templates=dict(type='dict', options=dict(latest=dict(type='str'), dated=dict(type='str'))),
    previous_visibility=dict(type='str', default='community', choices=list(PREVIOUS_VISIBILITIES)),
    keep=dict(type='int', default=2),
    min_age_days=dict(type='int', default=0),
    demoted_grace_hours=dict(type='int', default=DEMOTED_GRACE_HOURS),
    delete_unused=dict(type='bool', default=False),
    deactivate_expired=dict(type='bool', default=False),
    retired=dict(type='bool', default=False),
    retired_state=dict(type='str', default='community', choices=list(RETIRED_STATES)),
    properties=dict(type='dict', default={}),
    stale_after=dict(type='int', default=_managed.STALE_AFTER),
    require_all_projects_usage=dict(type='bool', default=True),
    usage_services=dict(type='list', elements='str', choices=list(USAGE_SERVICES), default=list(USAGE_SERVICES)),
    accept_withdrawal=WITHDRAWAL_SPEC,
)


def policy_from(params, owners, candidate=None):
    """The Policy of validated POLICY_SPEC parameters (extra keys ignored), ``owners`` and ``candidate``."""
    return Policy(owners=owners, candidate=candidate, **{key: params[key] for key in POLICY_SPEC})


def _validity_check(value, where):
    if value in ('none', 'notice', 'forever') or _LAST_N.match(value) or _DATE.match(value):
        return
    raise PlanError('%s must be none, notice, forever, last-N or YYYY-MM-DD, not %r' % (where, value))


def _state(image):
    """The part of an image rotation changes, for diffs."""
    return {'name': image.get('name'), 'visibility': image.get('visibility'), 'os_hidden': bool(image.get('os_hidden')),
            'status': image.get('status')}


def json_pointer(key):
    return '/' + key.replace('~', '~0').replace('/', '~1')


def patch_ops(image, desired):
    """JSON-patch operations turning ``image`` into ``desired`` (name, visibility, os_hidden, properties)."""
    ops = []
    for field in ('name', 'visibility', 'os_hidden'):
        current = bool(image.get(field)) if field == 'os_hidden' else image.get(field)
        if field in desired and desired[field] != current:
            ops.append({'op': 'replace', 'path': '/' + field, 'value': desired[field]})
    have = image.get('properties') or {}
    for key, value in sorted((desired.get('properties') or {}).items()):
        if value is None:
            if key in have:
                ops.append({'op': 'remove', 'path': json_pointer(key)})
        elif key not in have:
            ops.append({'op': 'add', 'path': json_pointer(key), 'value': _managed.property_text(value)})
        elif not _managed.same_value(have[key], value):
            ops.append({'op': 'replace', 'path': json_pointer(key), 'value': _managed.property_text(value)})
    return ops


def undo_ops(action):
    """JSON-patch operations that give a patched image back what ``action`` changed (its ``before``)."""
    ops = []
    for op in action['patch']:
        key = op['path'][1:].replace('~1', '/').replace('~0', '~')
        if key in ('name', 'visibility', 'os_hidden'):
            ops.append({'op': 'replace', 'path': op['path'], 'value': action['before'][key]})
        elif action['before']['properties'].get(key) is None:
            ops.append({'op': 'remove', 'path': op['path']})
        else:
            ops.append({'op': 'add', 'path': op['path'],
                        'value': _managed.property_text(action['before']['properties'][key])})
    return ops


def pairs(actions):
    """``actions`` in steps: the demotions of the previous latest with the promotion after them form
    one step (see _order), every other action one of its own."""
    steps, index = [], 0
    while index < len(actions):
        end = index
        while end < len(actions) and actions[end]['action'] == 'demote':
            end += 1
        if end > index and end < len(actions) and actions[end]['action'] == 'promote':
            steps.append(actions[index:end + 1])
            index = end + 1
        else:
            steps.append(actions[index:index + 1])
            index += 1
    return steps


def _after(image, ops):
    state = _state(image)
    props = {}
    for op in ops:
        key = op['path'][1:].replace('~1', '/').replace('~0', '~')
        if key in state and key != 'status':
            state[key] = op['value']
        else:
            props[key] = op.get('value')
    return state, props


class Plan:
    def __init__(self):
        self.actions = []
        self.latest = None
        self.kept = []
        self.warnings = []
        self.usage_needed = []

    @property
    def changed(self):
        return any(action['action'] != 'keep' for action in self.actions)

    def diff(self):
        """Before/after per image touched, for Ansible's --diff."""
        before, after = {}, {}
        for action in self.actions:
            if action['action'] == 'keep':
                continue
            before[action['id']] = dict(action['before'])
            if action['after'] is not None:
                after[action['id']] = dict(action['after'])
        return {'before': before, 'after': after}

    def kept_in_use(self):
        """``{'builds', 'servers', 'volumes'}``: how many old builds are kept because something uses them."""
        used = [entry for entry in self.kept if entry['servers'] or entry['volumes']]
        return {'builds': len(used), 'servers': len({s['id'] for e in used for s in e['servers']}),
                'volumes': len({v['id'] for e in used for v in e['volumes']})}

    def as_dict(self):
        return {'plan': self.actions, 'latest': self.latest, 'kept': self.kept, 'warnings': self.warnings,
                'changed': self.changed, 'diff': self.diff(), 'kept_in_use': self.kept_in_use()}


def _age_days(image, now):
    return (now - parse_time(image.get('created_at'))).total_seconds() / 86400.0


def _order_key(image):
    return (parse_time(image.get('created_at')), image['id'])


def members(images, policy):
    return [image for image in images if _managed.is_member(image, policy.provider, policy.release_key, policy.owners)]


def _validate_candidate(images, group, policy):
    if policy.candidate is None:
        return None
    found = {image['id']: image for image in group}.get(policy.candidate)
    if found is None:
        other = {image['id']: image for image in images}.get(policy.candidate)
        if other is None:
            raise PlanError('candidate %s does not exist or is not visible to this project' % policy.candidate)
        props = other.get('properties') or {}
        tagged = 'yes' if policy.tag in (other.get('tags') or ()) else 'missing'
        foreign = '' if other.get('owner') in policy.owners else ', not one of owners %s' % ', '.join(policy.owners)
        raise PlanError('candidate %s is not a managed image of release %s (tag %s: %s, %s=%r, owner %s%s)' % (
            policy.candidate, policy.release_key, policy.tag, tagged, _managed.RELEASE, props.get(_managed.RELEASE),
            other.get('owner'), foreign))
    if found.get('protected'):
        raise PlanError('candidate %s is protected; protected images are never touched' % policy.candidate)
    if found.get('visibility') in _managed.PROMOTED_VISIBILITIES and found.get('status') in VERSION_STATUSES:
        return found  # promoted by an earlier run with the same candidate: just a version now
    if found.get('status') != 'active':
        raise PlanError('candidate %s is %s, not active: only a fully uploaded (and checked) image can be promoted' % (
            policy.candidate, found.get('status')))
    if found.get('visibility') not in CANDIDATE_VISIBILITIES + _managed.PROMOTED_VISIBILITIES:
        raise PlanError('candidate %s has unexpected visibility %r' % (policy.candidate, found.get('visibility')))
    return found


def _promises(image, rank, now, policy, retiring):
    """Reasons the image must stay whatever its usage (retention and SCS promises), each naming its rule.

    ``provided_until`` is not one: it promises the image *series* (the release under its latest
    name), not each old UUID, which keep/min age/``uuid_validity``/usage govern. The configured
    ``uuid_validity`` counts as much as the one the image carries (it is written there next).
    """
    reasons = []
    today = now.date()
    if rank < policy.keep and not retiring:
        reasons.append('retention: one of the %d newest versions (keep)' % policy.keep)
    props = image.get('properties') or {}
    for validity in sorted({str(v) for v in (props.get('uuid_validity'), policy.properties.get('uuid_validity'))
                            if v is not None}):
        match = _LAST_N.match(validity)
        if match and rank < int(match.group(1)) and not retiring:
            reasons.append('one of the %s newest versions (uuid_validity %s)' % (match.group(1), validity))
        elif validity in ('forever', 'notice'):
            reasons.append('uuid_validity %s' % validity)
        elif _DATE.match(validity) and _parse_date(validity) and _parse_date(validity) >= today:
            reasons.append('uuid_validity until %s' % validity)
    if _age_days(image, now) < policy.min_age_days:
        reasons.append('younger than min_age_days (%d)' % policy.min_age_days)
    demoted = _demoted_hours(image, policy, now)
    if policy.demoted_grace_hours and (demoted is None or demoted < policy.demoted_grace_hours):
        reasons.append('stopped being the latest %s; deletable %d h after (demoted_grace_hours)' % (
            'in this run' if demoted is None else '%.0f h ago' % demoted, policy.demoted_grace_hours))
    return reasons


def _demoted_hours(image, policy, now):
    """Hours since the image stopped being the latest, None while it still looks like it (demoted in this run).

    Without the mark (demoted by an older release of this collection) Glance's ``updated_at`` stands
    in: every PATCH moves it, so it is never earlier than the demotion.
    """
    if _was_latest(image, policy):
        return None
    marked = (image.get('properties') or {}).get(_managed.DEMOTED)
    for stamp in (marked, image.get('updated_at'), image.get('created_at')):
        try:
            return (now - parse_time(stamp)).total_seconds() / 3600.0
        except ValueError:  # absent, or someone else's text: the next one
            continue
    return None


def _was_latest(image, policy):
    """Whether an older version was the latest before this run, by the planner's own records: it still
    carries the latest name, or it is public and listed without the demotion mark that every demotion
    writes. Public and listed alone does not tell (previous_visibility public keeps older versions so):
    an unmarked one (adopted from openstack-image-manager) counts as demoted now, marked once, its grace
    period starting then; a forged mark on the image with the latest name changes nothing."""
    if image.get('name') == policy.naming.latest:
        return True
    if (image.get('properties') or {}).get(_managed.DEMOTED) is not None:
        return False
    return _listed(image)


def _listed(image):
    """Public and in image lists (not os_hidden): where users see a Latest."""
    return image.get('visibility') == 'public' and not image.get('os_hidden')


def latest_clash(images, policy):
    """The versions of the group that users see under the latest name, when more than one.

    Two runs with a candidate each that plan in the same gap (before either promotes) both demote
    the old latest and promote their own: two latest images, until a run plans again. The run that
    promotes checks for this at once (_rotation_apply.settle_latest).
    """
    named = [image for image in members(images, policy) if image.get('name') == policy.naming.latest
             and _listed(image) and image.get('status') in VERSION_STATUSES]
    return sorted(named, key=_order_key) if len(named) > 1 else []


def _parse_date(text):
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _desired_properties(image, policy, old, now):
    """Common properties to reconcile, the naming profile's marks for older versions, and when the
    latest is demoted, the time (``_managed.DEMOTED``, removed should it become the latest again)."""
    wanted = dict(policy.properties)
    have = image.get('properties') or {}
    if not old:
        wanted[_managed.DEMOTED] = None
    elif _was_latest(image, policy) and not image.get('protected'):
        wanted[_managed.DEMOTED] = now.strftime('%Y-%m-%dT%H:%M:%SZ')
    if old:
        for key, (from_value, to_value) in policy.naming.old_properties.items():
            current = wanted.get(key, have.get(key))
            if current is not None and _managed.property_text(current) == from_value:
                wanted[key] = to_value
    return wanted


def _kind(image, desired, ops, policy, old):
    if not old:
        moved = any(op['path'] in ('/name', '/visibility', '/os_hidden') for op in ops)
        return 'promote' if moved else 'reconcile'
    paths = {op['path'] for op in ops}
    was_latest = _was_latest(image, policy)
    if '/visibility' in paths or (was_latest and paths & {'/name', '/os_hidden'}):
        return 'demote'
    if '/os_hidden' in paths and desired.get('os_hidden'):
        return 'hide'
    if '/name' in paths:
        return 'rename'
    return 'reconcile'


def _users_text(entry):
    # Ids only: server names are other tenants' data, and this text reaches plans posted in merge requests.
    parts = ['server %s (project %s, %s)' % (s['id'], s.get('project_id'), s.get('status'))
             for s in entry.get('servers', ())]
    parts += ['volume %s (project %s)' % (v['id'], v.get('project_id')) for v in entry.get('volumes', ())]
    return ', '.join(parts)


def _unnamed(users):
    """Servers or volumes without their names (other tenants' data): id, project and status tell enough."""
    return [{key: value for key, value in user.items() if key != 'name'} for user in users]


def plan(images, policy, now, usage=None):
    """Plan the rotation of ``policy``'s group among ``images`` (flat dicts, see _image_query.flatten).

    ``usage`` is ``{'complete': bool, 'reason': str, 'images': {id: {'servers': [...], 'volumes': [...]}}}``
    for at least the ids in ``Plan.usage_needed`` of a first call without it; without usage no
    image is deleted or deactivated. Raises PlanError for a bad candidate.

    Four steps: classify the group (versions, latest, candidate), the desired state of each
    version, what becomes of each (kept and why, deleted, deactivated), then the actions in order.
    """
    now = parse_time(now)
    group = members(images, policy)
    result = Plan()
    versions, latest, candidate = _classify(images, group, policy, result)
    awaited = _awaited(group, versions, latest, policy)
    if awaited is not None:
        result.latest = None
        result.warnings.append(
            'no image is the latest: %s is not promoted again while the newer candidate %s waits to be (by the run '
            'that demoted %s for it, or the next run with it)' % (latest['id'], awaited['id'], latest['id']))
    try:
        dated = policy.naming.dated_names([image for image in versions if image is not latest])
    except ValueError as exc:  # NamingError, or a bad timestamp
        raise PlanError(str(exc)) from None
    fates = _Fates()
    for rank, image in enumerate(versions):
        old = image is not latest
        if image.get('protected'):
            fates.keeps.append((image, ['protected: never touched']))
            if image.get('name') == policy.naming.latest and old:
                result.warnings.append('protected image %s still carries the latest name %r; unprotect it to let '
                                       'rotation rename it' % (image['id'], policy.naming.latest))
            continue
        if awaited is not None and not old:
            fates.keeps.append((image, ['latest, not promoted again: candidate %s waits' % awaited['id']]))
            continue
        desired = _desired(image, rank, old, dated, policy, now)
        image, reasons = _decide(image, rank, old, now, policy, usage, result, fates)
        fates.patch(image, desired, policy, old)
        if reasons:
            fates.keeps.append((image, reasons))
    _order(result, fates, group, candidate, policy, now)
    return result


def _classify(images, group, policy, result):
    """``(versions newest first, latest, candidate)``; sets ``result.latest``, warns about a refused candidate."""
    candidate = _validate_candidate(images, group, policy)
    versions = [image for image in group if image.get('visibility') in _managed.PROMOTED_VISIBILITIES
                and image.get('status') in VERSION_STATUSES]
    if candidate is not None and candidate not in versions:
        versions.append(candidate)
    versions.sort(key=_order_key, reverse=True)
    latest = None
    if not policy.retired:
        latest = next((image for image in versions if image.get('status') == 'active'), None)
        latest = _withdrawn(latest, versions, policy) or latest
    if candidate is not None and latest is not candidate and candidate.get('visibility') in CANDIDATE_VISIBILITIES:
        # Promoting it would only make it a previous version (or delete it at once): leave it.
        result.warnings.append('candidate %s is older than the current latest %s (created_at); not promoted'
                               % (candidate['id'], latest['id']))
        versions.remove(candidate)
        candidate = None
    if candidate is not None and latest is candidate and candidate.get('visibility') in CANDIDATE_VISIBILITIES:
        latest = _refuse_rollback(candidate, versions, result, policy) or latest
        candidate = candidate if latest is candidate else None
    result.latest = latest['id'] if latest else None
    return versions, latest, candidate


def _awaited(group, versions, latest, policy):
    """The candidate a run in progress is promoting, when this run has none and no latest stands.

    A promotion demotes the previous latest, then promotes its candidate (see _order). A run without
    a candidate that plans in between would give the latest name back to the demoted version, and
    the promotion would then make a second latest. So while a candidate that was there when the
    version was demoted (its mark, _managed.DEMOTED) waits - newer, active, unpromoted, a build not
    older - the version is left as it is: that run promotes the candidate, or, killed, the next run
    with it does. Once no such candidate is left (refused, deleted), a run without one promotes the
    version again.
    """
    if policy.candidate is not None or latest is None:
        return None
    if any(image.get('name') == policy.naming.latest and _listed(image) for image in versions):
        return None
    try:
        demoted = parse_time((latest.get('properties') or {}).get(_managed.DEMOTED))
    except ValueError:  # never demoted (or by an older release of this collection)
        return None
    waiting = [image for image in group if image.get('visibility') in CANDIDATE_VISIBILITIES
               and image.get('status') == 'active' and _order_key(latest) < _order_key(image)
               and parse_time(image.get('created_at')) <= demoted
               and compare(*image_build(image), *image_build(latest)) >= 0]
    return max(waiting, key=_order_key, default=None)


def _desired(image, rank, old, dated, policy, now):
    """Name, visibility, os_hidden and properties a version should have."""
    if not old:
        desired = {'name': policy.naming.latest, 'visibility': 'public', 'os_hidden': False}
    else:
        visibility = policy.previous_visibility
        if policy.retired and rank == 0 and policy.retired_state != 'delete_unused':
            visibility = policy.retired_state
        desired = {'name': dated[image['id']], 'visibility': 'community' if visibility == 'community' else 'public',
                   'os_hidden': visibility == 'hidden'}
    desired['properties'] = _desired_properties(image, policy, old, now)
    return desired


def _decide(image, rank, old, now, policy, usage, result, fates):
    """``(image, reasons to keep it)``; an unused old version past its promises goes to ``fates``."""
    retiring = policy.retired and policy.retired_state == 'delete_unused'
    reasons = ['latest'] if not old else _promises(image, rank, now, policy, retiring)
    if old and not reasons and not policy.delete_unused and not retiring and not policy.deactivate_expired:
        reasons = ['expired, but delete_unused is false']
    if not old or reasons:
        return image, reasons
    entry = (usage or {}).get('images', {}).get(image['id']) if usage else None
    if usage is None or entry is None:
        result.usage_needed.append(image['id'])
        return image, ['usage not checked']
    if usage.get('unknown') or (not usage.get('complete') and policy.require_all_projects_usage):
        skipped = 'deletions skipped (the next run catches up): %s' % usage.get('reason')
        if skipped not in result.warnings:
            result.warnings.append(skipped)
        return image, ['usage %s, refusing to delete: %s' % ('unknown' if usage.get('unknown') else 'incomplete',
                                                             usage.get('reason'))]
    if entry.get('servers') or entry.get('volumes'):
        return dict(image, _users=entry), ['in use by %s' % _users_text(entry)]
    if usage.get('pending'):
        return image, [pending_text(usage['pending'])]
    if policy.delete_unused or retiring:
        # Renamed and demoted first all the same: if Glance refuses the delete (409),
        # the image must not keep the latest name or stay public.
        fates.deletions.append(image)
    elif image.get('status') == 'active':
        fates.deactivations.append(image)
    else:
        return image, ['expired and unused, already deactivated (delete_unused is false)']
    return image, []


class _Fates:
    """What becomes of each image, collected by plan() and put in order by _order()."""

    def __init__(self):
        self.patches, self.demotions, self.deactivations, self.deletions, self.keeps = [], [], [], [], []
        self.states = {}  # id -> state once patched: later actions name the image as it is then

    def state(self, image):
        return dict(self.states.get(image['id']) or _state(image))

    def patch(self, image, desired, policy, old):
        ops = patch_ops(image, desired)
        if not ops:
            return
        kind = _kind(image, desired, ops, policy, old)
        state, props = _after(image, ops)
        self.states[image['id']] = state
        action = {'action': kind, 'id': image['id'], 'before': dict(_state(image), properties={
            key: (image.get('properties') or {}).get(key) for key in props}), 'after': dict(state, properties=props),
            'patch': ops, 'reason': _patch_reason(kind, policy, old)}
        # The previous latest is demoted right before the promotion (see _order).
        previous_latest = kind == 'demote' and image.get('name') == policy.naming.latest
        (self.demotions if previous_latest else self.patches).append(action)


def _order(result, fates, group, candidate, policy, now):
    """The actions in the order they are applied: demote the previous latest, promote, the other
    patches, deactivations, deletions, cleanup of interrupted uploads, then what is kept and why.

    Demote first: Glance changes one image per request, so between the two a member sees either two
    images with the latest name (which breaks lookups by name) or none for one request's time. None
    it is: a run killed in between leaves a catalog without duplicates, whose plan promotes again.
    """
    result.actions.extend(fates.demotions)
    result.actions.extend(a for a in fates.patches if a['action'] == 'promote')
    result.actions.extend(a for a in fates.patches if a['action'] != 'promote')
    for image in fates.deactivations:
        result.actions.append({'action': 'deactivate', 'id': image['id'], 'before': fates.state(image),
                               'after': dict(fates.state(image), status='deactivated'), 'patch': [],
                               'reason': 'expired and unused; deactivate_expired is true and delete_unused false'})
    for image in fates.deletions:
        result.actions.append({'action': 'delete', 'id': image['id'], 'before': fates.state(image), 'after': None,
                               'patch': [], 'reason': 'beyond retention, older than min_age_days, no promise, '
                                                      'no server or volume uses it'})
    keeps = list(fates.keeps)
    for image in sorted(group, key=_order_key):
        if not image.get('protected') and _managed.stale(image, now, policy.stale_after):
            result.actions.append({'action': 'cleanup', 'id': image['id'], 'before': _state(image), 'after': None,
                                   'patch': [], 'reason': 'left %s by an interrupted upload for more than stale_after '
                                                          '(%d s)' % (image.get('status'), policy.stale_after)})
    for image in sorted(group, key=_order_key):
        unpromoted = image.get('visibility') in CANDIDATE_VISIBILITIES and image.get('status') == 'active'
        if unpromoted and image is not candidate:
            keeps.append((image, ['unpromoted candidate']))
    for image, reasons in keeps:
        users = image.get('_users') or {}
        result.kept.append({'id': image['id'], 'name': image.get('name'), 'reasons': reasons,
                            'servers': _unnamed(users.get('servers', [])),
                            'volumes': _unnamed(users.get('volumes', []))})
        result.actions.append({'action': 'keep', 'id': image['id'], 'before': _state(image), 'after': _state(image),
                               'patch': [], 'reason': '; '.join(reasons)})


def _withdrawn(latest, versions, policy):
    """The newest active version holding ``policy.accept_withdrawal``'s ``back_to`` when the
    ``latest`` holds its ``withdrawn`` build (then first in ``versions``: the latest, whatever its
    upload time), else None.

    The vendor went back to an older build: its image (a new candidate, or the existing previous
    version, promoted again) becomes the latest; the withdrawn one becomes a previous version,
    retained and deleted by the usual rules.
    """
    if latest is None or not policy.accept_withdrawal:
        return None
    back = next((image for image in versions if image.get('status') == 'active'
                 and withdrawal_accepts(policy.accept_withdrawal, image_build(latest)[0], image_build(image)[0])), None)
    if back is not None:
        versions.remove(back)
        versions.insert(0, back)
    return back


def _refuse_rollback(candidate, versions, result, policy):
    """The current latest when ``candidate`` holds an older build than it (then dropped from ``versions``).

    Discovery's own memory may be empty (a fresh controller): Glance's Latest is the memory that
    always exists, so a replayed old index never demotes it. The candidate stays private.
    """
    current = next((image for image in versions if image is not candidate and image.get('status') == 'active'), None)
    if current is None or compare(*image_build(candidate), *image_build(current)) >= 0:
        return None
    if withdrawal_accepts(policy.accept_withdrawal, image_build(current)[0], image_build(candidate)[0]):
        return None
    result.warnings.append(
        'candidate %s holds build %s, older than %s of the current latest %s: not promoted, the upstream index went '
        'back (refusing a rollback)' % (candidate['id'], describe(*image_build(candidate)),
                                        describe(*image_build(current)), current['id']))
    versions.remove(candidate)
    return current


def _patch_reason(kind, policy, old):
    if not old:
        reasons = {'promote': 'newest active version: %r, public' % policy.naming.latest}
    else:
        reasons = {'demote': 'previous version: dated name, %s' % policy.previous_visibility,
                   'hide': 'previous version: os_hidden', 'rename': 'previous version: dated name'}
    return reasons.get(kind, 'reconcile common properties')
