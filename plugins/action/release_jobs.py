# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""release_jobs: the queue of one cloud, built on the controller (plugin_utils/_release_jobs.py)."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.cloudimages.openstack.plugins.plugin_utils import _release_jobs


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('distributions',))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _checked, args = self.validate_argument_spec(
            {'distributions': {'type': 'list', 'elements': 'str', 'required': True}})
        try:
            jobs, distributions, warnings = _release_jobs.build(
                self._loader, self._templar, task_vars or {}, args['distributions'])
        except AnsibleError as exc:
            return dict(result, failed=True, msg=str(exc))
        return dict(result, changed=False, jobs=jobs, distributions=distributions,
                    warnings=result.get('warnings', []) + warnings)
