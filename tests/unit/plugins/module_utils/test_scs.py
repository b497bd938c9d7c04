"""SCS-0102 metadata validation (module_utils/glance/_scs.py)."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, strategies as st

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _scs

NOW = datetime.datetime(2026, 11, 23, 12, 0, 0)
GOOD = {
    'architecture': 'x86_64', 'os_distro': 'ubuntu', 'os_version': '24.04', 'os_purpose': 'generic',
    'hw_disk_bus': 'scsi', 'hw_scsi_model': 'virtio-scsi', 'hw_rng_model': 'virtio', 'hypervisor_type': 'qemu',
    'replace_frequency': 'quarterly', 'provided_until': 'none', 'uuid_validity': 'last-3',
    'image_source': 'https://cloud-images.ubuntu.com/releases/noble/release-20261116/ubuntu-24.04-server-cloudimg-amd64.img',
    'image_description': 'https://ubuntu.com/server', 'image_build_date': '2026-11-16', 'image_original_user': 'ubuntu',
}


def check(changes=None, drop=(), **kwargs):
    props = {k: v for k, v in dict(GOOD, **(changes or {})).items() if k not in drop}
    kwargs.setdefault('min_disk', 4)
    kwargs.setdefault('min_ram', 512)
    return _scs.validate(props, now=NOW, **kwargs)


def test_conforming_metadata_has_no_problems():
    assert check() == []


@pytest.mark.parametrize('key, value, message', [
    ('architecture', 'amd64', 'architecture must be one of x86_64, aarch64, risc-v'),
    ('architecture', 'riscv64', "not 'riscv64'"),
    ('os_distro', 'Ubuntu', 'os_distro must be a lowercase'),
    ('os_version', ' ', 'os_version must not be empty'),
    ('os_purpose', 'server', 'os_purpose must be one of'),
    ('hw_disk_bus', 'ide', 'hw_disk_bus must be one of virtio, scsi'),
    ('hypervisor_type', 'hyperv', 'hypervisor_type must be one of qemu, kvm, xen, hyper-v, esxi'),
    ('hw_rng_model', 'random', 'hw_rng_model must be one of virtio'),
    ('replace_frequency', 'fortnightly', 'replace_frequency must be one of yearly'),
    ('provided_until', '2026-13-01', "provided_until must be 'YYYY-MM-DD', 'none' or 'notice'"),
    ('uuid_validity', 'last-0', 'uuid_validity must be'),
    ('uuid_validity', 'last-x', 'uuid_validity must be'),
    ('uuid_validity', 'always', 'uuid_validity must be'),
    ('image_source', 'cloud-images.ubuntu.com/x.img', 'image_source must be an http(s)/ftp(s) URL'),
    ('image_source', 'file:///tmp/x.img', 'image_source must be'),
    ('image_description', '', 'image_description must not be empty'),
    ('image_build_date', '16.11.2026', 'image_build_date must be'),
    ('image_build_date', '2026-11-24 12:01', 'image_build_date 2026-11-24 12:01 is more than a day in the future'),
    ('image_original_user', '', 'image_original_user must not be empty'),
    ('hotfix_hours', '2h', 'hotfix_hours must be a whole number'),
    ('maintained_until', 'soon', 'maintained_until must be'),
    ('license_included', 'maybe', 'license_included must be true or false'),
])
def test_bad_values_are_named(key, value, message):
    problems = check({key: value})
    assert len(problems) == 1 and message in problems[0], problems


@pytest.mark.parametrize('key, value', [
    ('uuid_validity', 'none'), ('uuid_validity', 'notice'), ('uuid_validity', 'forever'), ('uuid_validity', 'last-12'),
    ('uuid_validity', '2027-06-30'), ('provided_until', 'notice'), ('provided_until', '2029-04-30'),
    ('image_build_date', '2026-11-16 08:30'), ('image_build_date', '2026-11-16 08:30:59'),
    ('image_build_date', '2026-11-16T08:30:59Z'), ('image_source', 'private'), ('image_source', 'ftps://x.example/y'),
    ('architecture', 'risc-v'), ('hypervisor_type', 'hyper-v'), ('hw_disk_bus', 'virtio'),
])
def test_accepted_values(key, value):
    changes = {key: value}
    if key == 'hw_disk_bus':
        changes['hw_scsi_model'] = 'virtio-scsi'
    assert check(changes) == []


def test_a_build_dated_up_to_a_day_ahead_of_utc_is_not_the_future():
    """Vendors stamp their own time zone's date (NOW is 2026-11-23 12:00 UTC)."""
    assert check({'image_build_date': '2026-11-24'}) == []
    assert check({'image_build_date': '2026-11-24 12:00'}) == []
    assert check({'image_build_date': '2026-11-25'})[0].startswith('image_build_date 2026-11-25 is more than a day')


def test_missing_mandatory_properties_are_listed_together():
    problems = check(drop=('os_purpose', 'image_source'), min_disk=None, min_ram=0)
    assert problems == ['missing SCS-0102 mandatory properties: os_purpose, image_source',
                        'min_disk must be set (GiB, at least 1) for SCS-0102', 'min_ram must be set (MiB) for SCS-0102']


def test_without_mandatory_only_given_values_are_checked():
    assert _scs.validate({'os_distro': 'cirros'}, mandatory=False, now=NOW) == []
    assert _scs.validate({'replace_frequency': 'often'}, mandatory=False, now=NOW)[0].startswith('replace_frequency')


def test_scsi_bus_needs_the_scsi_model():
    assert check(drop=('hw_scsi_model',)) == ['hw_disk_bus=scsi needs hw_scsi_model (virtio-scsi) too']


def test_license_included_and_required_exclude_each_other():
    assert check({'license_included': 'true', 'license_required': 'True'}) == [
        'license_included and license_required must not both be true']
    assert check({'license_included': 'true', 'license_required': 'false'}) == []


def test_min_disk_must_hold_the_stored_file():
    assert check(min_disk=1, size=_scs.GIB) == []
    assert check(min_disk=1, size=_scs.GIB + 1) == ['min_disk 1 GiB is smaller than the 1073741825 bytes stored; use at least 2']


@given(st.text(max_size=20))
def test_uuid_validity_grammar(value):
    ok = value in ('none', 'notice', 'forever') or _scs._LAST_N.match(value) is not None or _scs._date(value) is not None
    assert (_scs._check_uuid_validity(value, NOW) is None) == ok


@given(st.integers(min_value=1, max_value=10 ** 6))
def test_last_n_accepted_for_every_positive_n(number):
    assert check({'uuid_validity': 'last-%d' % number}) == []
