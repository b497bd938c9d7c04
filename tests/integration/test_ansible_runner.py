"""The daily sync through ansible-runner, as docs/operations.md shows it (and as AWX runs jobs).

A private data directory with the one-line project playbook importing
cloudimages.openstack.daily_sync and an inventory for the local clouds (one distribution each,
to keep it short); the command is the documented one. RegionOne's Glance has two stores, and its
cloud asks for every image in both (image_sync_all_stores with a glance-direct import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sync_inventory import write_inventory
from sync_support import delete_managed, managed_images


def test_documented_ansible_runner_command(cloud, upstream, server, tmp_path):
    private = tmp_path / 'cloudimages'
    (private / 'project').mkdir(parents=True)
    (private / 'inventory').mkdir()
    (private / 'project' / 'daily_sync.yml').write_text('---\n- ansible.builtin.import_playbook: cloudimages.openstack.daily_sync\n')
    provider = 'runner' + uuid.uuid4().hex[:8]
    write_inventory(private / 'inventory' / 'hosts.json', upstream.mirror, server, provider, tmp_path / 'cache', upstream.mirror.today,
                    boot_test=False, region_one={'cloudimages_distributions': ['cirros'], 'image_sync_method': 'glance-direct',
                                                 'image_sync_all_stores': True},
                    region_two={'cloudimages_distributions': ['debian'], 'debian_enabled': ['13']})
    bin_dir = Path(sys.executable).parent  # ansible-runner finds ansible-playbook on PATH, as in an EE
    env = dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH']), **cloud.env())
    try:
        proc = subprocess.run([str(bin_dir / 'ansible-runner'), 'run', str(private), '-p', 'daily_sync.yml', '--inventory',
                               str(private / 'inventory')], env=env, capture_output=True, text=True, timeout=900, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        (artifact,) = (private / 'artifacts').iterdir()
        assert (artifact / 'rc').read_text() == '0'
        stats = {event['event_data'].get('task') for event in map(json.loads, map(Path.read_text, (artifact / 'job_events').glob('*.json')))
                 if event.get('event') == 'runner_on_ok'}
        assert 'What today\'s sync has to do, in every cloud of this play at once' in stats
        for region, name in (('RegionOne', 'CirrOS 0.6 - Latest'), ('RegionTwo', 'Debian 13 Trixie - Latest')):
            images = managed_images(cloud.connect('admin', region), provider)
            assert [image.name for image in images] == [name], region
        (cirros,) = managed_images(cloud.connect('admin', 'RegionOne'), provider)
        assert sorted(cirros.properties['stores'].split(',')) == ['local', 'local2']  # openstacksdk has no attribute for it
    finally:
        delete_managed(cloud, provider)
