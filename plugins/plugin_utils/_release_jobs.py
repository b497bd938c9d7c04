# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The release jobs of one cloud, read from its distribution roles on the controller.

Shared by the release_jobs action and release_status_info's hand-over (``defer`` with
``distributions``), which builds the jobs and hands them over in one task. The logic is in
module_utils/plan/_jobs.py; this reads the roles' defaults and the host's variables for it.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.utils.collection_loader._collection_finder import _get_collection_role_path

from ansible_collections.cloudimages.openstack.plugins.filter.sync import sync_description
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _jobs

COLLECTION = 'cloudimages.openstack'


def _role_path(role):
    found = _get_collection_role_path(role if '.' in role else '%s.%s' % (COLLECTION, role))
    if not found:
        raise AnsibleError('%s: no such role (a role of this collection, or namespace.collection.role)' % role)
    return found[1]


def _defaults(loader, role):
    """A role's defaults/main, as a play including it would see them (templates kept)."""
    values = {}
    for path in loader.find_vars_files(os.path.join(_role_path(role), 'defaults'), 'main'):
        values.update(loader.load_from_file(path, trusted_as_template=True) or {})
    return values


def _reader(templar, variables):
    """The templated value of a variable, over ``variables``."""
    templar = templar.copy_with_new_env(available_variables=variables)
    return lambda name: templar.template(variables[name])


def _data(templar, family, variables):
    """A distribution's data (the DISTRIBUTION_SPEC options), validated."""
    read = _reader(templar, variables)
    spec = {'%s_%s' % (family, option): value for option, value in _jobs.DISTRIBUTION_SPEC.items()}
    checked = ArgumentSpecValidator(spec).validate({name: read(name) for name in spec if name in variables})
    if checked.error_messages:
        raise AnsibleError('%s: %s' % (family, '; '.join(checked.error_messages)))
    return {name[len(family) + 1:]: value for name, value in checked.validated_parameters.items()}


def _knobs(loader, read, base):
    """image_sync's variables, validated against its argument spec as an include of the role
    validates them (each variable templated once, here, instead of in a task of its own)."""
    path = os.path.join(_role_path('image_sync'), 'meta', 'argument_specs.yml')
    spec = loader.load_from_file(path)['argument_specs']['main']['options']
    values = {name: read(name) for name in spec if name in base}
    checked = ArgumentSpecValidator(spec).validate(values, validate_role_argument_spec=True)
    if checked.error_messages:
        raise AnsibleError('image_sync: %s' % '; '.join(checked.error_messages))
    return {knob: values['image_sync_' + knob] for knob in _jobs.KNOBS if 'image_sync_' + knob in values}


def build(loader, templar, task_vars, names, validate=False):
    """``(jobs, distributions, warnings)`` of the distribution roles ``names`` for the host of
    ``task_vars``; those --tags/--skip-tags leave out are not queued. ``validate``: check every
    variable of image_sync against its argument spec too. AnsibleError on bad data."""
    base = {**_defaults(loader, 'image_sync'), **task_vars}
    read = _reader(templar, base)
    if validate:
        knobs = _knobs(loader, read, base)
    else:
        knobs = {knob: read('image_sync_' + knob) for knob in _jobs.KNOBS if 'image_sync_' + knob in base}
    knobs.setdefault('run_started', None)
    run_tags = task_vars.get('ansible_run_tags') or ['all']
    skip_tags = task_vars.get('ansible_skip_tags') or []

    def describe(release, boot_test, arch):
        return sync_description(release, boot_test, store_raw=boolean(knobs['store_raw']), arch=arch,
                                boot_architectures=knobs['boot_architectures'] or None)

    distributions = {}
    for name in names:
        if _jobs.selected(name, run_tags, skip_tags):
            family = name.split('.')[-1]
            distributions[family] = _data(templar, family, {**base, **_defaults(loader, name), **task_vars})
    warnings = []
    try:
        jobs = _jobs.queue(distributions, knobs, describe, warnings.append)
    except _jobs.JobError as exc:
        raise AnsibleError(str(exc)) from exc
    return jobs, list(distributions), warnings
