#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_usage_info
short_description: Which Nova servers and Cinder volumes use which Glance images
version_added: 0.1.0
description:
  - For each image, lists the Nova servers booted from it (every project, every state Nova
    lists, shelved and error included, and soft-deleted ones, which C(restore) brings back) and
    the Cinder volumes created from it (C(volume_image_metadata.image_id)).
  - The answer is C(complete) only when Nova and Cinder show that the caller sees every project
    (Nova's C(os_compute_api:servers:allow_all_filters) and C(get_all_tenants) rules, Cinder's
    C(context_is_admin)), whatever the role names; otherwise it covers the caller's project and
    says why, naming the rule. A service that fails or times out makes it unknown.
  - This is the check M(cloudimages.openstack.image_rotate) runs before deleting.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  images:
    description:
      - Image IDs to check.
    type: list
    elements: str
  provider:
    description:
      - With O(release_key), check every managed image of that release group instead
        (tag C(managed_by_<provider>), property C(cloudimages_release), owned by one of O(owners));
        another project's image with that tag is named in a warning, not checked.
    type: str
  release_key:
    description:
      - Release group, see O(provider).
    type: str
  usage_services:
    description:
      - The services this cloud has whose servers or volumes can use an image. One of them
        without an endpoint for the connection's region and interface makes the answer
        C(unknown) (see RV(unknown)).
    type: list
    elements: str
    choices: [compute, volume]
    default: [compute, volume]
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.managed
  - cloudimages.openstack.attributes.info_module
"""

EXAMPLES = r"""
- name: Who still uses the previous Ubuntu 24.04 images
  cloudimages.openstack.image_usage_info:
    cloud: prod1
    provider: example
    release_key: ubuntu-24.04
  register: usage

- name: Two images by ID
  cloudimages.openstack.image_usage_info:
    cloud: prod1
    images:
      - 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e
      - 0c0a9d2e-7c4f-4c63-9d55-4a3c1f0a9a11
"""

RETURN = r"""
images:
  description: One entry per image, in the order asked (release groups by name then ID).
  returned: always
  type: list
  elements: dict
  contains:
    in_use:
      description: Whether any server or volume uses it.
      type: bool
    id:
      description: Image ID.
      type: str
    name:
      description: Image name, when the image was listed from a release group.
      type: str
    servers:
      description: Servers booted from the image.
      type: list
      elements: dict
      sample: [{id: 9d2c…, name: web1, project_id: 8a58…, status: SHELVED_OFFLOADED}]
    volumes:
      description: Volumes created from the image.
      type: list
      elements: dict
      sample: [{id: 7f1e…, name: data, project_id: 8a58…, status: in-use}]
complete:
  description: Whether every project was checked.
  returned: always
  type: bool
unknown:
  description: Whether a service of O(usage_services) has no endpoint, so usage could not be checked at all.
  returned: always
  type: bool
reason:
  description: Why the answer is not complete; null when it is.
  returned: always
  type: str
"""

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import (
    list_impostors, resolve_owners)
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import OWNERS_SPEC
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import POLICY_SPEC
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation_apply import list_group
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import lookup


class ImageUsageInfoModule(OpenStackModule):
    argument_spec = dict(
        images=dict(type='list', elements='str'),
        provider=dict(type='str'),
        release_key=dict(type='str', no_log=False),
        usage_services=POLICY_SPEC['usage_services'],
        **OWNERS_SPEC
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_one_of=[('images', 'provider')],
        mutually_exclusive=[('images', 'provider')],
        required_together=[('provider', 'release_key')],
    )

    def run(self):
        p = self.params
        names = {}
        if p['images'] is not None:
            ids = list(dict.fromkeys(p['images']))
        else:
            try:
                owners = resolve_owners(self.conn, p['owners'])
                group = list_group(self.conn, p['provider'], p['release_key'], owners)
                for warning in list_impostors(self.conn, p['provider'], owners, p['release_key']):
                    self.ansible.warn(warning)
            except ValueError as exc:
                self.fail_json(msg=str(exc))
            ids = [image['id'] for image in group]
            names = {image['id']: image.get('name') for image in group}
        usage = lookup(self.conn, ids, p['usage_services'])
        images = []
        for image_id in ids:
            entry = usage['images'][image_id]
            item = {'id': image_id, 'in_use': bool(entry['servers'] or entry['volumes']),
                    'servers': entry['servers'], 'volumes': entry['volumes']}
            if image_id in names:
                item['name'] = names[image_id]
            images.append(item)
        self.exit_json(changed=False, images=images, complete=usage['complete'], unknown=usage['unknown'],
                       reason=usage['reason'])


def main():
    ImageUsageInfoModule()()


if __name__ == '__main__':
    main()
