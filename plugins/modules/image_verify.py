#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_verify
short_description: Verify that managed Glance images hold exactly the bytes the vendor published
version_added: 0.1.0
description:
  - For every managed public or community image of O(provider) (tag C(managed_by_<provider>),
    owned by one of O(owners)), or the images named in O(images), downloads the upstream file named by the image's
    C(image_source) property, or reuses it from the shared cache of verified files.
  - The download must match the upstream digest recorded on the image at upload
    (C(cloudimages_digest), read from the vendor's signed metadata then). When O(releases)
    holds the vendor's current release of the same build (from
    M(cloudimages.openstack.upstream_release), checksum and signature verified just now), that
    checksum must agree too, and the image signature it names (Fedora CoreOS, Flatcar) must verify.
  - Reproduces the form Glance stores (decompressed; converted to raw when the image's
    C(disk_format) is raw and the upstream file is not) and compares its md5 with Glance's
    C(checksum) and its C(os_hash_algo) digest (sha512) with C(os_hash_value).
    This is the manual C(openstack image show) against C(md5sum) of the converted upstream file,
    for the whole catalog.
  - Reports per image V(match), V(mismatch), V(source_gone) (the upstream file answers 404 or 410,
    or its host cannot be reached after retries), V(unverifiable) (no recorded digest, no
    C(image_source) URL, no Glance checksum, or upstream now serves other bytes for the URL),
    V(skipped) (provider-built images, C(image_source=private)) or V(error).
  - Never changes an image unless O(deactivate_mismatches) is set.
  - An image of another project with the provider's tag is never verified and its C(image_source)
    never fetched; it is named in a warning.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  provider:
    description:
      - Provider name; managed images carry the tag C(managed_by_<provider>).
    type: str
    required: true
  images:
    description:
      - IDs or names of managed images of O(provider) to verify, whatever their visibility.
      - An ID or name that matches no managed image, or a name shared by several, is an error.
      - Default, every public and community managed image of O(provider).
    type: list
    elements: str
  release_keys:
    description:
      - Verify only images whose C(cloudimages_release) is one of these, for example C(debian-12).
    type: list
    elements: str
  releases:
    description:
      - C(release) dicts returned by M(cloudimages.openstack.upstream_release), at most one per release key.
      - For an image of the same release key and build (C(version) equal to C(cloudimages_build)),
        the release's C(checksum) must equal the recorded digest, else the image is a V(mismatch)
        (the vendor now publishes another digest for this build). The download then uses the
        release's C(url), C(image_signature_url) and C(trust).
    type: list
    elements: dict
    default: []
  url_rewrites:
    description:
      - Canonical URL prefix to replacement (a mirror), applied with the longest prefix first to
        C(image_source) before downloading, as in M(cloudimages.openstack.upstream_release).
    type: dict
    default: {}
  cache_dir:
    description:
      - Directory of the cache of verified files shared with M(cloudimages.openstack.image_fetch).
        Images uploaded from it need no download.
    type: path
    default: ~/.cache/cloudimages
  keyring:
    description:
      - Keyring to verify image signatures with. Default, the C(trust.keyring) of the matching release.
    type: path
  trusted_fingerprints:
    description:
      - Pinned fingerprints for image signatures. Default, the C(trust.fingerprints) of the matching release.
    type: list
    elements: str
  max_size:
    description:
      - Largest download accepted, in bytes.
    type: int
    default: 21474836480
  download_timeout:
    description:
      - Seconds to wait for a connection to the upstream and for each read from it.
      - O(timeout) is the OpenStack operation timeout and does not apply to downloads.
    type: int
    default: 60
  retries:
    description:
      - Retries of a failed upstream request or a dropped transfer before the source counts as gone.
    type: int
    default: 3
  transfer_deadline:
    description:
      - Seconds one upstream transfer (an image or its signature), all retries included, may take
        before it fails; bounds a server that drips bytes too slowly for O(download_timeout) to fire.
    type: int
    default: 1800
  fail_on_mismatch:
    description:
      - Fail after verifying (and deactivating, with O(deactivate_mismatches)) every image when
        any image is a V(mismatch). The result still lists every image.
    type: bool
    default: true
  deactivate_mismatches:
    description:
      - Deactivate active images that are a V(mismatch), so nobody boots them. Needs Glance's
        deactivate right (admin by default). Reactivate with C(openstack image set --activate).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Verifies as usual (a download only fills the cache of verified files) and reports the
      images O(deactivate_mismatches) would deactivate, without deactivating them.
  diff_mode:
    support: full
    details: Shows the status of each image it deactivates, V(active) before and V(deactivated) after.
