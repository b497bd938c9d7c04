# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""release_status_info: ``defer`` on the controller, the module otherwise.

With ``defer`` a host's task only hands over its options (the play's module_defaults applied, so
its connection too), without a module process; one later ``run_once`` task checks every host's
cloud with ``requests`` in one module run (in the worker process on a local connection:
plugin_utils/_in_process.py).
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.cloudimages.openstack.plugins.plugin_utils._in_process import InProcess, module_of


class ActionModule(InProcess):
    MODULE = module_of('release_status_info')

    def run(self, tmp=None, task_vars=None):
        if not boolean(self._task.args.get('defer', False), strict=False):
            return super().run(tmp, task_vars)
        # The options hold the connection's secrets: the result is for the next task, not the output.
        request = {k: v for k, v in self._task.args.items() if k != 'defer'}
        request['name'] = (task_vars or {})['inventory_hostname']
        return dict(changed=False, request=request, _ansible_no_log=True)
