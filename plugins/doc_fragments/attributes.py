# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    # The attributes of every module, as community.crypto's attributes fragments: DOCUMENTATION
    # describes them, the named fragments set them by kind, and a module adds the check_mode and
    # diff_mode support of what it changes. List the named fragments first: earlier ones win.
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
"""

    # Modules that talk to OpenStack: the cloudimages.openstack.cloud action group, any platform.
    CLOUD = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/cloudimages.openstack.cloud) in C(module_defaults) to set defaults for this module.
    support: full
    membership: [cloudimages.openstack.cloud]
  platform:
    platforms: all
"""

    # Modules that read upstreams and the local cache (files, gpgv, qemu-img).
    POSIX = r"""
options: {}
attributes:
  platform:
    platforms: posix
"""

    # Modules that change nothing.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
    details: The module changes nothing.
"""