extends_documentation_fragment:
  - cloudimages.openstack.attributes.posix
  - cloudimages.openstack.openstack
  - cloudimages.openstack.managed
  - cloudimages.openstack.attributes
requirements:
  - requests
  - oslo.utils >= 7.4 (format inspection)
  - qemu-img, for images Glance stores raw
  - gpgv (GnuPG), for signed images
notes:
  - Run it on the controller (C(connection=local)) so every cloud shares one download per file.
"""

EXAMPLES = r"""
- name: Verify every public and community image of the provider against upstream
  cloudimages.openstack.image_verify:
    cloud: prod1
    provider: example
    url_rewrites:
      "https://": "http://mirror.example.com/"
  register: verified

- name: Verify today's Ubuntu build against the vendor's freshly verified checksum, deactivate what differs
  cloudimages.openstack.image_verify:
    cloud: prod1
    provider: example
    release_keys: [ubuntu-24.04]
    releases: ["{{ ubuntu.release }}"]
    deactivate_mismatches: true
"""

RETURN = r"""
images:
  description: One entry per verified image, sorted by name then ID.
  returned: always
  type: list
  elements: dict
  contains:
    status:
      description: V(match), V(mismatch), V(source_gone), V(unverifiable), V(skipped) or V(error).
      type: str
      sample: match
    reason:
      description: Why, in words (which digest differs, which URL is gone, what is missing).
      type: str
    id:
      description: Image ID.
      type: str
    name:
      description: Image name.
      type: str
    visibility:
      description: Image visibility.
      type: str
    image_status:
      description: Glance status of the image after this run (V(deactivated) when this run deactivated it).
      type: str
    disk_format:
      description: Disk format Glance stores.
      type: str
    release_key:
      description: Property C(cloudimages_release).
      type: str
    architecture:
      description: Property C(architecture) (SCS), e.g. C(x86_64) or C(aarch64).
      type: str
    build:
      description: Property C(cloudimages_build).
      type: str
    image_source:
      description: Property C(image_source), the canonical upstream URL.
      type: str
    source:
      description: URL downloaded (after O(url_rewrites)), null when nothing had to be downloaded.
      type: str
    differs:
      description: For a mismatch, which values differ, from V(checksum), V(os_hash_value), V(vendor_digest).
      type: list
      elements: str
    expected:
      description: Digests of the reproduced stored form (C(checksum) is its md5), or C(vendor_digest).
      type: dict
      sample: {checksum: 3deb980d15072b1615885416fb60ffb1, os_hash_algo: sha512, os_hash_value: "afd7a7ec..."}
    actual:
      description: What Glance shows (C(checksum), C(os_hash_algo), C(os_hash_value)).
      type: dict
    from_cache:
      description: True when the upstream file came from the cache; null when nothing was fetched.
      type: bool
    signer:
      description: Fingerprint that signed the upstream image file, when a release named an image signature.
      type: str
    deactivated:
      description: True when this run deactivated the image (or would have, in check mode).
      type: bool
summary:
  description: Number of images per status, and C(total).
  returned: always
  type: dict
  sample: {match: 5, mismatch: 1, source_gone: 0, unverifiable: 0, skipped: 1, error: 0, total: 7}
