# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    # The rotation policy of one release (module_utils/rotate/_rotation.py POLICY_SPEC): the option of
    # image_rotate and image_upload, and each release's rotate in release_status_info.
    DOCUMENTATION = r"""
options:
  policy:
    description:
      - The rotation policy of one release group of managed images, the same dict for
        M(cloudimages.openstack.image_upload), M(cloudimages.openstack.image_rotate) and
        each release's C(rotate) in M(cloudimages.openstack.release_status_info), whose
        RV(cloudimages.openstack.release_status_info#module:releases[].job) carries it ready to pass on.
      - Checked as a whole before anything is written, whichever module gets it.
    type: dict
    required: true
    suboptions:
      provider:
        description:
          - Provider name; managed images carry the tag C(managed_by_<provider>).
          - 1-63 characters of a-z, 0-9, C(_), C(.) or C(-).
        type: str
        required: true
      release_key:
        description:
          - Release group, the value of the image property C(cloudimages_release), for example
            C(ubuntu-24.04). Part of an upload's identity.
        type: str
        required: true
      name:
        description:
          - Base name of the release, for example C(Ubuntu 24.04 Noble Numbat).
        type: str
        required: true
      naming:
        description:
          - V(latest_suffix) names the newest C(<name> - Latest) and older ones C(<name> - <YYYY-MM-DD>).
          - V(scs) names the newest C(<name>) and older ones C(<name> <YYYYMMDD>).
          - The date is the image's first upload (Glance C(created_at), UTC) in V(latest_suffix) and its
            build date (property C(image_build_date), as SCS-0102 asks; C(created_at) when it has none)
            in V(scs).
          - In both profiles older versions with C(os_purpose=generic) get C(oldgeneric), as the SCS
            image standards expect (one public generic image per distribution, version and architecture).
        type: str
        choices: [latest_suffix, scs]
        default: latest_suffix
      name_templates:
        description:
          - Override the profile's templates. Placeholders C({name}), C({date}) (YYYY-MM-DD),
            C({date_compact}) (YYYYMMDD) and C({build}) (C(cloudimages_build)).
          - The latest template may use only C({name}); the dated one needs a date or the build.
          - Two older images with the same dated name get C( (2)), C( (3)) by upload order.
        type: dict
        suboptions:
          latest:
            description: Template of the newest image's name.
            type: str
          dated:
            description: Template of older images' names.
            type: str
      previous_visibility:
        description:
          - What older versions become. V(community) (usable by ID by everyone, not listed),
            V(hidden) (stays C(public) with C(os_hidden=true), out of image lists but usable by ID;
            SCS recommends this) or V(public) (stays C(public) and listed under its dated name, as
            openstack-image-manager keeps older versions).
          - With V(public) the Latest is the image with the latest name; a demoted version carries
            C(cloudimages_demoted_at), never C(public) alone.
        type: str
        choices: [community, hidden, public]
        default: community
      keep:
        description:
          - Number of newest versions never deleted, the latest included.
          - C(uuid_validity=last-N) in O(policy.properties) or on an image keeps the N newest too,
            as do an image's own future date, C(forever) and C(notice); the reasons say which rule
            kept an image (C(keep) or C(uuid_validity)).
          - C(provided_until) is no reason to keep an old version, as it describes the release's
            image series (its latest image), not each previous build.
        type: int
        default: 2
      min_age_days:
        description:
          - Versions uploaded less than this many days ago are never deleted or deactivated.
        type: int
        default: 0
      demoted_grace_hours:
        description:
          - Hours a version is kept after it stopped being the latest, whatever its age, so that
            copies and boots started from it before (a volume still C(downloading) it, a server in
            C(BUILD)), which show no image ID yet, finish first. The demotion writes the time into
            the property C(cloudimages_demoted_at); without it (an older demotion) Glance's
            C(updated_at) stands in.
          - V(0) lets a version demoted in an earlier run go at once.
          - Deletes also wait while any volume is C(creating)/C(downloading) or any server is in
            C(BUILD) without an image ID.
        type: int
        default: 24
      delete_unused:
        description:
          - Delete versions beyond retention that nothing uses. When false they are only reported.
        type: bool
        default: false
      deactivate_expired:
        description:
          - With O(policy.delete_unused=false), deactivate versions beyond retention that nothing uses
            (they can no longer be booted or downloaded, and can be reactivated).
        type: bool
        default: false
      retired:
        description:
          - The release reached the end of its security support. No image is latest any more;
            the last one gets O(policy.retired_state). Takes no candidate.
        type: bool
        default: false
      retired_state:
        description:
          - End state of the last image of a retired release. V(community) keeps it usable by ID,
            V(hidden) keeps it public but out of lists, V(delete_unused) deletes every version
            once unused (ignoring O(policy.keep) and C(last-N), honouring dates,
            O(policy.min_age_days) and C(protected)).
        type: str
        choices: [community, hidden, delete_unused]
        default: community
      properties:
        description:
          - Common properties every managed image of the group carries (not per build), for
            example the SCS-0102 ones (C(architecture), C(os_distro), C(os_purpose),
            C(replace_frequency), C(provided_until), C(uuid_validity), ...) and C(hw_*),
            C(hypervisor_type).
          - Set at upload, where they override what the upload's C(release) provides, and
            reconciled by rotation in the same single PATCH as any rename.
          - Values are stored as strings; booleans as C(true)/C(false). A null value leaves the
            property out at upload and removes it at rotation.
          - Glance attributes, C(os_glance*) and the identity properties are refused.
        type: dict
        default: {}
      stale_after:
        description:
          - Seconds after its creation from which a managed image still uploading is an orphan of an
            interrupted upload and is deleted (a killed one at once), by upload and rotation alike.
            Must exceed the longest upload.
        type: int
        default: 21600
      require_all_projects_usage:
        description:
          - Refuse to delete unless usage could be checked in every project (admin rights for
            Nova and Cinder). When false, deletes rely on the caller's own projects and Glance's 409.
        type: bool
        default: true
      usage_services:
        description:
          - The services whose servers or volumes can use an image in this cloud.
          - When one of them has no endpoint in the catalog for the connection's region and
            interface (a typo, or a service missing), usage is unknown and nothing is deleted or
            deactivated; the plan says why. List only the services the cloud has, for example
            C([volume]) for a cloud without Nova.
        type: list
        elements: str
        choices: [compute, volume]
        default: [compute, volume]
      accept_withdrawal:
        description:
          - The operator accepts that the vendor withdrew build O(policy.accept_withdrawal.withdrawn) and went
            back to O(policy.accept_withdrawal.back_to) (as upstream_release's option of the same name).
          - While the latest holds the withdrawn build, the newest active image of C(back_to) is the latest
            (the existing previous version promoted again, or a candidate); the withdrawn image becomes a
            previous version, kept and deleted by the usual rules. Any other older candidate is still refused.
          - No effect once the latest holds another build (upstream moved past the withdrawn one); remove it then.
        type: dict
        suboptions:
          withdrawn:
            description:
              - The build the vendor withdrew - its version (the C(cloudimages_build) of its images), the first of
                the two builds the rollback error names (C(upstream index went back from <withdrawn> to <back_to>)).
            type: str
            required: true
          back_to:
            description:
              - The build the vendor went back to, the second one of that error. It must be older than C(withdrawn).
            type: str
            required: true
"""

    # accept_withdrawal's type and suboptions for upstream_release, whose own description says what
    # it does there (cloudimages.openstack.policy.withdrawal; Ansible merges the two). The same text
    # as policy.accept_withdrawal's above, written twice because a fragment merges only top-level
    # options and ansible-test wants literals; test_withdrawal.py checks that both say the same.
    WITHDRAWAL = r"""
options:
  accept_withdrawal:
    type: dict
    suboptions:
      withdrawn:
        description:
          - The build the vendor withdrew - its version (the C(cloudimages_build) of its images), the first of
            the two builds the rollback error names (C(upstream index went back from <withdrawn> to <back_to>)).
        type: str
        required: true
      back_to:
        description:
          - The build the vendor went back to, the second one of that error. It must be older than C(withdrawn).
        type: str
        required: true
"""
