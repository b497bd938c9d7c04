# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters of the OIM migration (playbooks/migrate_oim.yml); the logic is in module_utils/migrate/_oim.py.

Documentation: oim_*.yml next to this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.migrate import _oim


def _call(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except (_oim.OimError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError('%s: %s' % (function.__name__, exc)) from exc


def oim_mapping(files, roles, keep_oim_names=False, operator=None):
    """What each OIM image becomes, and the inventory data (see _oim.mapping)."""
    return _call(_oim.mapping, files, roles, keep_oim_names=bool(keep_oim_names), operator=operator or {})


def oim_to_fetch(images, mapped, owners, oim_tag=_oim.OIM_TAG, rewrites=None):
    """The versions to download to prove OIM's images (see _oim.to_fetch)."""
    return _call(_oim.to_fetch, images, mapped, _call(_managed.check_owners, owners), oim_tag, rewrites or {})


def oim_proofs(mapped, fetched=None, discovered=None):
    """The mapped images with the digests that vouch for each version (see _oim.with_proofs)."""
    return _call(_oim.with_proofs, mapped, fetched or [], discovered or [])


class FilterModule:
    def filters(self):
        return {'oim_mapping': oim_mapping, 'oim_to_fetch': oim_to_fetch, 'oim_proofs': oim_proofs}
