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
  - This is the daily sync's fast path. A day without news costs one module run for all the
    clouds of the play (O(requests)) and one Glance listing per cloud, instead of several module
    runs per release. Every release that is not settled takes the whole path, whose modules
    decide again from fresh state.
  - Only images owned by O(owners) count. Images of other projects that carry a provider's tag are
    named once per provider in C(impostors) and as warnings, and count for nothing.
  - A release whose options are wrong or whose discovery fails is reported in its C(error);
    the other releases are still assessed.
  - A release the vendor says has reached its end of life (Ubuntu's C(supported)/C(support_eol)
    in its streams, a release Fedora no longer lists) is retired, with the reason in
    C(retired_reason) and C(end_of_life). The C(end_of_support) dates of the data stay a floor.
  - A release entry can follow the vendor. C(discover.release=current) with the source V(fedora)
    stands for the newest Fedora release and the ones before it until their end of life (every
    release C(releases.json) lists, as Fedora drops a release at its end of life). Each becomes its
    own release with the key C(<prefix><N>) for C(rotate.release_key=<prefix>current), and C({release})
    replaced in C(rotate.name) and C(rotate.properties). An optional C(stream.end_of_support)
    map (release to date) gives their end of support. A release that leaves the stream and still
    has images in the cloud is retired.
  - With O(announce), the vendors' release lists (one conditional request per vendor and run)
    give the releases newer than every release carried, in RV(available). Nothing is published
    for them. The lists are the Ubuntu and Ubuntu Minimal streams (LTS releases only), Fedora's
    releases.json, CirrOS's C(version/released), the Debian archive's C(dists/) listing on
    deb.debian.org (released versions only), the top directories of Rocky Linux and AlmaLinux
    (their majors).
  - Read-only in Glance. Like M(cloudimages.openstack.upstream_release) it keeps its
    discovery state under C(cache_dir), except in check mode.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  releases:
    description:
      - The releases to assess (unless O(requests) is given). Each entry has C(rotate), the release's rotation policy as
        O(cloudimages.openstack.image_rotate#module:policy) (C(provider), C(release_key), C(name),
        C(retired), C(properties), retention...), and, unless C(rotate.retired) is true,
        C(discover), the options of M(cloudimages.openstack.upstream_release).
      - Optional C(stream) (dict, for a stream release such as V(current)) with C(end_of_support),
        a map of concrete release to ISO date, and C(end_of_support), the date behind
        C(rotate.retired), which only words the retirement reason.
      - Other keys of an entry are ignored, so a caller may keep its own data next to them.
    type: list
    elements: dict
  today:
    description:
      - The date (YYYY-MM-DD) end-of-life dates are compared with; UTC today when unset.
      - Also the default of each C(discover.today).
    type: str
  announce:
    description:
      - Report in RV(available) the releases the vendors list that no entry carries.
      - For the vendors whose release list is one document (Ubuntu and Ubuntu Minimal LTS
        releases, Fedora, the CirrOS series).
    type: bool
    default: false
  not_in_data:
    description:
      - Report in RV(not_in_data) the managed images (of the providers of O(releases)) whose
        release key no entry carries, such as the images of a release dropped from the data.
      - Only meaningful when O(releases) is the cloud's whole catalog; the daily sync sets it on
        runs without C(--tags). Nothing is done to those images; to retire a release, keep it in
        the data with C(rotate.retired).
    type: bool
    default: false
  stores:
    description:
      - The stores of a multi-store Glance every current image must be in, as
        O(cloudimages.openstack.image_upload#module:stores) puts new ones. A release whose current
        build is missing one (a store added to the cloud) is not settled, so the daily sync has
        M(cloudimages.openstack.image_upload) copy it there.
    type: list
    elements: str
    default: []
  all_stores:
    description:
      - Every store Glance lists (one request), as O(cloudimages.openstack.image_upload#module:all_stores).
    type: bool
    default: false
  defer:
    description:
      - Check nothing now. Return this task's options (the play's C(module_defaults) applied) in
        RV(request), named after the inventory host, for one later run with O(requests).
      - Done on the controller without a module process (an action plugin). RV(request) holds the
        connection's secrets, as the options do; it is hidden from the output.
    type: bool
    default: false
  distributions:
    description:
      - With O(defer), instead of O(releases) - the distribution roles whose jobs to check, built
        on the controller as M(cloudimages.openstack.release_jobs) builds them (same option), so one
        task builds and hands them over. Without a job (C(--tags) left none) there is no RV(request).
      - The variables of roles/image_sync are checked against its argument spec first, as including
        the role checks them (the daily sync includes it with C(rolespec_validate=false)).
    type: list
    elements: str
  requests:
    description:
      - Check many clouds or regions at once, one RV(request) each, in one module run. They are
        checked in parallel, log in once per identity (the regions of a cloud share one token),
        and share the upstream part (each document, release list and discovery once), so a
        region more costs its Glance listings. The result is in RV(clouds).
      - The daily sync runs this once for all the hosts of the play (C(run_once)).
      - Each entry takes the options of this module for one cloud (O(releases) required, the
        connection's too), and C(name), the name of its result in RV(clouds) (the inventory host).
        An entry with bad options fails alone, in its result. The options of the task itself other
        than O(requests) are ignored.
    type: list
    elements: dict
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.managed
  - cloudimages.openstack.attributes.info_module
attributes:
  action:
    description: An action plugin does O(defer) on the controller and runs the module otherwise.
    support: full
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
request:
  description: With O(defer), the options of this cloud for O(requests), with its C(name).
  returned: with O(defer), unless O(distributions) gave no job
  type: dict
clouds:
  description:
    - With O(requests), by name, each cloud's result as a one-cloud run returns it (RV(releases),
      RV(impostors), RV(available), RV(not_in_data), RV(catalog_errors), RV(requests)), with
      C(failed), C(msg) when it could not be checked, and its C(warnings) (also emitted as
      warnings, prefixed by the name).
  returned: with O(requests)
  type: dict
releases:
  description: One entry per release, in the order given.
  returned: unless O(requests) or O(defer)
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
      description: C(rotate.retired), or the vendor's end of life.
      type: bool
    retired_reason:
      description: Why the release is retired; null when it is not.
      type: str
      sample: >-
        ubuntu 20.10 has reached its end of life: Ubuntu marks it unsupported (supported: false,
        support_eol 2021-07-22) in ...
    end_of_life:
      description: The vendor's end-of-life date, true when the vendor gives none, null when the vendor says nothing.
      type: raw
    job:
      description:
        - The entry as given, for a stream release made concrete (C(discover.release),
          C(rotate.release_key), C(rotate.name), C(rotate.properties)); C(rotate.retired) is true when retired.
        - What the later steps of the sync take their options from; C(rotate) is the
          O(cloudimages.openstack.image_rotate#module:policy) of M(cloudimages.openstack.image_upload)
          and M(cloudimages.openstack.image_rotate).
      type: dict
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
      description:
        - The discovered release, as C(release) of M(cloudimages.openstack.upstream_release); null when retired
          or failed.
      type: dict
    existing:
      description: The managed image holding exactly that upstream build (Glance's attribute names), or null.
      type: dict
    latest_since:
      description:
        - Upload time of the image published as C(Latest) now (also when discovery failed), or null.
      type: str
    missing_stores:
      description:
        - The stores of O(stores) (or every store, with O(all_stores)) the promoted C(existing) image
          is not in.
      type: list
      elements: str
    warnings:
      description:
        - What the rotation planner would warn about, and a refused rollback.
        - When the upstream build is older than the current C(Latest) (a replayed old index), the
          release is settled with a warning instead of uploading that build every day; the
          warnings of settled releases are also emitted as Ansible warnings.
      type: list
      elements: str
    kept_in_use:
      description:
        - How many old builds the rotation keeps only because servers or volumes use them, and how
          many servers and volumes those are (C(builds), C(servers), C(volumes)); null when not planned.
      type: dict
impostors:
  description:
    - One line per image of another project that carries the tag of a provider of O(releases)
      (id, name, visibility, owner); such an image is ignored. Also emitted as warnings.
    - And one per image that is not the provider's but carries the C(Latest) name of one of
      O(releases) (say C(CirrOS 0.6 - Latest) without the tag, or of another project), which users
      looking up the image by name find beside the provider's.
  returned: unless O(requests) or O(defer)
  type: list
  elements: str
available:
  description: With O(announce), releases the vendors list that this run carries none of.
  returned: unless O(requests) or O(defer)
  type: list
  elements: dict
  contains:
    source:
      description: The source (C(discover.source)).
      type: str
      sample: ubuntu
    release:
      description: The release as the vendor numbers it.
      type: str
      sample: "26.04"
    title:
      description: The vendor's title.
      type: str
      sample: Ubuntu 26.04 LTS Resolute Raccoon
    support_eol:
      description: The vendor's end of support, when it gives one.
      type: str
    reason:
      description: Why it is reported.
      type: str
not_in_data:
  description: With O(not_in_data), per release key, the managed images no entry of O(releases) carries.
  returned: unless O(requests) or O(defer)
  type: list
  elements: dict
  contains:
    provider:
      description: The provider whose tag the images carry.
      type: str
    release_key:
      description: Their release key (C(cloudimages_release)); null for managed images without one.
      type: str
      sample: fedora-42
    images:
      description: C(id), C(name) and C(visibility) of each image.
      type: list
      elements: dict
    summary:
      description: The group in one line, as the daily sync's summary shows it (also a warning).
      type: str
      sample: >-
        fedora-42: 2 images (Fedora 42 - 2026-11-02, Fedora 42 - Latest); in no release of the data,
        left as they are
catalog_errors:
  description: Vendor release lists that could not be read (stream releases fail, announcements are skipped).
  returned: unless O(requests) or O(defer)
  type: list
  elements: str
requests:
  description: Upstream HTTP requests made for discovery.
  returned: unless O(requests) or O(defer)
  type: int
"""

from datetime import datetime, timezone

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import OWNERS_SPEC
from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import (
    AUTH_ARGSPEC, OpenStackModule, SharedLogins, sdk_exceptions, secret_values)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import DiscoveryError
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._status_check import check_cloud, check_clouds

STATUS_SPEC = dict(releases=dict(type='list', elements='dict'),
                   today=dict(type='str'), announce=dict(type='bool', default=False),
                   not_in_data=dict(type='bool', default=False),
                   stores=dict(type='list', elements='str', default=[]),
                   all_stores=dict(type='bool', default=False), **OWNERS_SPEC)
# One cloud of O(requests): the options of a one-cloud run, named.
REQUEST_SPEC = dict(AUTH_ARGSPEC, name=dict(type='str', required=True),
                    **dict(STATUS_SPEC, releases=dict(type='list', elements='dict', required=True)))
ERRORS = (ValueError, DiscoveryError, GlanceError)


class ReleaseStatusInfoModule(OpenStackModule):
    # requests hold connections' secrets: hidden whole until each is validated (see requested).
    argument_spec = dict(STATUS_SPEC, defer=dict(type='bool', default=False),
                         distributions=dict(type='list', elements='str'),
                         requests=dict(type='list', elements='dict', no_log=True))
    module_kwargs = dict(supports_check_mode=True, required_one_of=[('releases', 'requests', 'distributions')],
                         mutually_exclusive=[('releases', 'requests', 'distributions')])

    def connects(self):
        return self.params['requests'] is None

    def run(self):
        now = datetime.now(timezone.utc)
        if self.params['defer'] or self.params['distributions']:
            self.fail_json(msg='defer and distributions are for the action plugin on the controller; run this module as a task')
        if self.params['requests'] is not None:
            self.run_many(now)
        try:
            result, warnings = check_cloud(self.conn, self.params, now, self.check_mode)
        except ERRORS as exc:
            self.fail_json(msg=str(exc))
        for warning in warnings:
            self.ansible.warn(warning)
        self.exit_json(changed=False, **result)

    def requested(self):
        """``({name: options}, {name: error})`` of O(requests), each validated alone; from now on only
        their secrets are hidden (a cloud's name, region, releases stay visible)."""
        spec = dict(AUTH_ARGSPEC, **self.argument_spec)
        hidden = secret_values(dict(self.params, requests=None), spec)
        clouds, errors = {}, {}
        for number, raw in enumerate(self.params['requests'], 1):
            checked = ArgumentSpecValidator(REQUEST_SPEC).validate(raw)
            params = checked.validated_parameters
            hidden |= secret_values(params, REQUEST_SPEC)
            name = params.get('name') or 'request %d' % number
            if name in clouds or name in errors:
                errors[name] = 'requests: the name %s is given twice' % name
            elif checked.error_messages:
                errors[name] = 'requests: %s' % '; '.join(checked.error_messages)
            else:
                clouds[name] = params
        self.ansible.no_log_values.clear()
        self.ansible.no_log_values.update(hidden)
        return clouds, errors

    def run_many(self, now):
        """O(requests): every cloud at once; a cloud that cannot be checked fails alone, in its result."""
        clouds, errors = self.requested()
        results = check_clouds(clouds, SharedLogins(), now, ERRORS + (sdk_exceptions.SDKException,), self.check_mode)
        results.update((name, {'failed': True, 'msg': msg, 'warnings': []}) for name, msg in errors.items())
        for name, result in results.items():
            for warning in result['warnings']:
                self.ansible.warn('%s: %s' % (name, warning))
        self.exit_json(changed=False, clouds=results)


def main():
    ReleaseStatusInfoModule()()


if __name__ == '__main__':
    main()
