#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: release_status_info
short_description: Which releases are already up to date in one cloud
version_added: 0.1.0
description:
  - For many releases at once, finds the newest verified upstream build (as
    M(cloudimages.openstack.upstream_release) does) and compares it with the managed images of
    one cloud, listed once.
  - A release is C(settled) when the cloud holds that build, promoted, and
    M(cloudimages.openstack.image_rotate) would change nothing (names, visibility,
    properties, retention, usage-checked deletes, cleanup, retirement). A settled release
    needs no download, upload, boot test or rotation today.
  - This is the daily sync's fast path. A day without news costs one module run and one
    Glance listing per cloud instead of several module runs per release. Every release that
    is not settled takes the whole path, whose modules decide again from fresh state.
  - Only images owned by O(owners) count. Images of other projects that carry a provider's tag are
    named once per provider in C(impostors) and as warnings, and count for nothing.
  - A release whose options are wrong or whose discovery fails is reported in its C(error);
    the other releases are still assessed.
  - Read-only in Glance. Like M(cloudimages.openstack.upstream_release) it keeps its
    discovery state under C(cache_dir), except in check mode.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  releases:
    description:
      - The releases to assess. Each entry has C(rotate), the options of
        M(cloudimages.openstack.image_rotate) for the release (C(provider), C(release_key),
        C(name), C(retired), C(properties), retention...; no C(candidate)), and, unless
        C(rotate.retired) is true, C(discover), the options of
        M(cloudimages.openstack.upstream_release).
      - Other keys of an entry are ignored, so a caller may keep its own data next to them.
    type: list
    elements: dict
    required: true
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.managed
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
attributes:
  action_group:
    membership: [cloudimages.openstack.cloud]
  check_mode:
    support: full
  diff_mode:
    support: N/A
    details: The module changes nothing in the cloud.
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: What today's sync has to do in prod1
  cloudimages.openstack.release_status_info:
    cloud: prod1
    releases:
      - discover:
          source: ubuntu
          release: "24.04"
        rotate:
          provider: example
          release_key: ubuntu-24.04
          name: Ubuntu 24.04 Noble Numbat
          keep: 3
          delete_unused: true
      - rotate:
          provider: example
          release_key: debian-11
          name: Debian 11 Bullseye
          retired: true
  register: status

- name: Releases with work to do
  ansible.builtin.debug:
    msg: "{{ status.releases | rejectattr('settled') | map(attribute='name') }}"
