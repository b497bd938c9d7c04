"""A store added to a multi-store Glance: the next daily sync copies the current image there.

RegionOne's Glance has two file stores, local (its default) and local2, as a cloud with a Ceph
cluster per availability zone has. The cloud first publishes into local only; then the operator
asks for every store (a new availability zone). The Latest image keeps its id (servers and
volumes refer to it) and Glance's copy-image puts it into local2; check mode names the copy first.
"""

from __future__ import annotations

from sync_support import summary


def test_a_store_added_later_gets_the_current_image_with_its_id(daily_sync):
    sync = daily_sync('stores', limit='region_one', tags='cirros')
    sync.ok(region_one={'image_sync_stores': ['local']})
    (latest,) = sync.images()
    assert (latest.name, latest.properties['stores']) == ('CirrOS 0.6 - Latest', 'local')

    every_store = dict(image_sync_method='glance-direct', image_sync_all_stores=True)
    copy = 'copy "CirrOS 0.6 - Latest" into the store(s) local2'
    # The plan, with the file cached (image_upload checks it) and without (another controller).
    for cache in ('cache', 'empty-cache'):
        plan = sync.ok(check=True, cache=cache, region_one=every_store)
        (synced,) = summary(plan, 'region_one')['synced']
        assert synced['changes'] == [copy], (cache, synced)
        assert [(image.id, image.properties['stores']) for image in sync.images()] == [(latest.id, 'local')]

    result = sync.ok(region_one=every_store)
    (synced,) = summary(result, 'region_one')['synced']
    assert synced['changes'] == [copy] and not synced['uploaded'], synced
    (copied,) = sync.images()
    assert (copied.id, copied.status, copied.visibility, copied.name) == (latest.id, 'active', 'public', latest.name)
    assert sorted(copied.properties['stores'].split(',')) == ['local', 'local2']
    assert copied.checksum == latest.checksum and not copied.properties.get('os_glance_failed_import')

    again = sync.ok(region_one=every_store)
    assert again.changed() == 0 and summary(again, 'region_one')['unchanged'] == ['CirrOS 0.6'], again.output
