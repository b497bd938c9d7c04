"""A daily sync that stops between upload and promotion is finished by the next run, without a new upload.

The next run checks the candidate's hashes against the verified file first (issue 17; a candidate
with other bytes is replaced: tests/integration/test_impersonation.py).

The stop is real: the boot test asks Nova to pick a network (auto) for a project that has none,
so Nova refuses the server after the candidate is uploaded (it never tried the image, so the
candidate is kept, private). The next run's status check sees "uploaded but not promoted" and
promotes that very image.
"""

from __future__ import annotations

import uuid

from playbook_runner import run_playbook
from sync_inventory import write_inventory
from sync_support import delete_managed, managed_images


def test_candidate_left_by_a_stopped_run_is_promoted_next_time(cloud, upstream, server, tmp_path):
    provider = 'resume' + uuid.uuid4().hex[:8]
    conn = cloud.connect('admin', 'RegionOne')
    assert not list(conn.network.networks())  # so Nova has no network to pick

    def sync(**region_one):
        inventory = write_inventory(tmp_path / 'inventory.json', upstream.mirror, server, provider, tmp_path / 'cache',
                                    upstream.mirror.today, boot_test=False, region_one=region_one)
        result = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=str(inventory),
                              args=['--limit', 'region_one', '--tags', 'cirros'])
        # Whether image_upload created an image: its task status (Glance's request log is shared with the
        # other tests on the shared stack, so counting its POSTs is not ours alone).
        creates = [1] if 'Upload as a private candidate | CirrOS 0.6] ***\nchanged: [region_one]' in result.output else []
        return result, creates, managed_images(conn, provider)

    try:
        stopped, creates, images = sync(image_sync_boot_test=True, image_sync_boot_network='auto')
        assert stopped.rc != 0 and 'Boot test the candidate | CirrOS 0.6: Nova refused' in stopped.output, stopped.output
        (candidate,) = images
        assert (candidate.visibility, candidate.status, len(creates)) == ('private', 'active', 1)

        resumed, creates, images = sync()
        assert resumed.rc == 0, resumed.output
        # The candidate's bytes are checked again against the verified file (a cache hit), then it is promoted.
        assert creates == [] and 'Fetch, verify and inspect | CirrOS 0.6] ***\nok: [region_one]' in resumed.output
        assert 'Upload as a private candidate | CirrOS 0.6] ***\nok: [region_one]' in resumed.output
        assert [(image.id, image.name, image.visibility) for image in images] == [(candidate.id, 'CirrOS 0.6 - Latest', 'public')]

        again = sync()[0]
        assert again.rc == 0 and again.changed() == 0, again.output
    finally:
        delete_managed(cloud, provider)
