#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_rotate
short_description: Promote a new build to Latest, demote older ones, delete the unused
version_added: 0.1.0
description:
  - Rotates one release group of managed Glance images (tag C(managed_by_<provider>) and
    property C(cloudimages_release=<release_key>), owned by one of O(owners); names never identify
    images, so a user's image with the same name is never touched, nor is another project's image
    with the same tag and properties).
  - The newest active version is public and carries the latest name
    (C(<name> - Latest) by default); every older version gets a dated name
    (C(<name> - <YYYY-MM-DD of its first upload>)) and becomes C(community) or hidden.
  - Takes the release's rotation policy as one dict, O(policy).
  - Given a O(candidate) (a private managed image, uploaded and checked), demotes the previous
    latest with ONE PATCH, THEN promotes the candidate with one PATCH (name, public, common
    properties). One run never makes two latest images; the window without one is one API
    round-trip. When the promotion fails, the demotion is undone.
  - After promoting, it lists the group again. When another run promoted its own candidate in the same
    gap (both planned before either promoted), two images carry the latest name; it then rotates at
    once as a run without a candidate would, so the newest version (created_at, then id) stays the
    latest and the others become previous versions. Both runs agree on it, and a warning says so.
  - Without a O(candidate), a demoted latest is not promoted again while a candidate that was there at
    its demotion waits (newer, active, a build not older), since another run may be about to promote it and
    two latest images would follow. RV(latest) is then null and a warning says which candidate waits.
  - SIGTERM or SIGINT (an AWX cancel), or the end of the ansible-playbook that runs it, stops the
    module once the demotion and promotion it is in are both done; the next run finishes the rest.
  - Older versions beyond the retention policy are deleted only when no Nova server (any
    project, any state, shelved and error included) and no Cinder volume uses them, and
    Glance does not refuse the delete. Without the rights to see every project, it refuses
    to delete and says why.
  - Managed images left C(queued), C(saving), C(importing), C(uploading) or C(killed) by an
    interrupted upload for longer than O(policy.stale_after) are deleted.
  - The plan is a function of the state only, so two runs at once plan the same actions and a
    run killed at any point is finished by the next one.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  candidate:
    description:
      - ID of the image to promote, a managed image of this group that is C(active) and C(private) or C(shared).
      - Without it the group is only brought back to its normal form (names, visibility,
        properties, retention, cleanup).
      - A candidate already promoted by an earlier run is accepted (idempotent re-run); one
        older than the current latest is not promoted (warning).
      - Neither is a candidate holding an older build than the current latest (C(cloudimages_build),
        then C(image_build_date)), such as a build chosen by a replayed old upstream index; it
        stays private and the current latest stays (warning).
    type: str
  planned_candidate:
    description:
      - Check mode only - a build not uploaded yet, so the plan shows what promoting it would do
        (the previous latest's rename and visibility change, deletions with their reasons).
      - A stand-in with the identity and properties an upload of O(planned_candidate.release)
        with the same O(policy) would get takes the place of O(candidate); in the plan its ID is
        C(planned build <version>).
      - Mutually exclusive with O(candidate); refused outside check mode.
    type: dict
    suboptions:
      name:
        description: The name the candidate would be uploaded with.
        type: str
        required: true
      release:
        description: The release, as RV(cloudimages.openstack.upstream_release#module:release).
        type: dict
        required: true
  remember:
    description:
      - The candidate's upstream release, to remember its build as published for the rollback guard
        once the candidate is the latest, as M(cloudimages.openstack.upstream_release)'s C(published)
        does (the daily sync does it here, which spares a module run per release).
      - Nothing is remembered when the candidate is not the latest after the run (an older build, a
        failed promotion), nor for O(planned_candidate).
    type: dict
    suboptions:
      discover:
        description:
          - The release's discovery settings, as the options of M(cloudimages.openstack.upstream_release);
            C(source), C(release), C(arch), C(options) and C(cache_dir) are used.
        type: dict
        required: true
      build:
        description: The candidate's build, as RV(cloudimages.openstack.upstream_release#module:release).
        type: dict
        required: true
  now:
    description:
      - Current time (ISO 8601, UTC when no offset) used for ages and promises instead of the
        clock. For tests and backfills only.
    type: str
notes:
  - Publicizing an image is admin-only under Glance's default policy; demoting to community is
    allowed to members of the owning project.
attributes:
  check_mode:
    support: full
    details: Returns the whole plan and changes nothing.
  diff_mode:
    support: full
    details: Before and after of every rename, visibility change, hide, deactivation and deletion.
extends_documentation_fragment:
  - cloudimages.openstack.policy
  - cloudimages.openstack.openstack
  - cloudimages.openstack.managed
  - cloudimages.openstack.attributes
"""

EXAMPLES = r"""
- name: Promote the boot-tested candidate of Ubuntu 24.04
  cloudimages.openstack.image_rotate:
    cloud: prod1
    policy:
      provider: example
      release_key: ubuntu-24.04
      name: Ubuntu 24.04 Noble Numbat
      keep: 3
      min_age_days: 30
      delete_unused: true
      properties:
        hw_disk_bus: scsi
        hw_scsi_model: virtio-scsi
        replace_frequency: quarterly
        uuid_validity: last-3
        provided_until: none
    candidate: "{{ upload.image.id }}"

- name: SCS naming, older images hidden
  cloudimages.openstack.image_rotate:
    cloud: prod1
    policy:
      provider: example
      release_key: ubuntu-24.04
      name: Ubuntu 24.04
      naming: scs
      previous_visibility: hidden
      properties:
        os_purpose: generic
    candidate: "{{ upload.image.id }}"

- name: The plan of a new build before it is uploaded (check mode)
  cloudimages.openstack.image_rotate:
    cloud: prod1
    policy: "{{ ubuntu_2404_policy }}"
    planned_candidate:
      name: Ubuntu 24.04 Noble Numbat (candidate {{ found.release.version }})
      release: "{{ found.release }}"
  check_mode: true

- name: Retire what release_status_info found retired (each release's job carries its policy)
  cloudimages.openstack.image_rotate:
    cloud: prod1
    policy: "{{ item.job.rotate }}"
  loop: "{{ status.releases | selectattr('retired') }}"

- name: Debian 11 reached its end of security support
  cloudimages.openstack.image_rotate:
    cloud: prod1
    policy:
      provider: example
      release_key: debian-11
      name: Debian 11 Bullseye
      retired: true
      retired_state: delete_unused
"""

RETURN = r"""
plan:
  description: Ordered actions; in check mode what would be done.
  returned: always
  type: list
  elements: dict
  contains:
    action:
      description: One of promote, demote, hide, rename, reconcile (properties only), deactivate, delete, cleanup, keep.
      type: str
      sample: demote
    id:
      description: Image ID.
      type: str
    before:
      description: Name, visibility, os_hidden, status (and touched properties) before.
      type: dict
      sample: {name: Ubuntu 24.04 Noble Numbat - Latest, visibility: public, os_hidden: false, status: active}
    after:
      description: The same after the action; null for deletions.
      type: dict
    patch:
      description: The JSON-patch operations of the single PATCH request (empty for other actions).
      type: list
      elements: dict
    reason:
      description: Why.
      type: str
    result:
      description: C(done), C(gone) (someone else deleted it first) or C(refused) with the reason; absent in check mode.
      type: str
latest:
  description:
    - ID of the image carrying the latest name after the run; null when retired, empty, or while a
      candidate waits.
  returned: always
  type: str
kept:
  description: Images kept, with the reasons (latest, retention, promises, in use by whom, refused deletes).
  returned: always
  type: list
  elements: dict
  contains:
    reasons:
      description: Why it stays.
      type: list
      elements: str
    id:
      description: Image ID.
      type: str
    name:
      description: Image name before the run.
      type: str
    servers:
      description:
        - Servers using it (id, project_id, status; not their names, which belong to other tenants), when
          that was the reason.
      type: list
      elements: dict
    volumes:
      description: Volumes using it (id, project_id, status; not their names), when that was the reason.
      type: list
      elements: dict
kept_in_use:
  description: How many old builds are kept because servers or volumes use them, and how many of each.
  returned: always
  type: dict
  sample: {builds: 3, servers: 7, volumes: 2}
usage:
  description: Whether the usage check covered every project, and why not.
  returned: always
  type: dict
  sample:
    checked: true
    complete: false
    reason: >-
      Cinder does not treat this token as admin (policy rule context_is_admin) and would
      silently drop all_tenants; only this project's volumes were checked
warnings_list:
  description:
    - Conditions worth a look (also emitted as Ansible warnings), among them every image of
      another project that carries this group's tag and release (an impersonation attempt).
  returned: always
  type: list
  elements: str
remembered:
  description: Whether the build of O(remember) was remembered as published (or would be, in check mode).
  returned: always
  type: bool
diff:
  description: Before and after per image ID.
  returned: when diff mode is on
  type: dict
"""

from datetime import datetime, timezone

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance_upload import planned_image
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import (
    list_impostors, resolve_owners)
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import OWNERS_SPEC
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import parse_time
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import (
    POLICY_SPEC, PlanError, plan, policy_from)
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation_apply import (
    execute, list_group, settle_latest)
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import lookup


class ImageRotateModule(OpenStackModule):
    argument_spec = dict(
        policy=dict(type='dict', required=True, options=POLICY_SPEC),
        candidate=dict(type='str'),
        planned_candidate=dict(type='dict', options=dict(
            name=dict(type='str', required=True), release=dict(type='dict', required=True))),
        remember=dict(type='dict', options=dict(discover=dict(type='dict', required=True),
                                                build=dict(type='dict', required=True))),
        now=dict(type='str'),
        **OWNERS_SPEC
    )
    module_kwargs = dict(supports_check_mode=True, mutually_exclusive=[('candidate', 'planned_candidate')])
    cancellable = True

    def run(self):
        p, rotate = self.params, self.params['policy']
        planned, candidate = p['planned_candidate'], p['candidate']
        try:
            owners = resolve_owners(self.conn, p['owners'])
            now = parse_time(p['now']) if p['now'] else datetime.now(timezone.utc)
            if planned:
                if not self.check_mode:
                    raise PlanError('planned_candidate is for check mode only: upload the build and pass candidate')
                stand_in = planned_image(planned['name'], rotate['provider'], planned['release'], rotate['release_key'],
                                         rotate['properties'], now, self.conn.current_project_id)
                candidate = stand_in['id']
            policy = policy_from(rotate, owners, candidate)
        except ValueError as exc:  # PlanError, NamingError and TimeError are ValueErrors
            self.fail_json(msg=str(exc))
        images = list_group(self.conn, policy.provider, policy.release_key, owners,
                            extra_ids=[] if planned else [candidate])
        warnings = list_impostors(self.conn, policy.provider, owners, policy.release_key)
        if planned:
            images.append(stand_in)
        usage = None
        try:
            result = plan(images, policy, now)
            if result.usage_needed:
                usage = lookup(self.conn, result.usage_needed, policy.usage_services)
                result = plan(images, policy, now, usage)
        except ValueError as exc:  # PlanError, NamingError, TimeError
            self.fail_json(msg=str(exc))
        out = result.as_dict()
        changed = result.changed
        if changed and not self.check_mode:
            try:
                outcomes = execute(self.conn, result.actions, policy.require_all_projects_usage,
                                   usage_services=policy.usage_services, guard=self.guard)
                changed = _applied(result.actions, outcomes, out, images)
                if any(a['action'] == 'promote' and o == 'done' for a, o in zip(result.actions, outcomes)):
                    settled = settle_latest(self.conn, policy, now, self.guard)
                    if settled:
                        changed = _settled(settled, out, images, result.warnings) or changed
            except GlanceError as exc:
                self.fail_json(msg=str(exc), status_code=exc.status)
            except ValueError as exc:  # PlanError, NamingError: the group changed under this run
                self.fail_json(msg='promoted, but checking for a second latest failed: %s' % exc)
        remembered = bool(p['remember'] and candidate and not planned and out['latest'] == candidate
                          and self.remember(p['remember'], out))
        warnings += result.warnings
        for warning in warnings:
            self.ansible.warn(warning)
        self.exit_json(changed=changed or remembered, plan=out['plan'], latest=out['latest'], kept=out['kept'],
                       remembered=remembered,
                       kept_in_use=out['kept_in_use'],
                       warnings_list=warnings,
                       usage={'checked': usage is not None, 'complete': usage['complete'] if usage else None,
                              'reason': usage['reason'] if usage else None},
                       **({'diff': out['diff']} if self.ansible._diff else {}))

    def remember(self, remember, out):
        """Remember the promoted build against rollbacks; True when the memory changed (or would)."""
        # Imported here: a rotation without a build to remember needs no discovery code.
        from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import DiscoveryError
        from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
            DISCOVER_SPEC, remember_published, validated)
        try:
            params = validated(DISCOVER_SPEC, remember['discover'], 'remember.discover')
            return remember_published(params, remember['build'], self.check_mode)
        except (ValueError, DiscoveryError, OSError) as exc:
            self.fail_json(msg='promoted, but remembering its build against rollbacks failed: %s' % exc,
                           plan=out['plan'], latest=out['latest'])
        return False


def _applied(actions, outcomes, out, images):
    """Record each action's outcome in ``out`` (a refused one in its kept list); True when one changed something."""
    names = {image['id']: image.get('name') for image in images}
    for action, outcome in zip(actions, outcomes):
        action['result'] = outcome
        if outcome.startswith('refused'):
            out['kept'].append({'id': action['id'], 'name': names.get(action['id']), 'reasons': [outcome],
                                'servers': [], 'volumes': []})
    return any(outcome == 'done' and action['action'] != 'keep' for action, outcome in zip(actions, outcomes))


def _settled(settled, out, images, warnings):
    """Add to ``out`` the rotation that left one latest after another run's promotion in the same gap."""
    again, outcomes = settled
    demoted = [a['id'] for a in again.actions if a['action'] == 'demote']
    warnings.append('another run promoted its own candidate in the same gap: %s stays the latest, %s demoted'
                    % (again.latest, ', '.join(demoted) or 'none'))
    done = [(a, o) for a, o in zip(again.actions, outcomes) if a['action'] != 'keep']
    out['plan'].extend(a for a, _o in done)
    out['latest'] = again.latest
    diff = again.diff()
    for key in ('before', 'after'):
        for image_id, state in diff[key].items():
            if key == 'after' or image_id not in out['diff'][key]:
                out['diff'][key][image_id] = state
    return _applied([a for a, _o in done], [o for _a, o in done], out, images)


def main():
    ImageRotateModule()()


if __name__ == '__main__':
    main()
