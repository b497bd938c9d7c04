#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_share
short_description: Share a Glance image with other projects, or accept a shared image as a member
version_added: 0.1.0
description:
  - Owner side (default) adds or removes member projects of an image the caller's project owns.
    A V(private) image is made V(shared) when a member has to be added; V(public) and
    V(community) images cannot have members and are refused.
  - Member side (O(member_status) set) runs as the receiving project and sets its own member
    status of a shared image, for example V(accepted) so the image shows up in its default
    image list.
  - Member projects are checked in Keystone before they are added, because Glance accepts any
    string as a member id. Keystone usually forbids ordinary users to look up other projects;
    see O(member_check).
  - Idempotent; check mode and diff show the members before and after.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  image:
    description:
      - ID or name of the image.
      - On the owner side, the image must be owned by the caller's project.
      - On the member side a name is looked up among all images O(owner) shared with the project,
        pending ones included; a name needs O(owner).
    type: str
    required: true
  owner:
    description:
      - Member side. ID of the project that must own O(image); the status is set only on an image it
        owns. Needed when O(image) is a name (any project can name an image so and share it), checked
        when it is an ID.
    type: str
  members:
    description:
      - Project IDs or names (owner side).
      - Names need Keystone project lookups, which ordinary users are usually not allowed;
        give IDs then.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(present) makes sure the O(members) are members; V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  exclusive:
    description:
      - With O(state=present), also remove every member not in O(members).
        O(members=[]) with O(exclusive=true) removes all members.
    type: bool
    default: false
  member_check:
    description:
      - How to verify that O(members) exist in Keystone.
      - V(auto) looks each one up; an unknown project fails the task. When Keystone forbids
        the lookup (the usual case for a non-admin user), IDs are used unverified with a
        warning, and names fail.
      - V(strict) fails when a member cannot be verified.
      - V(skip) does not look IDs up (names still need Keystone).
    type: str
    choices: [auto, strict, skip]
    default: auto
  member_status:
    description:
      - Member side. Set the caller's project's member status of the shared image O(image).
        V(accepted) lists it in the project's default image list, V(rejected) hides it,
        V(pending) resets the decision.
      - The owner must have shared the image with the project first.
      - Excludes O(members) and O(exclusive).
    type: str
    choices: [accepted, rejected, pending]
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details: Owner side shows visibility and members, member side the member status.
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.attributes
notes:
  - Removing all members leaves the image V(shared); it is not made V(private) again.
  - A V(private) image's members are hidden by Glance and come back when it is made
    V(shared); with O(exclusive=true) they are removed in the same run.
"""

EXAMPLES = r"""
- name: Share the candidate with two customer projects (ids, as an ordinary user)
  cloudimages.openstack.image_share:
    cloud: image-admin
    image: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e
    members:
      - 0f9e4bd2a3a84b6f8e1d8e0c2b0e6a11
      - 3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f

- name: Exactly these members, by name (needs Keystone project lookups, e.g. an admin cloud)
  cloudimages.openstack.image_share:
    cloud: admin
    image: Ubuntu 24.04 partner build
    members: [partner-a, partner-b]
    exclusive: true

- name: The receiving project accepts the image, only from the project it expects
  cloudimages.openstack.image_share:
    cloud: partner-a
    image: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e
    owner: 8d2b9a1c4e5f46a7b8c9d0e1f2a3b4c5
    member_status: accepted

- name: Stop sharing with one project
  cloudimages.openstack.image_share:
    cloud: image-admin
    image: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e
    members: [3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f]
    state: absent
"""

RETURN = r"""
image:
  description: The image acted on, its C(id), C(name), C(visibility) and C(owner).
  returned: always
  type: dict
  sample: {id: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e, name: Ubuntu 24.04 Noble Numbat - Latest, visibility: shared,
           owner: 8d2b9a1c4e5f46a7b8c9d0e1f2a3b4c5}
  contains:
    owner:
      description: The project that owns the image.
      type: str
    visibility:
      description: Visibility after the task (V(shared) once it has members).
      type: str
      sample: shared
members:
  description: Owner side. Members after the task (in check mode, as they would be).
  returned: owner side
  type: list
  elements: dict
  contains:
    member_id:
      description: Project ID.
      type: str
    status:
      description: V(pending), V(accepted) or V(rejected); new members start V(pending).
      type: str
added:
  description: Owner side. Project IDs added (or that would be).
  returned: owner side
  type: list
  elements: str
removed:
  description: Owner side. Project IDs removed (or that would be).
  returned: owner side
  type: list
  elements: str
member:
  description: Member side. The caller's project and its member status after the task.
  returned: member side
  type: dict
  sample: {member_id: dbfffb381f954f6f9b4d380e052ef513, status: accepted}
"""

from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._sharing import (
    MEMBER_STATUSES, SharingError, set_member_status, share)


class ImageShareModule(OpenStackModule):
    argument_spec = dict(
        image=dict(type='str', required=True),
        members=dict(type='list', elements='str', default=[]),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        exclusive=dict(type='bool', default=False),
        member_check=dict(type='str', default='auto', choices=['auto', 'strict', 'skip']),
        member_status=dict(type='str', choices=list(MEMBER_STATUSES)),
        owner=dict(type='str'),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        params = self.params
        try:
            if params['member_status']:
                if params['members'] or params['exclusive'] or params['state'] != 'present':
                    raise SharingError('member_status is the member side: it cannot be combined with members, '
                                       'exclusive or state=absent')
                result = set_member_status(self.conn, params['image'], params['member_status'], self.check_mode,
                                           params['owner'])
            else:
                if params['owner']:
                    raise SharingError('owner is the member side (with member_status): the owner side acts on its '
                                       'own images')
                if params['exclusive'] and params['state'] == 'absent':
                    raise SharingError('exclusive applies to state=present only')
                result = share(self.conn, params['image'], params['members'], params['state'], params['exclusive'],
                               params['member_check'], self.check_mode)
        except SharingError as exc:
            self.fail_json(msg=str(exc))
        for warning in result.pop('warnings'):
            self.ansible.warn(warning)
        diff = result.pop('diff')
        if self.ansible._diff:
            result['diff'] = diff
        self.exit_json(**result)


def main():
    ImageShareModule()()


if __name__ == '__main__':
    main()
