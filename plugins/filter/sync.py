# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the daily sync (roles/image_sync); the logic is in plugin_utils/_sync_report.py.

Documentation: sync_*.yml next to this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudimages.openstack.plugins.module_utils.boot import _boot_test
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.plugin_utils import _sync_report


def sync_description(spec, boot_tested, store_raw=False, arch=DEFAULT_ARCH, boot_architectures=None):
    """image_description of one queued release spec (name, source, options, description_note)."""
    if not isinstance(spec, dict) or not spec.get('name') or not spec.get('source'):
        raise AnsibleFilterError('sync_description takes a release with name and source, not %r' % (spec,))
    options = spec.get('options') or {}
    try:
        return _sync_report.description(
            spec['name'], bool(boot_tested), _sync_report.compression_of(spec['source'], options), bool(store_raw),
            provider_built=options.get('image_source') == 'private', note=spec.get('description_note') or '',
            arch=arch, boot_architectures=boot_architectures)
    except _sync_report.ReportError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def arch_properties(arch):
    """The image properties Nova needs to boot an image of ``arch`` (module_utils/boot/_boot_test)."""
    if not isinstance(arch, str) or not arch:
        raise AnsibleFilterError('arch_properties takes an architecture name, not %r' % (arch,))
    return _boot_test.arch_properties(arch)


def sync_changes(plan):
    """image_rotate's plan in words: one line per change, without image IDs."""
    if not isinstance(plan, list):
        raise AnsibleFilterError('sync_changes takes the plan list of image_rotate, not %r' % (plan,))
    return _sync_report.change_lines(plan)


def _report_call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (_sync_report.ReportError, KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('%s: %s' % (function.__name__, exc)) from exc


def sync_report(queue, cloud, statuses, results, now, check_mode=False, previous=None, available=None,
                not_in_data=None, failure=None):
    """One record per queued release of this cloud's run (see _sync_report.build_report)."""
    return _report_call(_sync_report.build_report, cloud, queue, statuses, results, now, check_mode, previous,
                        available, not_in_data, failure)


def sync_table(report, warn_days=90):
    """The compact per-cloud table, as lines."""
    return _report_call(_sync_report.render_table, report, warn_days)


def sync_metrics(report):
    """Prometheus textfile metrics of the report."""
    return _report_call(_sync_report.render_metrics, report)


class FilterModule:
    def filters(self):
        return {'arch_properties': arch_properties, 'sync_description': sync_description,
                'sync_changes': sync_changes, 'sync_report': sync_report,
                'sync_table': sync_table, 'sync_metrics': sync_metrics}
