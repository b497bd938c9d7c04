"""An inventory for the daily sync against the local cloud and the local upstream mirror.

Shared by the demo, the daily-sync integration test and benchmarks/daily_sync.py: two clouds
(the local cloud's two Glance regions) with different catalogs and policies, every upstream
URL rewritten to the mirror, and the mirror's test key trusted instead of the vendors' keys.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ALL = ['ubuntu', 'ubuntu_minimal', 'debian', 'rocky', 'almalinux', 'fedora', 'fedora_coreos', 'flatcar', 'cirros', 'windows']
# RegionTwo stores raw (like a Ceph-backed Glance) and has no Nova of its own: no boot test.
REGION_TWO = ['ubuntu', 'debian', 'cirros', 'windows']


def write_inventory(path, mirror, server, provider, cache_dir, today, boot_test=True, region_one=None, region_two=None, extra=None):
    """Write an inventory (JSON is YAML) with hosts region_one and region_two; return its path."""
    path = Path(path)
    common = {
        'ansible_connection': 'local',
        'ansible_python_interpreter': sys.executable,
        'cloud': 'admin',
        'image_sync_provider': provider,
        **mirror.sync_settings(server.url),  # also printed by `python -m upstream_mirror serve`
        'image_sync_cache_dir': str(cache_dir),
        'image_sync_today': today.isoformat(),
        'image_sync_boot_flavor': 'm1.tiny',  # 512 MB: image_sync_min_ram's default (m1.boot's 256 is refused)
        'image_sync_boot_network': 'none',
        # Windows needs 2 GB of RAM (m1.small); the local cloud's largest flavor has a 20 GB disk.
        'windows_boot_flavor': 'm1.small',
        'windows_min_disk': 20,
        # Two Windows properties the local hypervisor cannot honour, so the stand-ins start on SeaBIOS
        # without them: UEFI (this Nova sets <loader secure=...> next to libvirt's firmware
        # autoselection, which Debian 12's libvirt 9.0 refuses) and os_type=windows (its Hyper-V
        # enlightenments: "kernel doesn't allow setting HyperV VP_INDEX" under TCG).
        'windows_properties': {'hw_firmware_type': None, 'os_type': None},
    }
    if mirror.state.get('bootable'):
        # The stack boots for real: image_sync's own marker (login:), and the mirror's images print
        # their build, so the build that booted must be the one uploaded.
        common['image_sync_boot_check_build'] = True
    else:
        # Opt-in fake driver (CLOUDIMAGES_COMPUTE=fake): a fixed console, and it is hypervisor "fake",
        # so ACTIVE alone and no hypervisor_type=qemu (the scheduler would find no host).
        common.update(image_sync_boot_marker='', image_sync_extra_properties={'hypervisor_type': None})
    common.update(extra or {})
    one = dict({'region_name': 'RegionOne', 'cloudimages_distributions': ALL, 'image_sync_boot_test': boot_test}, **(region_one or {}))
    two = dict({'region_name': 'RegionTwo', 'cloudimages_distributions': REGION_TWO, 'image_sync_boot_test': False,
                'image_sync_store_raw': True, 'ubuntu_enabled': ['24.04'], 'image_sync_keep': 1}, **(region_two or {}))
    inventory = {'clouds': {'hosts': {'region_one': one, 'region_two': two}, 'vars': common}}
    path.write_text(json.dumps(inventory, indent=2), encoding='utf-8')
    return path
