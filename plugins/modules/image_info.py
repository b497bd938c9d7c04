#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_info
short_description: List Glance images by name, tags, properties, visibility and hidden state
version_added: 0.1.0
description:
  - Lists the Glance images the authenticated project can see, filtered on the server by name,
    tags, visibility, status and owner, and locally by custom properties.
  - Results use Glance's API attribute names, as C(openstack image show) does.
  - Unlike a plain listing, it can include C(community) images (not in Glance's default list)
    and C(os_hidden) images.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  id:
    description:
      - Return only the image with this ID. An unknown or invisible ID gives an empty list.
    type: str
  name:
    description:
      - Exact image name. Names are not unique, any project may name an image C(Ubuntu 24.04 - Latest).
        Without O(provider) and O(owner), a warning names each image found that another project owns.
    type: str
  tags:
    description:
      - Tags the image must all carry.
    type: list
    elements: str
    default: []
  properties:
    description:
      - Custom properties the image must all carry, compared as strings,
        for example C(os_distro=ubuntu) and C(os_version=24.04).
    type: dict
    default: {}
  visibility:
    description:
      - Visibility to list. V(all) lists every image the project can see.
      - V(community) must be asked for explicitly; Glance's default list omits community
        images of other projects.
      - When not set, Glance's default list is used (public, own private and shared,
        accepted shared images).
    type: str
    choices: [public, private, shared, community, all]
  status:
    description:
      - Image status, for example V(active), V(queued), V(deactivated).
    type: str
  owner:
    description:
      - ID of the project that owns the image.
    type: str
  provider:
    description:
      - Only the managed images of this provider - tag C(managed_by_<provider>) and owned by one of
        O(owners) - checked on the server (owner filter) and again here. Other projects' images
        with that tag are left out and named in a warning.
    type: str
  hidden:
    description:
      - How to treat images with C(os_hidden=true).
      - V(exclude) behaves like Glance's default list, V(only) lists just hidden images,
        V(include) lists both.
    type: str
    choices: [exclude, include, only]
    default: exclude
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.managed
  - cloudimages.openstack.attributes.info_module
"""

EXAMPLES = r"""
- name: The public Ubuntu 24.04 images managed by this provider (owned by the credentials' project)
  cloudimages.openstack.image_info:
    cloud: prod1
    visibility: public
    provider: example
    properties:
      os_distro: ubuntu
      os_version: "24.04"
  register: ubuntu

- name: Community images kept from earlier rotations, hidden ones included
  cloudimages.openstack.image_info:
    cloud: prod1
    visibility: community
    hidden: include

- name: Set the cloud once for a whole play
  module_defaults:
    group/cloudimages.openstack.cloud:
      cloud: "{{ cloud }}"
  block:
    - name: Look an image up by ID
      cloudimages.openstack.image_info:
        id: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e
"""

RETURN = r"""
images:
  description: Matching images, sorted by name then ID.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Image ID.
      type: str
      sample: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e
    name:
      description: Image name.
      type: str
      sample: Ubuntu 24.04 Noble Numbat - Latest
    status:
      description: Glance status.
      type: str
      sample: active
    visibility:
      description: One of public, community, shared, private.
      type: str
      sample: public
    os_hidden:
      description: Whether the image is hidden from default lists.
      type: bool
      sample: false
    protected:
      description: Whether the image is protected from deletion.
      type: bool
      sample: false
    tags:
      description: Image tags, sorted.
      type: list
      elements: str
      sample: [managed_by_example, "os:ubuntu"]
    owner:
      description: ID of the owning project.
      type: str
      sample: 0f9e4bd2a3a84b6f8e1d8e0c2b0e6a11
    disk_format:
      description: Disk format, for example qcow2 or raw.
      type: str
      sample: qcow2
    container_format:
      description: Container format.
      type: str
      sample: bare
    size:
      description: Stored size in bytes.
      type: int
      sample: 196616
    virtual_size:
      description: Virtual disk size in bytes, as inspected by Glance.
      type: int
      sample: 16777216
    min_disk:
      description: Minimum disk in GiB.
      type: int
      sample: 4
    min_ram:
      description: Minimum RAM in MiB.
      type: int
      sample: 512
    checksum:
      description: MD5 of the stored data.
      type: str
      sample: 37c6e1dc70aaf136834e92bf9637f613
    os_hash_algo:
      description: Algorithm of RV(images[].os_hash_value).
      type: str
      sample: sha512
    os_hash_value:
      description: Digest of the stored data, computed by Glance.
      type: str
    created_at:
      description: Creation time.
      type: str
      sample: "2026-11-23T08:00:00Z"
    updated_at:
      description: Last update time.
      type: str
      sample: "2026-11-23T08:00:00Z"
    stores:
      description: The stores of a multi-store Glance that hold the image, comma-separated; null otherwise.
      type: str
      sample: ceph-az1,ceph-az2
    properties:
      description:
        - Custom properties, for example C(os_distro), C(image_source), C(image_build_date).
        - Includes the C(owner_specified.*) properties some clients add.
      type: dict
      sample: {os_distro: ubuntu, os_version: "24.04"}
"""

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import (
    from_sdk, list_images, list_impostors, list_managed, resolve_owners, select)


class ImageInfoModule(OpenStackModule):
    argument_spec = dict(
        id=dict(type='str'),
        name=dict(type='str'),
        tags=dict(type='list', elements='str', default=[]),
        properties=dict(type='dict', default={}),
        visibility=dict(type='str', choices=['public', 'private', 'shared', 'community', 'all']),
        status=dict(type='str'),
        owner=dict(type='str'),
        hidden=dict(type='str', default='exclude', choices=['exclude', 'include', 'only']),
        provider=dict(type='str'),
        **_managed.OWNERS_SPEC
    )
    module_kwargs = dict(supports_check_mode=True, mutually_exclusive=[('owner', 'provider')])

    def run(self):
        params = self.params
        provider, owners = params['provider'], None
        if provider is not None:
            try:
                owners = resolve_owners(self.conn, params['owners'])
                _managed.managed_tag(provider)
            except ValueError as exc:
                self.fail_json(msg=str(exc))
            for warning in list_impostors(self.conn, provider, owners):
                self.ansible.warn(warning)
        if params['id']:
            found = self.conn.image.find_image(params['id'], ignore_missing=True)
            exact = [from_sdk(found)] if found is not None and found.id == params['id'] else []
            images = select(exact, params['tags'], params['properties'])
            if provider is not None:
                images = [image for image in images if _managed.is_managed(image, provider, owners)]
        elif provider is not None:
            managed = list_managed(self.conn, provider, owners, name=params['name'], visibility=params['visibility'],
                                   status=params['status'], hidden=params['hidden'])
            images = select(managed, params['tags'], params['properties'])
        else:
            images = list_images(self.conn, params['tags'], params['properties'], name=params['name'],
                                 visibility=params['visibility'], status=params['status'], owner=params['owner'],
                                 hidden=params['hidden'])
        if params['name'] and provider is None and params['owner'] is None:
            for warning in _managed.owner_hints(images, params['name'], self.conn.current_project_id):
                self.ansible.warn(warning)
        self.exit_json(changed=False, images=images)


def main():
    ImageInfoModule()()


if __name__ == '__main__':
    main()
