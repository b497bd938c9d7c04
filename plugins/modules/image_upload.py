#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_upload
short_description: Upload one upstream build to Glance as a private, verified candidate image, exactly once
version_added: 0.1.0
description:
  - Creates a Glance image with every property, tag, O(min_disk), O(min_ram), disk and container
    format in the one create call, C(private), then fills it by direct upload, C(glance-direct)
    or C(web-download), waits until it is C(active) and compares Glance's C(os_hash_value) and
    C(checksum) with the digests of the bytes sent and with O(expected_digests).
  - On a failed upload or import, a hash mismatch or a timeout, the image it created is deleted
    and the task fails with the reason.
  - Takes the release's rotation policy as one dict, O(policy), the one
    M(cloudimages.openstack.image_rotate) gets; the upload uses its provider, release key,
    properties and C(stale_after), and refuses a policy rotation would refuse, before any upload.
  - The image is identified by the tag C(managed_by_<policy.provider>) and the properties
    C(cloudimages_release), C(cloudimages_build) and C(cloudimages_digest), never by its name,
    and only among the images of the authenticated project. When such an image is already
    C(active) (or C(deactivated)), nothing is uploaded.
  - An existing C(private) or C(shared) (not yet promoted) active image of the identity is checked
    against O(expected_digests) too. When its bytes differ (for example a web-download import that
    Glance finished after its run was killed), it is deleted, with a warning, and uploaded anew;
    an existing promoted image that differs is an error and is not touched.
  - An unfinished image of the identity younger than O(policy.stale_after) belongs to another run and is
    waited for; older unfinished and C(killed) ones are orphans of killed runs and are deleted.
    The image records the uploading process in the property C(cloudimages_run), so a run on the same host
    or container deletes a C(queued), C(saving) or C(uploading) image of a process that is gone at once.
  - SIGTERM or SIGINT (an AWX cancel), or the end of the ansible-playbook that runs it, stops the upload
    and deletes the image it created.
    Two runs at the same time never leave two active images; the later one deletes its own and
    returns the earlier one.
  - Glance writes per new image are create + PUT file for V(direct), create + import for
    V(web-download), create + stage + import for V(glance-direct). No property is PATCHed later.
  - Properties are checked against SCS-0102 before anything is written.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  name:
    description:
      - Name of the new image (a candidate name; promotion renames it). Not used to find images.
    type: str
    required: true
  release:
    description:
      - The O(release) dict returned by C(upstream_release). It fills the identity's build and
        digest (C(version), C(checksum); the release key is O(policy.release_key)), the properties
        C(image_source), C(image_build_date), C(image_original_user) and C(os_version), and O(disk_format).
      - It also sets C(cloudimages_trust), what vouches for the bytes - C(signed:<fingerprint>) (a pinned
        key signed the checksum, or comma-separated pins one of which must sign the image file),
        C(tls-only) (an unsigned source accepted with C(allow_unsigned), HTTPS alone) or
        C(operator-checksum) (a local artifact).
      - Explicit options and O(policy.properties) override what it provides.
    type: dict
  build:
    description:
      - Upstream build, for example C(20261116). Part of the identity, with O(policy.release_key).
    type: str
  digest:
    description:
      - C(<algorithm>:<hex>) of the upstream file as published. Part of the identity.
    type: str
  method:
    description:
      - V(direct) sends the file with one PUT.
      - V(glance-direct) stages the file and lets Glance import it, running its import plugins
        (for example conversion to raw), so the stored bytes may differ from the file.
      - V(web-download) lets Glance download O(url) itself, for when the controller's bandwidth
        is the limit. Needs O(expected_digests).
    type: str
    choices: [direct, glance-direct, web-download]
    default: direct
  stores:
    description:
      - Stores of a multi-store Glance (its C(enabled_backends)) to put the image into; Glance's
        default store when empty.
      - V(direct) puts it into one store. The imports (V(glance-direct), V(web-download)) put it into
        each, and Glance makes the image active only once every store holds it
        (C(all_stores_must_succeed)); a failed store fails the upload, and the image is deleted.
      - An unpromoted image of this build that is not in every store is replaced. A promoted one
        (a store added since its upload) keeps its id and is copied into the stores it lacks with
        Glance's C(copy-image) import, which Glance's C(copy_image) policy allows to admins by
        default; it stays active meanwhile, and a store that fails is an error naming it.
    type: list
    elements: str
    default: []
  all_stores:
    description:
      - Import into every store of a multi-store Glance, as O(stores) does for the named ones.
        Needs V(glance-direct) or V(web-download).
    type: bool
    default: false
  filename:
    description:
      - Local file to upload, for V(direct) and V(glance-direct).
    type: path
  url:
    description:
      - URL Glance downloads from, for V(web-download).
    type: str
  staging_dir:
    description:
      - With V(web-download) and O(filename), put the file into this directory, which a web server
        serves at O(staging_url), and let Glance import it from there; a cloud of many regions then
        gets each build from the controller once, not once per region.
      - The file is named by its sha256 and disk format; one already there with its name and size
        is reused (another region's run put it there). The directory is untrusted storage; the
        stored image is checked against O(expected_digests) as for any upload, stays private and is
        deleted when it does not match, and a failed import removes the staged file so the next
        run puts it anew.
    type: path
  staging_url:
    description:
      - The URL at which a web server serves O(staging_dir) to Glance (C(http://) or C(https://));
        Glance's C(web-download) import filtering (C([import_filtering_opts])) must allow its host
        and port.
    type: str
  disk_format:
    description:
      - Disk format of the data Glance stores. Defaults to the O(release) C(disk_format).
      - For a cloud that stores raw, upload the raw file with V(raw).
    type: str
    choices: [ami, ari, aki, vhd, vhdx, vmdk, raw, qcow2, vdi, iso, ploop]
  container_format:
    description:
      - Container format.
    type: str
    default: bare
  min_disk:
    description:
      - Minimum disk in GiB. SCS-0102 wants it to hold the stored file.
    type: int
  min_ram:
    description:
      - Minimum RAM in MiB.
    type: int
  tags:
    description:
      - Extra tags. C(managed_by_<policy.provider>) and C(os:<os_distro>) are always added.
    type: list
    elements: str
    default: []
  expected_digests:
    description:
      - Digests of the bytes Glance will store, keys C(md5), C(sha256) and/or C(sha512).
      - For a cloud that converts on import, the digests of the converted (raw) data.
      - Compared with Glance's C(checksum) and C(os_hash_value), also for an existing image.
    type: dict
  timeout:
    description:
      - Seconds the upload, import and wait for the image (or another run's image of the same
        build) to become active may take together; then the module deletes what it created and fails.
      - The shared option of the collection, with a default fit for uploads of a few GB.
    type: int
    default: 1800
    aliases: [wait_timeout]
  scs_mandatory:
    description:
      - Also fail when a property SCS-0102 makes mandatory, O(min_disk) or O(min_ram) is missing.
        Given values are always checked.
    type: bool
    default: true
  today:
    description:
      - The run's date (C(YYYY-MM-DD), UTC), as the image_sync role's C(image_sync_today). A build dated up to
        the end of that day is not refused as dated in the future, so a run replayed on a later day (a mirror
        advanced past the real clock) publishes that day's builds. It only moves the clock forward; without it, now.
    type: str
attributes:
  check_mode:
    support: full
    details: Looks the identity up and reports the image it would create; writes nothing.
  diff_mode:
    support: full
    details: Before is empty, after is the create request body.
extends_documentation_fragment:
  - cloudimages.openstack.policy
  - cloudimages.openstack.openstack
  - cloudimages.openstack.attributes
"""

EXAMPLES = r"""
- name: Upload the fetched build as a private candidate
  cloudimages.openstack.image_upload:
    cloud: prod1
    name: "Ubuntu 24.04 (candidate {{ release.version }})"
    policy:
      provider: example
      release_key: ubuntu-24.04
      name: Ubuntu 24.04 Noble Numbat
      properties:
        architecture: x86_64
        os_distro: ubuntu
        os_purpose: generic
        image_description: https://ubuntu.com/server
        replace_frequency: quarterly
        provided_until: none
        uuid_validity: last-3
        hw_disk_bus: scsi
        hw_scsi_model: virtio-scsi
        hw_rng_model: virtio
        hypervisor_type: qemu
    release: "{{ release }}"
    filename: "{{ fetched.path }}"
    disk_format: qcow2
    expected_digests:
      md5: "{{ fetched.digests.md5 }}"
      sha512: "{{ fetched.digests.sha512 }}"
    min_disk: "{{ fetched.min_disk }}"
    min_ram: 512
  register: candidate

- name: A cloud that stores raw gets the raw file and its digests
  cloudimages.openstack.image_upload:
    cloud: prod2
    name: "Ubuntu 24.04 (candidate {{ release.version }})"
    policy: "{{ ubuntu_2404_policy }}"
    release: "{{ release }}"
    filename: "{{ fetched.raw.path }}"
    disk_format: raw
    expected_digests: "{{ fetched.raw.digests }}"
    min_disk: "{{ fetched.min_disk }}"
    min_ram: 512

- name: Every region imports the verified file from the operator's web server
  cloudimages.openstack.image_upload:
    cloud: prod1
    region_name: "{{ item }}"
    name: "Ubuntu 24.04 (candidate {{ release.version }})"
    policy: "{{ ubuntu_2404_policy }}"
    release: "{{ release }}"
    method: web-download
    filename: "{{ fetched.path }}"
    staging_dir: /srv/www/images
    staging_url: https://images.example.com/
    expected_digests: "{{ fetched.digests }}"
    min_disk: "{{ fetched.min_disk }}"
    min_ram: 512
  loop: [RegionOne, RegionTwo]

- name: Let Glance pull the file from the mirror
  cloudimages.openstack.image_upload:
    cloud: prod3
    name: "Debian 12 (candidate)"
    policy: "{{ debian_12_policy }}"
    release: "{{ release }}"
    method: web-download
    url: "{{ release.url }}"
    expected_digests:
      sha512: "{{ fetched.digests.sha512 }}"
    min_disk: 3
    min_ram: 512
"""

RETURN = r"""
image:
  description:
    - The image of this build, shaped as in C(image_info) results (Glance's attribute names,
      custom properties in C(properties)).
    - Empty in check mode when the image would be created.
  returned: always
  type: dict
  sample:
    id: 5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e
    name: Ubuntu 24.04 (candidate 20261116)
    status: active
    visibility: private
    tags: [managed_by_example, "os:ubuntu"]
    os_hash_algo: sha512
    properties: {cloudimages_release: ubuntu-24.04, cloudimages_build: "20261116", os_distro: ubuntu}
copied:
  description: The stores the existing image of this build was copied into (in check mode, would be).
  returned: always
  type: list
  elements: str
  sample: [az2]
created:
  description: Whether this run created the image (in check mode, whether it would).
  returned: always
  type: bool
staged:
  description:
    - With O(staging_dir), the URL Glance imported from and the bytes this run wrote into the
      staging directory (0 when the file was there already).
  returned: when O(staging_dir) is set
  type: dict
  sample: {url: "https://images.example.com/5f3c...e1.qcow2", bytes: 0}
deleted:
  description:
    - IDs of orphaned images of this build (left by killed runs) that were, or in check mode would be,
      deleted, and of a not yet promoted image of this build whose bytes did not match O(expected_digests).
  returned: always
  type: list
  elements: str
"""

import os

from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _glance_upload as upload
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance, GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed, _scs, _staging
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import POLICY_SPEC, policy_from
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import run_now


class ImageUploadModule(OpenStackModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        policy=dict(type='dict', required=True, options=POLICY_SPEC),
        release=dict(type='dict'),
        build=dict(type='str'),
        digest=dict(type='str'),
        method=dict(type='str', default='direct', choices=list(upload.METHODS)),
        stores=dict(type='list', elements='str', default=[]),
        all_stores=dict(type='bool', default=False),
        filename=dict(type='path'),
        url=dict(type='str'),
        staging_dir=dict(type='path'),
        staging_url=dict(type='str'),
        disk_format=dict(type='str',
                         choices=['ami', 'ari', 'aki', 'vhd', 'vhdx', 'vmdk', 'raw', 'qcow2', 'vdi', 'iso', 'ploop']),
        container_format=dict(type='str', default='bare'),
        min_disk=dict(type='int'),
        min_ram=dict(type='int'),
        tags=dict(type='list', elements='str', default=[]),
        expected_digests=dict(type='dict'),
        timeout=dict(type='int', default=1800, aliases=['wait_timeout']),
        scs_mandatory=dict(type='bool', default=True),
        today=dict(type='str'),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        mutually_exclusive=[('filename', 'url'), ('staging_dir', 'url')],
        required_together=[('staging_dir', 'staging_url')],
        required_by={'staging_dir': ('filename', 'expected_digests')},
        required_if=[('method', 'direct', ['filename']), ('method', 'glance-direct', ['filename']),
                     ('method', 'web-download', ['url', 'staging_dir'], True),
                     ('method', 'web-download', ['expected_digests'])],
    )
    cancellable = True

    def _prepare(self):
        """Validate everything before the first request; return (body, tag, identity, expected, policy)."""
        p = self.params
        # The policy image_rotate will get, refused here rather than after the upload; the images are
        # this project's.
        policy = policy_from(p['policy'], [self.conn.current_project_id])
        if policy.retired:
            raise ValueError('policy.retired is true: a retired release gets no new upload')
        release = p['release'] or {}
        size = None
        if p['filename']:
            if not os.path.isfile(p['filename']) or not os.access(p['filename'], os.R_OK):
                raise ValueError('filename %s is not a readable file' % p['filename'])
            size = os.path.getsize(p['filename'])
        disk_format = p['disk_format'] or release.get('disk_format')
        if not disk_format:
            raise ValueError('disk_format is required when release does not provide it')
        identity = upload.resolve_identity(release, policy.release_key, p['build'], p['digest'])
        properties = upload.release_properties(release)
        properties.update(policy.properties)
        tag = _managed.managed_tag(policy.provider)
        body = upload.build_create_body(p['name'], policy.provider, identity, disk_format, p['container_format'],
                                        p['min_disk'], p['min_ram'], properties, p['tags'])
        problems = _scs.validate({k: v for k, v in body.items() if k in properties}, p['min_disk'], p['min_ram'],
                                 size, mandatory=p['scs_mandatory'], now=run_now(p['today']))
        if problems:
            raise ValueError('invalid SCS-0102 metadata: %s' % '; '.join(problems))
        if p['timeout'] < 0:
            raise ValueError('timeout must not be negative')
        return body, tag, identity, upload.normalize_expected(p['expected_digests']), policy

    def _staged(self, body, expected):
        """With staging_dir: {name, url, bytes} of the file in the staging directory (put there by run())."""
        p = self.params
        if not p['staging_dir']:
            return None
        if p['method'] != 'web-download':
            raise ValueError('staging_dir is for method web-download (Glance imports the staged file)')
        if not os.path.isdir(p['staging_dir']):
            raise ValueError('staging_dir %s is not a directory' % p['staging_dir'])
        name = _staging.staged_name(expected.get('sha256'), body['disk_format'])
        return dict(name=name, url=_staging.url_of(p['staging_url'], name), bytes=0)

    def run(self):
        p = self.params
        try:
            body, tag, identity, expected, policy = self._prepare()
            staged = self._staged(body, expected)
            uploader = upload.Uploader(Glance(self.conn), body, tag, identity, p['method'],
                                       None if staged else p['filename'], staged['url'] if staged else p['url'],
                                       expected, p['timeout'], policy.stale_after, stores=p['stores'],
                                       all_stores=p['all_stores'])  # refuses stores the method cannot reach
        except ValueError as exc:  # PlanError too
            self.fail_json(msg=str(exc))
        try:
            if self.check_mode:
                existing, orphans = uploader.plan()
                result = dict(image=existing or {}, created=existing is None, deleted=orphans,
                              copied=uploader.missing_for(existing))
            else:
                if staged:  # a stat when another region's run put it there already
                    staged['bytes'] = _staging.put(p['filename'], p['staging_dir'], staged['name'])
                result = uploader.run()
        except (GlanceError, OSError) as exc:  # UploadError too; OSError: writing into staging_dir
            if staged and not self.check_mode:
                _staging.discard(p['staging_dir'], staged['name'])
            self.fail_json(msg=str(exc), deleted=uploader.deleted)
        if staged:
            result['staged'] = dict(url=staged['url'], bytes=staged['bytes'])
        for warning in uploader.warnings:
            self.ansible.warn(warning)
        result['changed'] = bool(result['created'] or result['deleted'] or result['copied'])
        if result['created'] and self.ansible._diff:
            result['diff'] = dict(before={}, after=body)
        self.exit_json(**result)


def main():
    ImageUploadModule()()


if __name__ == '__main__':
    main()
