# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""This collection's modules, run inside the task's worker process on a local connection.

A module run as its own process costs about half a second of CPU before its first request:
AnsiballZ hands it its module_utils in a zip, which Python compiles from source on every run, and
openstacksdk is imported again. These modules talk to APIs from the controller, so on a local
connection the action plugin calls the module's ``main()`` in the worker instead. The module was
imported once, with openstacksdk, by ansible-playbook's own process when its strategy first looked
the action plugin up, before it forked the worker: every later run starts warm.

The module's own code runs unchanged: AnsibleModule reads the same arguments (module_defaults,
check mode, diff, no_log applied by Ansible as for any module) and its JSON result is parsed as
Ansible parses a module's output. Anything else runs the module as usual, in its own process:
another connection, become, async, or a Python other than ansible-playbook's
(``ansible_python_interpreter``), where the controller's imports prove nothing.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import sys
import traceback

from ansible.module_utils import _internal, basic
from ansible.module_utils.common import warnings
from ansible.module_utils.common.json import Direction, get_module_encoder
from ansible.plugins.action import ActionBase
from ansible.vars.clean import remove_internal_keys

# The serialization profile Ansible gives a module that declares none (all of ours).
PROFILE = 'legacy'
MODULES = 'ansible_collections.cloudimages.openstack.plugins.modules.'


def module_of(name):
    """This collection's module ``name``, imported; None where it cannot be (the module's process says why)."""
    try:
        return importlib.import_module(MODULES + name)
    except Exception:  # pylint: disable=broad-exception-caught
        return None  # a library missing from the controller's Python


def run_main(module, args):
    """The output of ``module.main()`` given ``args`` (with Ansible's internal ones), as a module prints it."""
    basic._ANSIBLE_ARGS = json.dumps({'ANSIBLE_MODULE_ARGS': args},
                                     cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)).encode()
    basic._ANSIBLE_PROFILE = PROFILE
    # The module's side of module_utils: warnings go into its result (the controller's side would
    # display them at once), and its result is encoded as a module encodes it.
    controller, _internal.is_controller = _internal.is_controller, False
    # A loop runs its items in one worker: each run starts with no warning of the one before.
    warnings._global_warnings.clear()  # pylint: disable=protected-access
    warnings._global_deprecations.clear()  # pylint: disable=protected-access
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            module.main()
    except SystemExit:
        pass  # exit_json and fail_json print the result, then exit
    except Exception as ex:  # pylint: disable=broad-exception-caught
        # As AnsiballZ reports a module that raised.
        return json.dumps(dict(failed=True, msg='%s: %s' % (type(ex).__name__, ex), exception=traceback.format_exc()))
    finally:
        _internal.is_controller = controller
        basic._ANSIBLE_ARGS = None
    return out.getvalue()


class InProcess(ActionBase):
    """Runs MODULE's main() in this process where that is the same as running the module."""

    TRANSFERS_FILES = False
    MODULE = None

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        return dict(result, **self._execute_module(task_vars=task_vars))

    def _here(self, task_vars):
        """Whether the module would run here: local, as ourselves, now, with this Python."""
        if self.MODULE is None or self._connection.transport != 'local':
            return False
        if self._play_context.become or self._task.async_val:
            return False
        python = self._templar.template(task_vars.get('ansible_python_interpreter', sys.executable))
        return not python or python.startswith('auto') or os.path.realpath(python) == os.path.realpath(sys.executable)

    def _execute_module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        # pylint: disable=arguments-differ
        task_vars = task_vars or {}
        if module_name not in (None, self._task.action) or not self._here(task_vars):
            return super()._execute_module(module_name, module_args, task_vars=task_vars, **kwargs)
        args = dict(self._task.args if module_args is None else module_args)
        self._update_module_args(self._task.action, args, task_vars)
        data = self._parse_returned_data(dict(rc=0, stdout=run_main(self.MODULE, args), stderr=''), PROFILE)
        remove_internal_keys(data)
        return data
