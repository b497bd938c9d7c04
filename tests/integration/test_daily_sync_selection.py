"""daily_sync picks clouds with --limit and distributions with --tags (check mode, real local cloud)."""

from __future__ import annotations

import re
import uuid

from playbook_runner import run_playbook
from sync_inventory import write_inventory
from sync_support import summary as summary_of


def test_limit_and_tags_select_what_is_synced(cloud, upstream, server, tmp_path):
    inventory = write_inventory(tmp_path / 'inventory.json', upstream.mirror, server, 'pick' + uuid.uuid4().hex[:8],
                                tmp_path / 'cache', upstream.mirror.today, boot_test=False)
    result = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=str(inventory), check=True,
                          args=['--limit', 'region_two', '--tags', 'cirros,debian'])
    assert result.rc == 0, result.output
    assert set(result.recap) == {'region_two'}
    summary = result.output[result.output.index('TASK [Summary of this cloud]'):]
    synced = re.findall(r'"release": "([^"]+)"', summary)
    # Debian 11 is past its end of support and has no image: nothing to do, listed as retired with
    # the reason, not as unchanged. The others would be uploaded.
    assert sorted(synced) == ['CirrOS 0.6', 'Debian 12 Bookworm', 'Debian 13 Trixie'], summary
    read = summary_of(result, 'region_two')
    assert read['unchanged'] == [], summary
    assert read['retired'] == ['Debian 11 Bullseye: end_of_support 2026-08-31 (distribution data) has passed'], summary
    assert 'Would download, verify and upload' in result.output and 'Ubuntu' not in summary