"""

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.verify import _verify
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._diskimage import (
    FORMAT_INSPECTOR_IMPORT_ERROR)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    REQUESTS_IMPORT_ERROR, TRANSFER_DEADLINE, make_session)
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import (
    list_impostors, list_managed, resolve_owners)
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance, GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule, sdk_exceptions
from ansible_collections.cloudimages.openstack.plugins.module_utils.verify._verify_upstream import UpstreamCheck


class ImageVerifyModule(OpenStackModule):
    argument_spec = dict(
        provider=dict(type='str', required=True),
        owners=_managed.OWNERS_SPEC['owners'],
        images=dict(type='list', elements='str'),
        release_keys=dict(type='list', elements='str', no_log=False),  # release names like ubuntu-24.04
        releases=dict(type='list', elements='dict', default=[]),
        url_rewrites=dict(type='dict', default={}),
        cache_dir=dict(type='path', default='~/.cache/cloudimages'),
        keyring=dict(type='path'),
        trusted_fingerprints=dict(type='list', elements='str'),
        max_size=dict(type='int', default=20 * (1 << 30)),
        download_timeout=dict(type='int', default=60),
        retries=dict(type='int', default=3),
        transfer_deadline=dict(type='int', default=TRANSFER_DEADLINE),
        fail_on_mismatch=dict(type='bool', default=True),
        deactivate_mismatches=dict(type='bool', default=False),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        p = self.params
        for error, library in ((REQUESTS_IMPORT_ERROR, 'requests'), (FORMAT_INSPECTOR_IMPORT_ERROR, 'oslo.utils>=7.4')):
            if error:
                self.fail_json(msg=missing_required_lib(library), exception=error)
        for name in ('max_size', 'download_timeout', 'transfer_deadline'):
            if p[name] <= 0:
                self.fail_json(msg='%s must be positive, got %d' % (name, p[name]))
        if p['retries'] < 0:
            self.fail_json(msg='retries must not be negative, got %d' % p['retries'])
        try:
            owners = resolve_owners(self.conn, p['owners'])
            releases = _verify.index_releases(p['releases'])
            managed = list_managed(self.conn, p['provider'], owners)
            chosen = _verify.select(managed, p['images'], p['release_keys'])
            for warning in list_impostors(self.conn, p['provider'], owners):
                self.ansible.warn(warning)
        except (ValueError, _verify.VerifyUsageError) as exc:
            self.fail_json(msg=str(exc))
        check = UpstreamCheck(make_session(retries=p['retries']), p['cache_dir'], p['max_size'], p['download_timeout'],
                              p['retries'], p['keyring'], p['trusted_fingerprints'], p['transfer_deadline'])
        rewrites = {str(k): str(v) for k, v in p['url_rewrites'].items()}
        results = []
        for image in chosen:
            result, step = _verify.plan(image, releases, rewrites)
            if step is not None:
                check(image, result, step)
            results.append(result)
        for warning in dict.fromkeys(check.warnings):  # what the cache's proofs saw
            self.ansible.warn(warning)
        changed, diff, failures = self._deactivate(results) if p['deactivate_mismatches'] else (False, None, [])
        output = dict(changed=changed, images=results, summary=_verify.summarize(results))
        if diff and self.ansible._diff:
            output['diff'] = diff
        if failures:
            self.fail_json(msg='could not deactivate: %s' % '; '.join(failures), **output)
        if p['fail_on_mismatch'] and output['summary']['mismatch']:
            self.fail_json(msg=_verify.mismatch_message(results, p['provider']), **output)
        self.exit_json(**output)

    # -- deactivation ----------------------------------------------------------------------------
    def _deactivate(self, results):
        before, after, failures = {}, {}, []
        for result in results:
            if result['status'] != 'mismatch' or result['image_status'] != 'active':
                continue
            if not self.check_mode:
                try:
                    self._deactivate_one(result['id'])
                except (sdk_exceptions.SDKException, GlanceError) as exc:
                    result['reason'] += '; deactivation failed: %s' % exc
                    failures.append('%s (%s): %s' % (result['name'], result['id'], exc))
                    continue
                result['image_status'] = 'deactivated'
            result['deactivated'] = True
            before[result['id']] = 'active'
            after[result['id']] = 'deactivated'
        diff = {'before': {'images': before}, 'after': {'images': after}} if before else None
        return bool(before), diff, failures

    def _deactivate_one(self, image_id):
        Glance(self.conn).deactivate(image_id)


def main():
    ImageVerifyModule()()


if __name__ == '__main__':
    main()
