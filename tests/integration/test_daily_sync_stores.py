"""A store added to a multi-store Glance: the next daily sync copies the current image there.

RegionOne's Glance has two file stores, local (its default) and local2, as a cloud with a Ceph
cluster per availability zone has. The cloud first publishes into local only; then the operator
asks for every store (a new availability zone). The Latest image keeps its id (servers and
volumes refer to it) and Glance's copy-image puts it into local2; check mode names the copy first.
"""

from __future__ import annotations

import uuid

from playbook_runner import run_playbook
from sync_inventory import write_inventory
from sync_support import delete_managed, managed_images, summary


def test_a_store_added_later_gets_the_current_image_with_its_id(cloud, upstream, server, tmp_path):
    provider = 'stores' + uuid.uuid4().hex[:8]
    conn = cloud.connect('admin', 'RegionOne')

    def sync(check=False, cache='cache', **region_one):
        inventory = write_inventory(tmp_path / 'inventory.json', upstream.mirror, server, provider, tmp_path / cache,
                                    upstream.mirror.today, boot_test=False, region_one=region_one)
        result = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=str(inventory), check=check,
                              args=['--limit', 'region_one', '--tags', 'cirros'])
        assert result.rc == 0, result.output
        return result, managed_images(conn, provider)

    try:
        _first, images = sync(image_sync_stores=['local'])
        (latest,) = images
        assert (latest.name, latest.properties['stores']) == ('CirrOS 0.6 - Latest', 'local')

        every_store = dict(image_sync_method='glance-direct', image_sync_all_stores=True)
        copy = 'copy "CirrOS 0.6 - Latest" into the store(s) local2'
        # The plan, with the file cached (image_upload checks it) and without (another controller).
        for cache in ('cache', 'empty-cache'):
            plan, images = sync(check=True, cache=cache, **every_store)
            (synced,) = summary(plan, 'region_one')['synced']
            assert synced['changes'] == [copy], (cache, synced)
            assert [(image.id, image.properties['stores']) for image in images] == [(latest.id, 'local')]

        result, images = sync(**every_store)
        (synced,) = summary(result, 'region_one')['synced']
        assert synced['changes'] == [copy] and not synced['uploaded'], synced
        (copied,) = images
        assert (copied.id, copied.status, copied.visibility, copied.name) == (latest.id, 'active', 'public', latest.name)
        assert sorted(copied.properties['stores'].split(',')) == ['local', 'local2']
        assert copied.checksum == latest.checksum and not copied.properties.get('os_glance_failed_import')

        again, _images = sync(**every_store)
        assert again.changed() == 0 and summary(again, 'region_one')['unchanged'] == ['CirrOS 0.6'], again.output
    finally:
        delete_managed(cloud, provider)
