"""The collection as users get it: ansible-galaxy build, install from the tarball, run daily_sync from there."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

from playbook_runner import run_playbook
from sync_inventory import write_inventory

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def test_build_install_and_run_daily_sync(cloud, upstream, tmp_path):
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'build', str(ROOT), '--output-path', str(tmp_path)],
                   check=True, capture_output=True, text=True)
    (tarball,) = tmp_path.glob('cloudimages-openstack-*.tar.gz')
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert 'playbooks/daily_sync.yml' in names and 'roles/image_sync/meta/argument_specs.yml' in names
    assert not [name for name in names if name.split('/')[0] in ('tests', 'tools', '.venv', 'build', 'benchmarks')], names

    installed = tmp_path / 'collections'
    # The test session points ANSIBLE_COLLECTIONS_PATH at the working tree; galaxy must not see it.
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'install', str(tarball), '-p', str(installed)],
                   check=True, capture_output=True, text=True, env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed)))
    assert (installed / 'ansible_collections' / 'cloudimages' / 'openstack' / 'MANIFEST.json').is_file()

    provider = 'galaxy' + uuid.uuid4().hex[:8]
    inventory = write_inventory(tmp_path / 'inventory.json', upstream.mirror, upstream.server, provider, tmp_path / 'cache',
                                upstream.mirror.today, boot_test=False,
                                region_one={'cloudimages_distributions': ['cirros']}, region_two={'cloudimages_distributions': []})
    conn = cloud.connect('admin', 'RegionOne')
    try:
        result = run_playbook('cloudimages.openstack.daily_sync', inventory=str(inventory),
                              env=dict(cloud.env(), ANSIBLE_COLLECTIONS_PATH=str(installed)))
        assert result.rc == 0, result.output
        (image,) = conn.image.images(tag=['managed_by_' + provider], visibility='public')
        assert image.name == 'CirrOS 0.6 - Latest'
    finally:
        for visibility in ('public', 'community', 'private'):
            for image in conn.image.images(tag=['managed_by_' + provider], visibility=visibility):
                conn.image.delete_image(image, ignore_missing=True)
