"""The daily sync's per-architecture filters (plugins/filter/sync.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudimages.openstack.plugins.filter.sync import arch_properties, sync_description


def test_arch_properties_for_nova():
    assert arch_properties('aarch64') == {'architecture': 'aarch64', 'hw_firmware_type': 'uefi',
                                          'hw_machine_type': 'virt'}
    with pytest.raises(AnsibleFilterError, match='architecture name'):
        arch_properties(None)


def test_sync_description_names_the_architecture_and_whether_it_booted():
    spec = {'name': 'Debian 12 (aarch64)', 'source': 'debian'}
    text = sync_description(spec, True, arch='aarch64', boot_architectures=['x86_64'])
    assert 'not boot-tested in this cloud as aarch64 (this cloud does not boot aarch64 images)' in text
    assert 'as x86_64 before publication' in sync_description(spec, True, boot_architectures=['x86_64'])
