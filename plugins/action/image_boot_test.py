# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""image_boot_test: in the task's worker process on a local connection (plugin_utils/_in_process.py)."""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.plugin_utils._in_process import InProcess, module_of


class ActionModule(InProcess):
    MODULE = module_of('image_boot_test')
