"""Boot test settings that cannot work stop a cloud before anything is uploaded, with one message
naming the knob (issue 22): an empty flavor (the default), a flavor smaller than image_sync_min_ram
(the local cloud's m1.boot has 256 MB, the default min_ram is 512: Nova would refuse the boot), an
unknown network. Real ansible-playbook, real Keystone, Glance and Nova (RegionOne); no candidate is
created, so none is left behind.
"""

from __future__ import annotations

import uuid

import pytest

from playbook_runner import run_playbook
from sync_inventory import write_inventory
from sync_support import delete_managed, managed_images

pytestmark = pytest.mark.needs_nova

CASES = {
    'empty flavor': ({'image_sync_boot_flavor': ''}, "image_sync_boot_flavor (or a release's boot_flavor): no flavor given"),
    'flavor too small': ({'image_sync_boot_flavor': 'm1.boot'},
                         "image_sync_boot_flavor or image_sync_min_ram (or a release's boot_flavor, min_ram): flavor "
                         "'m1.boot' has 256 MB of RAM, less than min_ram 512 MB (Nova refuses such a boot)"),
    'unknown network': ({'image_sync_boot_network': 'no-such-network'},
                        "image_sync_boot_network: network 'no-such-network' not found"),
}


@pytest.mark.parametrize('case', list(CASES))
def test_bad_boot_setting_stops_the_cloud_before_any_upload(cloud, upstream, server, tmp_path, case):
    region_one, message = CASES[case]
    provider = 'knobs' + uuid.uuid4().hex[:8]
    inventory = write_inventory(tmp_path / 'inventory.json', upstream.mirror, server, provider, tmp_path / 'cache',
                                upstream.mirror.today, region_one=region_one)
    try:
        result = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=str(inventory),
                              args=['--limit', 'region_one', '--tags', 'cirros'])
        assert result.rc != 0
        assert ('Boot test settings of region_one: %s. Nothing was uploaded; fix the setting, or turn boot tests off '
                'with image_sync_boot_test: false.' % message) in result.output, result.output
        assert 'Upload as a private candidate' not in result.output and 'Fetch, verify' not in result.output
        assert managed_images(cloud.connect('admin', 'RegionOne'), provider) == []
    finally:
        delete_managed(cloud, provider)
