"""A replayed old upstream index never demotes the current Latest (issue 17, item 3).

Day 1 and day 2 are synced from the local mirror; then a snapshot of the day-1 mirror is served
instead (an attacker's mirror, or the network, replaying old but validly signed metadata).
With the controller's discovery memory the release fails with a clear message; on a fresh
controller (empty cache) release_status_info sees that the build is older than Glance's Latest
and settles the release with a warning: nothing is downloaded, uploaded or promoted.
Then the vendor is taken at its word (issue 22): it withdrew day 2, and the operator accepts exactly
that step back (image_sync_accept_withdrawal); day 1 becomes Latest through the normal path.
"""

from __future__ import annotations

import json

NAME = 'Ubuntu 24.04 Noble Numbat'


def test_replayed_day1_index_never_demotes_latest(daily_sync, tmp_path):
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    daily = daily_sync('rollback', mirror='copy', limit='region_two', tags='ubuntu')
    mirror = daily.mirror
    day1 = mirror.copy(str(tmp_path / 'day1'))

    def sync(server, source, cache, **overrides):
        result = daily(mirror=source, server=server, cache=cache, **overrides)
        # Not Glance's request log (other tests may share the stack): did the whole path (release.yml) run?
        entered = 'Fetch, verify and inspect | %s' % NAME in result.output
        return result, entered, {image.id: image for image in daily.images('RegionTwo')}

    def latest(images):
        (found,) = [image for image in images.values() if image.name == NAME + ' - Latest']
        return found

    conn, server = daily.conn('RegionTwo'), daily.server
    try:
        first, _entered, images = sync(server, mirror, 'cache')
        assert first.rc == 0, first.output
        assert latest(images).properties['cloudimages_build'] == day1.releases['ubuntu', '24.04'].version
        mirror.advance(only=[('ubuntu', '24.04')])
        second, _entered, images = sync(server, mirror, 'cache')
        assert second.rc == 0, second.output
        current = latest(images)
        assert current.properties['cloudimages_build'] == mirror.releases['ubuntu', '24.04'].version
        # Day 1's build aged out (as retention does): nothing in Glance holds the replayed build.
        for image in images.values():
            if image.id != current.id:
                conn.image.delete_image(image.id)
        images = {current.id: current}
        before = {current.id: (current.name, current.visibility)}
        with MirrorServer(day1) as replayed:
            # The controller remembers day 2: discovery refuses the rollback, the release fails.
            refused, entered, images = sync(replayed, day1, 'cache')
            assert refused.rc != 0, refused.output
            assert 'upstream index went back from %s' % current.properties['cloudimages_build'] in refused.output
            assert 'refusing a rollback' in refused.output and 'Upload as a private candidate' not in refused.output
            assert {image.id: (image.name, image.visibility) for image in images.values()} == before
            # A fresh controller has no memory: Glance's Latest is the guard. Settled with a warning.
            fresh, entered, images = sync(replayed, day1, 'fresh-cache')
            assert fresh.rc == 0, fresh.output
            assert not entered and fresh.changed() == 0, fresh.output
            assert 'is older than %s' % current.properties['cloudimages_build'] in fresh.output
            assert 'refusing a rollback, the latest stays' in fresh.output
            assert {image.id: (image.name, image.visibility) for image in images.values()} == before
            assert latest(images).id == current.id
            # Rotation work pending (Latest renamed by hand): the whole path runs, uploads the
            # replayed build, and image_rotate keeps it private and the current Latest in place.
            conn.image.update_image(current.id, name='renamed by hand')
            rotated, entered, images = sync(replayed, day1, 'fresh-cache')
            assert rotated.rc == 0, rotated.output
            assert entered and 'not promoted, the upstream index went back (refusing a rollback)' in rotated.output
            (candidate,) = [image for image in images.values() if image.id != current.id]
            assert candidate.visibility == 'private'
            assert candidate.properties['cloudimages_build'] == day1.releases['ubuntu', '24.04'].version
            assert latest(images).id == current.id and latest(images).visibility == 'public'
            # And the next day does not upload it again: settled, with the warning.
            again, entered, images = sync(replayed, day1, 'fresh-cache')
            assert again.rc == 0 and not entered and again.changed() == 0, again.output
            assert 'refusing a rollback, the latest stays' in again.output and latest(images).id == current.id
            # The vendor really withdrew day 2: the operator accepts that step back, on the controller
            # that remembers day 2. Discovery takes day 1, its candidate is checked and promoted, and
            # day 2 becomes a previous version (rotation's rules: nothing in use is deleted).
            old, new = day1.releases['ubuntu', '24.04'].version, current.properties['cloudimages_build']
            accept = {'image_sync_accept_withdrawal': {'ubuntu-24.04': {'withdrawn': new, 'back_to': old}}}
            accepted, entered, images = sync(replayed, day1, 'cache', extra=accept)
            assert accepted.rc == 0 and entered, accepted.output
            assert latest(images).id == candidate.id and latest(images).visibility == 'public'
            assert images[current.id].visibility == 'community' and images[current.id].name != NAME + ' - Latest'
            assert '%s: back from %s to %s' % (NAME, new, old) in accepted.output  # the morning view
            memory = daily.workdir / 'cache' / 'state' / 'newest' / 'ubuntu-24.04-x86_64.json'
            assert json.loads(memory.read_text())['version'] == new  # so no other step back is accepted
            settled, entered, images = sync(replayed, day1, 'cache', extra=accept)
            assert settled.rc == 0 and not entered and settled.changed() == 0, settled.output
            assert latest(images).id == candidate.id and 'refusing a rollback' not in settled.output
    finally:
        day1.close()
