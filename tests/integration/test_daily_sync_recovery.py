"""A daily sync that stops between upload and promotion is finished by the next run, without a new upload.

The next run checks the candidate's hashes against the verified file first (issue 17; a candidate
with other bytes is replaced: tests/integration/test_impersonation.py).

The stop is real: the boot test asks Nova to pick a network (auto) for a project that has none,
so Nova refuses the server after the candidate is uploaded (it never tried the image, so the
candidate is kept, private). The next run's status check sees "uploaded but not promoted" and
promotes that very image.
"""

from __future__ import annotations

import pytest


@pytest.mark.needs_nova
def test_candidate_left_by_a_stopped_run_is_promoted_next_time(daily_sync):
    sync = daily_sync('resume', limit='region_one', tags='cirros')
    assert not list(sync.conn('RegionOne').network.networks())  # so Nova has no network to pick

    def created(result):
        """Whether image_upload created an image: its task status (Glance's request log is shared with
        the other tests on the shared stack, so counting its POSTs is not ours alone)."""
        return 'Upload as a private candidate | CirrOS 0.6] ***\nchanged: [region_one]' in result.output

    stopped = sync(region_one={'image_sync_boot_test': True, 'image_sync_boot_network': 'auto'})
    assert stopped.rc != 0 and 'Boot test the candidate | CirrOS 0.6: Nova refused' in stopped.output, stopped.output
    (candidate,) = sync.images('RegionOne')
    assert (candidate.visibility, candidate.status, created(stopped)) == ('private', 'active', True)

    resumed = sync.ok()
    # The candidate's bytes are checked again against the verified file (a cache hit), then it is promoted.
    assert not created(resumed) and 'Fetch, verify and inspect | CirrOS 0.6] ***\nok: [region_one]' in resumed.output
    assert 'Upload as a private candidate | CirrOS 0.6] ***\nok: [region_one]' in resumed.output
    images = sync.images('RegionOne')
    assert [(image.id, image.name, image.visibility) for image in images] == [(candidate.id, 'CirrOS 0.6 - Latest', 'public')]

    again = sync.ok()
    assert again.changed() == 0, again.output
