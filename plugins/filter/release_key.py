# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release key filter: module_utils/glance/_managed.release_key for roles. Documentation: release_key.yml."""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH


def release_key(family, release, arch=DEFAULT_ARCH):
    return _managed.release_key(family, release, arch)


class FilterModule:
    def filters(self):
        return {'release_key': release_key}
