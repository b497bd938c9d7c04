# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""SCS-0102 image metadata: check the values we are about to write, before anything is created.

The vocabularies are those the SCS checker (``Tests/iaas/scs_0102_image_metadata``) enforces,
which are narrower than Glance's (``risc-v`` and ``hyper-v``, not ``riscv64`` / ``hyperv``).
"""

from __future__ import annotations

import datetime
import re
import urllib.parse

GIB = 1024 ** 3

REPLACE_FREQUENCIES = ('yearly', 'quarterly', 'monthly', 'weekly', 'daily', 'critical_bug', 'never')
OS_PURPOSES = ('generic', 'minimal', 'k8snode', 'gpu', 'network', 'custom', 'oldgeneric')
ARCHITECTURES = ('x86_64', 'aarch64', 'risc-v')
HYPERVISOR_TYPES = ('qemu', 'kvm', 'xen', 'hyper-v', 'esxi')
DISK_BUSES = ('virtio', 'scsi')
RNG_MODELS = ('virtio',)
# SCS-0102 v2 mandatory properties (min_disk and min_ram are Glance attributes, checked apart).
MANDATORY = ('architecture', 'os_distro', 'os_version', 'os_purpose', 'hw_disk_bus', 'replace_frequency',
             'provided_until', 'uuid_validity', 'image_source', 'image_description', 'image_build_date',
             'image_original_user')
BUILD_DATE_FORMATS = ('%Y-%m-%dT%H:%M:%SZ', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d')
_BOOLEANS = {'true': True, 'yes': True, '1': True, 'false': False, 'no': False, '0': False}
_OS_DISTRO = re.compile(r'^[a-z0-9][a-z0-9._-]*$')
_LAST_N = re.compile(r'^last-[1-9][0-9]*$')


def _date(value):
    try:
        return datetime.datetime.strptime(value, '%Y-%m-%d').date()
    except ValueError:
        return None


def build_datetime(value):
    """The image_build_date as a naive UTC datetime, or None when no SCS format matches."""
    for fmt in BUILD_DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _one_of(key, value, allowed):
    if value not in allowed:
        return '%s must be one of %s, not %r' % (key, ', '.join(allowed), value)
    return None


def _check_build_date(value, now):
    when = build_datetime(value)
    if when is None:
        return ("image_build_date must be 'YYYY-MM-DD', 'YYYY-MM-DD hh:mm[:ss]' or 'YYYY-MM-DDThh:mm:ssZ' (UTC), "
                "not %r" % value)
    # Vendors stamp their own time zone's date: up to a day ahead of UTC is not the future.
    if when > now + datetime.timedelta(days=1):
        return 'image_build_date %s is more than a day in the future (now %s UTC)' % (
            value, now.strftime('%Y-%m-%d %H:%M'))
    return None


def _check_provided_until(value, now):
    if value in ('none', 'notice') or _date(value):
        return None
    return "provided_until must be 'YYYY-MM-DD', 'none' or 'notice', not %r" % value


def _check_uuid_validity(value, now):
    if value in ('none', 'notice', 'forever') or _LAST_N.match(value) or _date(value):
        return None
    return "uuid_validity must be 'none', 'notice', 'forever', 'last-N' (N >= 1) or 'YYYY-MM-DD', not %r" % value


def _check_source(value, now):
    if value == 'private':
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme in ('http', 'https', 'ftp', 'ftps') and parts.netloc:
        return None
    return "image_source must be an http(s)/ftp(s) URL of the upstream image or 'private', not %r" % value


def _check_os_distro(value, now):
    if _OS_DISTRO.match(value):
        return None
    return 'os_distro must be a lowercase libosinfo-style name such as ubuntu or debian, not %r' % value


def _non_empty(key):
    def check(value, now):
        return None if value.strip() else '%s must not be empty' % key
    return check


def _date_only(key):
    def check(value, now):
        return None if _date(value) else "%s must be 'YYYY-MM-DD', not %r" % (key, value)
    return check


def _digits(key):
    def check(value, now):
        return None if value.isdigit() else '%s must be a whole number of hours, not %r' % (key, value)
    return check


def _choice(key, allowed):
    def check(value, now):
        return _one_of(key, value, allowed)
    return check


def _boolean(key):
    def check(value, now):
        return None if value.lower() in _BOOLEANS else '%s must be true or false, not %r' % (key, value)
    return check


CHECKS = {
    'architecture': _choice('architecture', ARCHITECTURES),
    'os_distro': _check_os_distro,
    'os_version': _non_empty('os_version'),
    'os_purpose': _choice('os_purpose', OS_PURPOSES),
    'hw_disk_bus': _choice('hw_disk_bus', DISK_BUSES),
    'hypervisor_type': _choice('hypervisor_type', HYPERVISOR_TYPES),
    'hw_rng_model': _choice('hw_rng_model', RNG_MODELS),
    'replace_frequency': _choice('replace_frequency', REPLACE_FREQUENCIES),
    'provided_until': _check_provided_until,
    'uuid_validity': _check_uuid_validity,
    'image_source': _check_source,
    'image_description': _non_empty('image_description'),
    'image_build_date': _check_build_date,
    'image_original_user': _non_empty('image_original_user'),
    'hotfix_hours': _digits('hotfix_hours'),
    'maintained_until': _date_only('maintained_until'),
    'license_included': _boolean('license_included'),
    'license_required': _boolean('license_required'),
    'subscription_included': _boolean('subscription_included'),
    'subscription_required': _boolean('subscription_required'),
}


def validate(properties, min_disk=None, min_ram=None, size=None, mandatory=True, now=None):
    """Return the list of SCS-0102 problems of the given metadata (empty when it conforms).

    ``properties`` hold string values as Glance stores them; ``size`` is the number of bytes
    that will be stored, when known (SCS wants ``min_disk`` GiB to hold it).
    ``mandatory`` also reports missing mandatory properties; without it only given values are checked.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    errors = []
    if mandatory:
        missing = [key for key in MANDATORY if key not in properties]
        if missing:
            errors.append('missing SCS-0102 mandatory properties: %s' % ', '.join(missing))
        if not min_disk:
            errors.append('min_disk must be set (GiB, at least 1) for SCS-0102')
        if not min_ram:
            errors.append('min_ram must be set (MiB) for SCS-0102')
    for key, check in CHECKS.items():
        if key in properties:
            problem = check(str(properties[key]), now)
            if problem:
                errors.append(problem)
    if properties.get('hw_disk_bus') == 'scsi' and 'hw_scsi_model' not in properties:
        errors.append('hw_disk_bus=scsi needs hw_scsi_model (virtio-scsi) too')
    licenses = ('license_included', 'license_required')
    if all(_BOOLEANS.get(str(properties.get(key, 'false')).lower()) for key in licenses):
        errors.append('license_included and license_required must not both be true')
    if min_disk and size is not None and min_disk * GIB < size:
        errors.append('min_disk %d GiB is smaller than the %d bytes stored; use at least %d'
                      % (min_disk, size, -(-size // GIB)))
    return errors
