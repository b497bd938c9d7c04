# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The daily sync's queue: one job per release of a cloud, every setting resolved.

Pure: the distribution data and the cloud's ``image_sync_*`` knobs (without the prefix) in,
the jobs release_status_info and roles/image_sync/tasks/release.yml consume out. The action
plugin ``release_jobs`` reads both from the play's variables.
"""

from __future__ import annotations

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.cloudimages.openstack.plugins.module_utils.boot import _boot_test
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH

# The data every distribution role carries, as <distribution>_<option>: one spec for all of them.
DISTRIBUTION_SPEC = {
    'releases': {'type': 'list', 'elements': 'dict', 'required': True},
    'enabled': {'type': 'list', 'elements': 'str', 'default': []},
    'properties': {'type': 'dict', 'default': {}},
    'signing_keys': {'type': 'dict', 'default': {}},
    'allow_unsigned': {'type': 'bool', 'default': False},
    # The vendor's source class (module_utils/upstream/sources); default: the distribution's name.
    'source': {'type': 'str'},
    # Settings every release of the distribution starts from (e.g. Windows' min_ram, boot_marker).
    'release_defaults': {'type': 'dict', 'default': {}},
}

# The image_sync_* knobs the jobs carry.
KNOBS = (
    'provider', 'architectures', 'arch_name', 'arch_properties', 'boot_architectures',
    'url_rewrites', 'cache_dir', 'keyring', 'trusted_fingerprints',
    'min_ram', 'boot_test', 'boot_flavor', 'boot_marker', 'store_raw', 'naming', 'base_name',
    'name_templates', 'previous_visibility', 'keep', 'min_age_days', 'demoted_grace_hours',
    'delete_unused', 'usage_services', 'transfer_deadline', 'retired_state', 'properties',
    'extra_properties', 'release_properties', 'accept_withdrawal', 'today', 'run_started')

_DATE = re.compile(r'^\d{4}-\d{2}-\d{2}$')


class NotBuilt(Exception):
    """A release built for none of this cloud's architectures: left out with a warning, not failed."""


class JobError(ValueError):
    """Distribution data that cannot make a job."""


def combine(base, over):
    """Ansible's ``combine(recursive=true)``: dicts merge key by key, anything else is replaced."""
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = combine(merged[key], value)
        merged[key] = value
    return merged


def selected(distribution, run_tags, skip_tags):
    """Whether --tags/--skip-tags keep a distribution (tagged with its role's short name)."""
    tag = distribution.split('.')[-1]
    if tag in skip_tags or 'all' in skip_tags:
        return False
    return 'all' in run_tags or tag in run_tags


def release_data(family, data):
    """The releases of one distribution's data (see DISTRIBUTION_SPEC), each merged over its defaults."""
    defaults = combine(data.get('release_defaults') or {}, {
        'source': data.get('source') or family,
        'allow_unsigned': boolean(data.get('allow_unsigned') or False),
        'properties': data.get('properties') or {},
        'signing_keys': data.get('signing_keys') or {},
    })
    enabled = [str(name) for name in data.get('enabled') or []]
    releases = []
    for spec in data['releases']:
        for field in ('release', 'name'):
            if not spec.get(field):
                raise JobError('%s_releases: an entry has no %s: %r' % (family, field, spec))
        if enabled and str(spec['release']) not in enabled:
            continue
        releases.append((spec, combine(defaults, spec)))
    return releases


def architectures(release, knobs):
    """The architectures of a release: its own (``architectures``, or one ``arch``), else the cloud's."""
    chosen = release.get('architectures') or ([release['arch']] if release.get('arch') else None)
    # What a provider's own pipeline builds (options.architectures, e.g. Windows) narrows the cloud's
    # list: an x86_64-only build is no daily failure in a two-architecture cloud. A release that asks
    # for more itself is refused by discovery, naming both.
    built = (release.get('options') or {}).get('architectures')
    if not chosen:
        chosen = [arch for arch in knobs['architectures'] if not built or arch in built]
        if built and not chosen:
            raise NotBuilt('%s is built for %s only, none of this cloud\'s architectures (%s):'
                           ' left out' % (release['name'], ', '.join(built), ', '.join(knobs['architectures'])))
    chosen = [str(arch) for arch in chosen]
    if not chosen or len(set(chosen)) != len(chosen):
        raise JobError('%s: architectures must be distinct and at least one, not %r' % (release['name'], chosen))
    if len(chosen) > 1 and '{arch}' not in knobs['arch_name']:  # two architectures would share one name
        raise JobError('image_sync_arch_name must hold {arch} for %s of %s, not %r'
                       % (release['name'], ', '.join(chosen), knobs['arch_name']))
    return chosen


