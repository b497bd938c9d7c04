# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""release_status_info: ``defer`` on the controller, the module otherwise.

With ``defer`` a host's task only hands over its options (the play's module_defaults applied, so
its connection too), without a module process; one later ``run_once`` task checks every host's
cloud with ``requests`` in one module run (in the worker process on a local connection:
plugin_utils/_in_process.py). With ``distributions`` instead of ``releases`` it checks image_sync's
variables against the role's argument spec and builds the jobs first (as release_jobs does): one
task per host, where the role's own validation and the jobs took two more.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.validation import check_type_list
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.cloudimages.openstack.plugins.plugin_utils import _release_jobs
from ansible_collections.cloudimages.openstack.plugins.plugin_utils._in_process import InProcess, module_of


class ActionModule(InProcess):
    MODULE = module_of('release_status_info')

    def run(self, tmp=None, task_vars=None):
        if not boolean(self._task.args.get('defer', False), strict=False):
            return super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = {k: v for k, v in self._task.args.items() if k != 'defer'}
        result = dict(changed=False)
        if 'distributions' in args:
            if 'releases' in args:
                return dict(result, failed=True, msg='parameters are mutually exclusive: distributions|releases')
            try:
                args['releases'], _names, warnings = _release_jobs.build(
                    self._loader, self._templar, task_vars, check_type_list(args.pop('distributions')),
                    validate=True)
            except (AnsibleError, TypeError) as exc:
                return dict(result, failed=True, msg=str(exc))
            result['warnings'] = warnings
            if not args['releases']:  # nothing to check in this cloud (--tags left it none)
                return result
        # The options hold the connection's secrets: the result is for the next task, not the output.
        request = dict(args, name=task_vars['inventory_hostname'])
        return dict(result, request=request, _ansible_no_log=True)
