#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: release_jobs
short_description: The daily sync's queue of one cloud, every setting of each release resolved
version_added: 0.3.0
description:
  - Builds one job per release of the distributions of this cloud, in the order given, on the
    controller (an action plugin; the logic is plain Python in module_utils/plan/_jobs.py). The jobs
    are what M(cloudimages.openstack.release_status_info) assesses and roles/image_sync syncs.
  - A distribution is a role carrying data only, in its defaults, named C(<distribution>_<option>) -
    C(releases), C(enabled) (release names to sync, all when empty), C(properties),
    C(signing_keys), C(allow_unsigned), C(source) (default the distribution's name) and
    C(release_defaults) (settings every release starts from). Each option can be set in the
    inventory, over the role's defaults. The cloud's knobs are the C(image_sync_*) variables of
    roles/image_sync.
  - The release key of a job is C(<distribution>-<release>) (plus C(-<arch>) for other than
    C(x86_64)), where the distribution is the role's short name.
  - With C(--tags), only the distributions tagged by their role's short name are queued;
    C(--skip-tags) leaves them out.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  distributions:
    description:
      - The distribution roles - a role of this collection by its short name (C(ubuntu)), any
        other role by its full name (C(namespace.collection.role)).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - cloudimages.openstack.attributes.info_module
attributes:
  action:
    description: Runs on the controller as an action plugin.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
"""

EXAMPLES = r"""
- name: The jobs of this cloud
  cloudimages.openstack.release_jobs:
    distributions: "{{ cloudimages_distributions }}"
  register: jobs

- name: What today's sync has to do in this cloud
  cloudimages.openstack.release_status_info:
    releases: "{{ jobs.jobs }}"
"""

RETURN = r"""
jobs:
  description:
    - One job per release, with C(discover) (options of M(cloudimages.openstack.upstream_release)),
      C(rotate) (the policy of M(cloudimages.openstack.image_rotate)), C(min_ram), C(min_disk),
      C(boot_test), C(boot_flavor), C(boot_marker), C(end_of_support), C(retired_reason) and C(stream).
  returned: success
  type: list
  elements: dict
distributions:
  description: The distributions queued (their short names), after C(--tags) and C(--skip-tags).
  returned: success
  type: list
  elements: str
  sample: [ubuntu, debian]
"""
