#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: oim_adopt
short_description: Make the images openstack-image-manager published managed images, in place
version_added: 0.3.0
description:
  - Lists the images carrying openstack-image-manager's tag (O(oim_tag)) and gives those whose bytes
    are proven the identity of a managed image of this collection (the tag C(managed_by_<provider>)
    and the properties C(cloudimages_release), C(cloudimages_build), C(cloudimages_digest),
    C(cloudimages_trust)) with one PATCH each. Nothing is uploaded; no UUID changes; names,
    visibility and other properties stay as they are until the daily sync rotates the release.
  - An image is proven when Glance's C(os_hash_value) (or md5 C(checksum)) equals a digest vouched for
    a version of its definition (C(image_description)) in O(images) - the definition's digest, the
    vendor's verified in this run, or the digests of the file downloaded and verified in this run
    (M(cloudimages.openstack.image_fetch)). Bytes decide, not C(internal_version); the build recorded is
    the version's C(build) (the vendor's build id when the digests agree). One image per build, so an
    image of a build already held (by an adopted image, or by one the daily sync uploaded since an
    earlier migration) is left untouched, like every other image with the tag, and listed with the reason.
  - Idempotent; each image is changed by one request, so a killed run leaves every image either
    adopted or untouched, and the next run finishes the rest.
  - The playbook C(cloudimages.openstack.migrate_oim) computes O(images) (filters
    C(cloudimages.openstack.oim_mapping) and C(cloudimages.openstack.oim_proofs)).
author:
  - cloudimages.openstack contributors (@cloudimages)
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.managed
  - cloudimages.openstack.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  provider:
    description: Provider name; the adopted images get the tag C(managed_by_<provider>).
    type: str
    required: true
  oim_tag:
    description: The tag openstack-image-manager marks its images with (its C(--tag)).
    type: str
    default: managed_by_osism
  images:
    description:
      - The mapped OIM images with their proofs (the result of C(cloudimages.openstack.oim_proofs)).
      - Each has C(oim_name), C(key) (the release key; images without one are not adopted) and
        C(versions), each with C(version), C(build), C(digest), C(trust) and C(proof) (a list of C(algo:hex)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Adopt OIM's proven images
  cloudimages.openstack.oim_adopt:
    cloud: prod1
    provider: example
    images: "{{ oim_images }}"
"""

RETURN = r"""
adopt:
  description: The images adopted by this run (in check mode, that would be), with the identity set.
  returned: always
  type: list
  elements: dict
  sample: [{id: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e, name: Ubuntu 24.04, key: ubuntu-24.04, version: "20261108",
            proof: "sha512:3f2a...", properties: {cloudimages_release: ubuntu-24.04}}]
untouched:
  description: The images with the OIM tag not adopted, each with C(reason).
  returned: always
  type: list
  elements: dict
  sample: [{id: 0e7f4dc7-9b1c-0a6c-1c5f-3f0e5b0b7c36, name: Ubuntu 24.04 (20261101), reason: "bytes not proven: ..."}]
adopted:
  description: The images with the OIM tag that were already managed images of this provider.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.migrate import _oim
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance, GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import (
    list_images, list_managed, resolve_owners)
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import json_pointer


def adopt_ops(image, adoption):
    """One JSON patch: the provider tag beside the others, and the identity properties."""
    ops = [{'op': 'replace', 'path': '/tags', 'value': sorted(set(image.get('tags') or ()) | {adoption['tag']})}]
    return ops + [{'op': 'add', 'path': json_pointer(key), 'value': value}
                  for key, value in sorted(adoption['properties'].items())]


class OimAdoptModule(OpenStackModule):
    argument_spec = dict(
        provider=dict(type='str', required=True),
        oim_tag=dict(type='str', default=_oim.OIM_TAG),
        images=dict(type='list', elements='dict', required=True),
        **_managed.OWNERS_SPEC
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        params = self.params
        try:
            owners = resolve_owners(self.conn, params['owners'])
            _managed.managed_tag(params['provider'])
        except ValueError as exc:
            self.fail_json(msg=str(exc))
        images = list_images(self.conn, [params['oim_tag']], visibility='all', hidden='include')
        # The builds the daily sync uploaded since an earlier migration: an OIM image with their bytes stays.
        ids = {image['id'] for image in images}
        own = [image for image in list_managed(self.conn, params['provider'], owners) if image['id'] not in ids]
        result = _oim.adoption(images + own, params['images'], params['provider'], owners, params['oim_tag'])
        by_id = {image['id']: image for image in images}
        before, after = {}, {}
        for adoption in result['adopt']:
            image = by_id[adoption['id']]
            before[image['id']] = {'tags': image['tags'], 'properties': {}}
            after[image['id']] = {'tags': sorted(set(image['tags']) | {adoption['tag']}),
                                  'properties': adoption['properties']}
            if not self.check_mode:
                try:
                    Glance(self.conn).patch(image['id'], adopt_ops(image, adoption))
                except GlanceError as exc:
                    self.fail_json(msg=str(exc), status_code=exc.status)
        output = dict(changed=bool(result['adopt']), **result)
        if self.ansible._diff:
            output['diff'] = {'before': before, 'after': after}
        self.exit_json(**output)


def main():
    OimAdoptModule()()


if __name__ == '__main__':
    main()