def base_name(spec, knobs, arch=DEFAULT_ARCH):
    """The release's name before the naming profile's suffix: display or SCS standard name, and
    for another architecture than x86_64 the ``arch_name`` template over it (``{name} ({arch})``)."""
    base = knobs['base_name'] or ('scs' if knobs['naming'] == 'scs' else 'display')
    name = spec.get('scs_name') or spec['name'] if base == 'scs' else spec['name']
    if arch == DEFAULT_ARCH:
        return name
    # Not str.format: a stream's name keeps its own {release}.
    return knobs['arch_name'].replace('{name}', name).replace('{arch}', arch)


def retired(spec, today):
    """Retired by the data (retired: true) or past its end of support."""
    end = str(spec.get('end_of_support') or 'none')
    return boolean(spec.get('retired') or False) or bool(_DATE.match(end)) and end < today


def discovery(release, arch):
    """upstream_release's options that the data decides (``release`` merged over its defaults)."""
    return {
        'source': release['source'],
        'release': release['release'],
        'arch': arch,
        'options': release.get('options') or {},
        'allow_unsigned': boolean(release.get('allow_unsigned') or False),
        'signing_keys': release.get('signing_keys') or {},
    }


def build(family, spec, release, knobs, describe, arch=DEFAULT_ARCH):
    """The job of one release and architecture (``release`` merged over the distribution's defaults).

    ``describe(release, boot_test, arch)`` words the image_description (plugin_utils/_sync_report).
    """
    key = _managed.release_key(family, str(release['release']), arch)
    wanted = boolean(release.get('boot_test', knobs['boot_test']))
    boot_test = wanted and (not knobs['boot_architectures'] or arch in knobs['boot_architectures'])
    # The operator's acceptance of one vendor withdrawal, for discovery and rotation alike.
    withdrawal = (knobs.get('accept_withdrawal') or {}).get(key)
    common = {
        'architecture': arch,
        'os_distro': spec.get('os_distro'),
        'os_version': spec.get('os_version'),
        'provided_until': spec.get('end_of_support') or 'none',
        'image_description': spec['description'] if 'description' in spec else describe(release, wanted, arch),
    }
    properties = dict(knobs['properties'])
    # What Nova needs to boot the architecture (_boot_test), unless this cloud says otherwise.
    nova = knobs['arch_properties'].get(arch) or _boot_test.arch_properties(arch)
    for layer in (nova, common, knobs['extra_properties'],
                  release.get('properties') or {}, knobs['release_properties'].get(key) or {}):
        properties.update(layer)
    return {
        'min_ram': int(release.get('min_ram', knobs['min_ram'])),
        # Words the retirement reason; a stream release (current) has its dates per release in stream.
        'end_of_support': spec.get('end_of_support'),
        'retired_reason': 'retired: true in the distribution data' if boolean(spec.get('retired') or False) else '',
        'stream': {'end_of_support': spec.get('end_of_support_by_release') or {}},
        # A floor for min_disk (GiB) over what the image's virtual size needs, e.g. Windows' 32.
        'min_disk': int(release.get('min_disk') or 0),
        'boot_test': boot_test,
        'boot_flavor': release.get('boot_flavor') or knobs['boot_flavor'],
        # An empty boot_marker (a release's own, e.g. Windows') means ACTIVE alone.
        'boot_marker': release.get('boot_marker', knobs['boot_marker']),
        'discover': dict(
            discovery(release, arch),
            url_rewrites=knobs['url_rewrites'],
            keyring=release.get('keyring') or knobs['keyring'] or None,
            trusted_fingerprints=release.get('trusted_fingerprints') or knobs['trusted_fingerprints'] or None,
            cache_dir=knobs['cache_dir'],
            transfer_deadline=knobs['transfer_deadline'],
            checked_since=knobs['run_started'],
            accept_withdrawal=withdrawal,
        ),
        # image_upload's and image_rotate's policy as is: the properties are set at upload and
        # reconciled on every managed image of the release when the configuration changes.
        'rotate': {
            'provider': knobs['provider'],
            'release_key': key,
            'name': base_name(spec, knobs, arch),
            'naming': knobs['naming'],
            'name_templates': knobs['name_templates'],
            'previous_visibility': knobs['previous_visibility'],
            'keep': knobs['keep'],
            'min_age_days': knobs['min_age_days'],
            'demoted_grace_hours': knobs['demoted_grace_hours'],
            'delete_unused': knobs['delete_unused'],
            'usage_services': knobs['usage_services'],
            'retired': retired(spec, knobs['today']),
            'retired_state': knobs['retired_state'],
            'accept_withdrawal': withdrawal,
            'properties': properties,
        },
    }


def queue(distributions, knobs, describe, warn):
    """Every job of a cloud, one per release and architecture: ``distributions`` maps each family to
    its data, in the cloud's order. A release built for none of the cloud's architectures (an
    x86_64-only Windows in an aarch64 cloud) is left out and ``warn`` is told why."""
    jobs = []
    for family, data in distributions.items():
        for spec, release in release_data(family, data):
            try:
                arches = architectures(release, knobs)
            except NotBuilt as exc:
                warn(str(exc))
                continue
            jobs.extend(build(family, spec, release, knobs, describe, arch) for arch in arches)
    return jobs
