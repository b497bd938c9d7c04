# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""release_jobs: the queue of one cloud, built on the controller (module_utils/plan/_jobs.py)."""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.collection_loader._collection_finder import _get_collection_role_path

from ansible_collections.cloudimages.openstack.plugins.filter.sync import sync_description
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _jobs

COLLECTION = 'cloudimages.openstack'


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('distributions',))

    def _defaults(self, role):
        """A role's defaults/main, as a play including it would see them (templates kept)."""
        found = _get_collection_role_path(role if '.' in role else '%s.%s' % (COLLECTION, role))
        if not found:
            raise AnsibleError('%s: no such role (a role of this collection, or namespace.collection.role)' % role)
        values = {}
        for path in self._loader.find_vars_files(os.path.join(found[1], 'defaults'), 'main'):
            values.update(self._loader.load_from_file(path, trusted_as_template=True) or {})
        return values

    def _reader(self, variables):
        """The templated value of a variable, over ``variables``."""
        templar = self._templar.copy_with_new_env(available_variables=variables)
        return lambda name: templar.template(variables[name])

    def _data(self, family, variables):
        """A distribution's data (the DISTRIBUTION_SPEC options), validated."""
        read = self._reader(variables)
        spec = {'%s_%s' % (family, option): value for option, value in _jobs.DISTRIBUTION_SPEC.items()}
        checked = ArgumentSpecValidator(spec).validate({name: read(name) for name in spec if name in variables})
        if checked.error_messages:
            raise AnsibleError('%s: %s' % (family, '; '.join(checked.error_messages)))
        return {name[len(family) + 1:]: value for name, value in checked.validated_parameters.items()}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _checked, args = self.validate_argument_spec(
            {'distributions': {'type': 'list', 'elements': 'str', 'required': True}})
        base = {**self._defaults('image_sync'), **task_vars}
        read = self._reader(base)
        knobs = {knob: read('image_sync_' + knob) for knob in _jobs.KNOBS if 'image_sync_' + knob in base}
        knobs.setdefault('run_started', None)
        run_tags = task_vars.get('ansible_run_tags') or ['all']
        skip_tags = task_vars.get('ansible_skip_tags') or []

        def describe(release, boot_test, arch):
            return sync_description(release, boot_test, store_raw=boolean(knobs['store_raw']), arch=arch,
                                    boot_architectures=knobs['boot_architectures'] or None)

        try:
            distributions = {}
            for name in args['distributions']:
                if _jobs.selected(name, run_tags, skip_tags):
                    family = name.split('.')[-1]
                    distributions[family] = self._data(family, {**base, **self._defaults(name), **task_vars})
            warnings = []
            jobs = _jobs.queue(distributions, knobs, describe, warnings.append)
        except (_jobs.JobError, AnsibleError) as exc:
            return dict(result, failed=True, msg=str(exc))
        return dict(result, changed=False, jobs=jobs, distributions=list(distributions),
                    warnings=result.get('warnings', []) + warnings)
