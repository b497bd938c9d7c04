"""The pins are role data: <distribution>_signing_keys reach upstream_release through the queue (check mode)."""

from __future__ import annotations

import re
import uuid

from playbook_runner import run_playbook
from sync_inventory import write_inventory


def test_role_signing_keys_are_the_pins(cloud, upstream, server, tmp_path):
    fingerprint = upstream.mirror.keyring.trusted_fingerprint
    # No trusted_fingerprints override: only the role data pins the mirror's key (the mirror's FCOS stream is 44).
    extra = {'image_sync_trusted_fingerprints': [], 'fedora_coreos_signing_keys': {'44': [fingerprint]},
             'rocky_signing_keys': {'10': [fingerprint]}}
    inventory = write_inventory(tmp_path / 'inventory.json', upstream.mirror, server, 'pins' + uuid.uuid4().hex[:8],
                                tmp_path / 'cache', upstream.mirror.today, boot_test=False, extra=extra)
    result = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=str(inventory), check=True,
                          args=['--limit', 'region_one', '--tags', 'fedora_coreos,rocky'])
    assert result.rc == 0, result.output
    summary = result.output[result.output.index('TASK [Summary of this cloud]'):]
    assert sorted(re.findall(r'"release": "([^"]+)"', summary)) == [
        'Fedora CoreOS stable', 'Rocky Linux 10', 'Rocky Linux 9'], summary

    # No pin for the stream's major: the release fails closed, and says why.
    extra['fedora_coreos_signing_keys'] = {}
    inventory = write_inventory(tmp_path / 'inventory2.json', upstream.mirror, server, 'pins' + uuid.uuid4().hex[:8],
                                tmp_path / 'cache2', upstream.mirror.today, boot_test=False, extra=extra)
    result = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=str(inventory), check=True,
                          args=['--limit', 'region_one', '--tags', 'fedora_coreos'])
    assert 'no pinned signing key for 44' in result.output, result.output
