"""Concurrent runs of _glance_upload.Uploader under every interleaving hypothesis finds.

Real timing cannot be controlled against a real Glance (tests/integration/test_image_upload.py
covers one race for real), so here several real Uploader objects run in threads against an
in-memory stand-in for Glance's image records, and a scheduler lets exactly one of them make its
next Glance call at a time, in an order hypothesis draws. The clock advances 0-0.5 s per call,
drawn too, so created_at (whole seconds, as in Glance) often ties and ids decide.
"""

from __future__ import annotations

import datetime
import hashlib
import threading

from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _glance_upload as up

EPOCH = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.timezone.utc)
TAG = 'managed_by_race'
IDENTITY = {'cloudimages_release': 'r', 'cloudimages_build': '1', 'cloudimages_digest': 'sha256:' + '0' * 64}
DATA = b'the image bytes'


class World:
    """Glance's image table plus a turnstile: one simulated request at a time, chosen by ``pick``."""

    def __init__(self, pick, ids, tick=lambda: 0.1):
        self.images, self.seconds, self.pick, self.ids, self.tick = {}, 0.0, pick, iter(ids), tick
        self.cond = threading.Condition()
        self.waiting, self.running, self.granted = set(), set(), None

    def stamp(self):
        return (EPOCH + datetime.timedelta(seconds=int(self.seconds))).strftime('%Y-%m-%dT%H:%M:%SZ')

    def turn(self, who):
        with self.cond:
            self.waiting.add(who)
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.granted == who)
            self.granted = None
            self.waiting.discard(who)

    def schedule(self, max_steps=400):
        for _step in range(max_steps):
            with self.cond:
                self.cond.wait_for(lambda: self.waiting == self.running)
                if not self.running:
                    return True
                self.seconds += self.tick()   # drawn here: hypothesis draws only in the test's thread
                self.granted = self.pick(sorted(self.waiting))
                self.cond.notify_all()
                self.cond.wait_for(lambda: self.granted is None)
        return False


class FakeGlance:
    """The Glance calls Uploader makes, on World's table; every call is one turn."""

    project_id = 'p'

    def __init__(self, world, who):
        self.world, self.who = world, who

    def _flat(self, record):
        return dict(record, tags=[TAG], properties=dict(IDENTITY))

    def list_identity(self, tag, identity):
        self.world.turn(self.who)
        return sorted((self._flat(r) for r in self.world.images.values()), key=up.rank)

    def get(self, image_id):
        self.world.turn(self.who)
        record = self.world.images.get(image_id)
        return self._flat(record) if record else None

    def create(self, body):
        self.world.turn(self.who)
        stamp = self.world.stamp()
        record = {'id': next(self.world.ids), 'status': 'queued', 'created_at': stamp, 'updated_at': stamp,
                  'os_hash_algo': 'sha512', 'os_hash_value': None, 'checksum': None}
        self.world.images[record['id']] = record
        return self._flat(record)

    def put_file(self, image_id, reader, store=None):
        self.world.turn(self.who)
        data = b''.join(reader)
        record = self.world.images.get(image_id)
        if record:
            record.update(status='active', updated_at=self.world.stamp(), os_hash_value=hashlib.sha512(data).hexdigest(),
                          checksum=hashlib.md5(data).hexdigest())

    def delete(self, image_id):
        self.world.turn(self.who)
        self.world.images.pop(image_id, None)


def run_all(runs, pick, ids, tmp_path, tick=lambda: 0.1):
    path = tmp_path / 'image.qcow2'
    path.write_bytes(DATA)
    world = World(pick, ids, tick)
    results = {}

    def worker(who):
        uploader = up.Uploader(FakeGlance(world, who), {'name': 'x'}, TAG, IDENTITY, filename=str(path),
                               wait_timeout=10 ** 6, stale_after=10 ** 6, poll=0, sleep=lambda s: world.turn(who),
                               clock=lambda: world.seconds, now=lambda: EPOCH + datetime.timedelta(seconds=world.seconds))
        try:
            results[who] = uploader.run()
        except Exception as exc:  # pylint: disable=broad-except  # reported by the assertions
            results[who] = exc
        finally:
            with world.cond:
                world.running.discard(who)
                world.cond.notify_all()

    world.running = set(range(runs))
    threads = [threading.Thread(target=worker, args=(who,), daemon=True) for who in range(runs)]
    for thread in threads:
        thread.start()
    finished = world.schedule()
    return world, results, finished


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.integers(min_value=2, max_value=4), data=st.data(), ids=st.permutations(['id-%d' % n for n in range(9)]))
def test_concurrent_runs_converge_on_one_active_image(tmp_path, runs, data, ids):
    def pick(candidates):
        return data.draw(st.sampled_from(candidates))

    def tick():
        return data.draw(st.sampled_from([0.0, 0.1, 0.5]))

    world, results, finished = run_all(runs, pick, ids, tmp_path, tick)
    assert finished, 'runs still busy after 400 Glance calls'
    active = [r for r in world.images.values() if r['status'] == 'active']
    assert len(active) == 1 and len(world.images) == 1, world.images
    assert all(not isinstance(r, Exception) for r in results.values()), results
    assert {r['image']['id'] for r in results.values()} == {active[0]['id']}, 'every run returns the survivor'
    assert sum(r['created'] for r in results.values()) == 1
    assert active[0]['os_hash_value'] == hashlib.sha512(DATA).hexdigest()


def test_round_robin_two_runs(tmp_path):
    """Strict alternation: both create in the same second; the higher id yields at once."""
    state = {'n': 0}

    def pick(candidates):
        state['n'] += 1
        return candidates[state['n'] % len(candidates)]

    world, results, finished = run_all(2, pick, ['id-b', 'id-a'], tmp_path)
    assert finished
    assert list(world.images) == ['id-a'] and world.images['id-a']['status'] == 'active'
    assert sorted((r['image']['id'], r['created']) for r in results.values()) == [('id-a', False), ('id-a', True)]