"""

RETURN = r"""
releases:
  description: One entry per release, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The release key (C(rotate.release_key)).
      type: str
      sample: ubuntu-24.04
    name:
      description: The release name (C(rotate.name)).
      type: str
    retired:
      description: C(rotate.retired).
      type: bool
    settled:
      description: Nothing to do today for this release in this cloud.
      type: bool
    reason:
      description: Why it is settled or not.
      type: str
      sample: build 20261116 is not in this cloud yet
    error:
      description: Bad options or failed discovery; null otherwise. Such a release is not settled.
      type: str
    release:
      description: The discovered release, as C(release) of M(cloudimages.openstack.upstream_release); null when retired or failed.
      type: dict
    existing:
      description: The managed image holding exactly that upstream build (Glance's attribute names), or null.
      type: dict
    warnings:
      description:
        - What the rotation planner would warn about, and a refused rollback.
        - When the upstream build is older than the current C(Latest) (a replayed old index), the
          release is settled with a warning instead of uploading that build every day; the
          warnings of settled releases are also emitted as Ansible warnings.
      type: list
      elements: str
impostors:
  description:
    - One line per image of another project that carries the tag of a provider of O(releases)
      (id, name, visibility, owner); such an image is ignored. Also emitted as warnings.
  returned: always
  type: list
  elements: str
requests:
  description: Upstream HTTP requests made for discovery.
  returned: always
  type: int
"""

from datetime import datetime, timezone

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cloudimages.openstack.plugins.module_utils._image_query import list_impostors, list_managed, resolve_owners
from ansible_collections.cloudimages.openstack.plugins.module_utils._managed import OWNERS_SPEC
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils._release_status import assess
from ansible_collections.cloudimages.openstack.plugins.module_utils._rotation import POLICY_SPEC, policy_from
from ansible_collections.cloudimages.openstack.plugins.module_utils._sources._base import DiscoveryError
from ansible_collections.cloudimages.openstack.plugins.module_utils._sources._engine import DISCOVER_SPEC, discover_from
from ansible_collections.cloudimages.openstack.plugins.module_utils._usage import lookup


def _validated(spec, params, what):
    if not isinstance(params, dict):
        raise ValueError('%s must be a dict of options, not %r' % (what, params))
    result = ArgumentSpecValidator(spec).validate(params)
    if result.error_messages:
        raise ValueError('%s: %s' % (what, '; '.join(result.error_messages)))
    return result.validated_parameters


class ReleaseStatusInfoModule(OpenStackModule):
    argument_spec = dict(releases=dict(type='list', elements='dict', required=True), **OWNERS_SPEC)
    module_kwargs = dict(supports_check_mode=True)
    requests = 0  # upstream requests made

    def run(self):
        try:
            self.owners = resolve_owners(self.conn, self.params['owners'])
        except ValueError as exc:
            self.fail_json(msg=str(exc))
        entries, policies = [], []
        for spec in self.params['releases']:
            entry, policy = self._prepare(spec)
            entries.append(entry)
            policies.append(policy)
        listings, impostors = {}, []
        for policy in filter(None, policies):
            if policy.provider not in listings:
                listings[policy.provider] = list_managed(self.conn, policy.provider, self.owners)
                impostors += list_impostors(self.conn, policy.provider, self.owners)
        for warning in impostors:
            self.ansible.warn(warning)
        now = datetime.now(timezone.utc)

        def status(index, usage=None):
            return assess(listings[policies[index].provider], policies[index], entries[index]['release'], now, usage)

        statuses = {index: status(index) for index, policy in enumerate(policies) if policy}
        # The images the planner wants usage for, of every release, in one lookup per set of usage services.
        by_services = {}
        for index, found in statuses.items():
            if found['usage_needed']:
                by_services.setdefault(policies[index].usage_services, []).append(index)
        for services, indexes in by_services.items():
            usage = lookup(self.conn, sorted({image_id for i in indexes for image_id in statuses[i]['usage_needed']}), services)
            statuses.update({index: status(index, usage) for index in indexes})
        for index, found in statuses.items():
            entries[index].update(settled=found['settled'], reason=found['reason'], existing=found['existing'], warnings=found['warnings'])
            if found['settled']:  # nothing else runs for it today: say it here (image_rotate says it otherwise)
                for warning in found['warnings']:
                    self.ansible.warn('%s: %s' % (entries[index]['name'], warning))
        self.exit_json(changed=False, releases=entries, impostors=impostors, requests=self.requests)

    def _prepare(self, spec):
        """``(entry to return, policy or None)``; discovery happens here, an error goes in the entry."""
        rotate = spec.get('rotate') if isinstance(spec, dict) else None
        rotate = rotate if isinstance(rotate, dict) else {}
        entry = {'key': rotate.get('release_key'), 'name': rotate.get('name'), 'retired': bool(rotate.get('retired')),
                 'settled': False, 'reason': None, 'error': None, 'release': None, 'existing': None, 'warnings': []}
        try:
            params = _validated(POLICY_SPEC, rotate, 'rotate')
            if params['candidate'] is not None:
                raise ValueError('rotate: candidate is not an option here')
            policy = policy_from(params, self.owners)
            entry['retired'] = policy.retired
            if not policy.retired:
                entry['release'], _unchanged, requests = discover_from(
                    _validated(DISCOVER_SPEC, spec.get('discover'), 'discover'), check_mode=self.check_mode)
                self.requests += requests
        except (ValueError, DiscoveryError, OSError) as exc:  # PlanError and NamingError are ValueErrors
            self.requests += getattr(exc, 'requests', 0)
            entry['error'] = entry['reason'] = str(exc)
            return entry, None
        return entry, policy


def main():
    ReleaseStatusInfoModule()()


if __name__ == '__main__':
    main()
