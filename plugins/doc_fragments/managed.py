# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    # The option of every module that lists managed images (module_utils/glance/_managed.py OWNERS_SPEC).
    DOCUMENTATION = r"""
options:
  owners:
    description:
      - IDs of the projects whose images are the provider's managed images. An image is managed
        only when it carries the tag C(managed_by_<provider>) AND one of these projects owns it.
      - Empty (the default) means the project the credentials act in.
      - A value that is not a project ID (32 hex digits) is taken as a project name and resolved
        through Keystone (which lets only admins list projects); the module fails before doing
        anything when Keystone knows no such project, several, or refuses to say.
      - The tag and the C(cloudimages_*) properties are public, so any tenant can put them on an
        image of its own. Such an image is never touched, listed as the provider's or downloaded
        from; the module names it (id, owner, name) in a warning.
      - Images are uploaded into the credentials' project, so it belongs in this list when it is set.
    type: list
    elements: str
    default: []
"""
