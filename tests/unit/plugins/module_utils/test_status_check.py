"""release_status_info's run (module_utils/plan/_status_check.py) without a cloud or a vendor.

The cloud's listings, the usage lookup and discovery are stand-ins here (no cloud, no network in
unit tests); tests/integration/test_release_status_info.py runs the module against a real Glance
and the upstream mirror.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _status_check
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    EndOfLife, catalog_entry)
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._status_check import StatusCheck
from rotation_sim import OWNERS, PROVIDER, image

NOW = '2026-11-30T12:00:00Z'
TODAY = '2026-11-30'


class World:
    """What the check asks outside itself, recorded: listings per provider, usage lookups, discoveries."""

    def __init__(self, monkeypatch, images=(), catalog=(), end_of_life=()):
        self.images, self.catalog, self.end_of_life = list(images), list(catalog), set(end_of_life)
        self.lookups, self.catalog_calls, self.documents = [], 0, set()
        for name in ('list_managed', 'list_impostors', 'list_squatters', 'lookup', 'discover_from', 'vendor_catalog',
                     'remember_published'):
            monkeypatch.setattr(_status_check, name, getattr(self, name))
        monkeypatch.setattr(_status_check, 'session_for', lambda params: None)

    def list_managed(self, _conn, provider, owners):
        assert owners == OWNERS
        return [i for i in self.images if _managed.managed_tag(provider) in i['tags']]

    @staticmethod
    def list_impostors(_conn, _provider, _owners):
        return []

    @staticmethod
    def list_squatters(_conn, _provider, _owners, _names):
        return []

    def lookup(self, _conn, image_ids, services):
        self.lookups.append((tuple(image_ids), services))
        return {'complete': True, 'unknown': False, 'reason': None, 'pending': [],
                'images': {i: {'servers': [], 'volumes': []} for i in image_ids}}

    def discover_from(self, params, remember=True, documents=None, **_options):
        assert not remember  # only published builds are remembered
        self.documents.add(id(documents))
        if params['release'] in self.end_of_life:
            ended = EndOfLife(TODAY, '%s %s has reached its end of life' % (params['source'], params['release']))
            ended.requests = 1
            raise ended
        release = {'key': 'x', 'version': '20261130', 'build_date': '2026-11-30',
                   'checksum': 'sha256:%s' % params['release']}
        return release, False, 1

    def vendor_catalog(self, _session, _params, documents=None, **_options):
        self.catalog_calls += 1
        self.documents.add(id(documents))
        return self.catalog, 1

    @staticmethod
    def remember_published(_params, _release, _check_mode):
        return True


def entry(source, release, key, name, **rotate):
    return {'discover': {'source': source, 'release': release},
            'rotate': dict(provider=PROVIDER, release_key=key, name=name, **rotate)}


def fedora_current(**rotate):
    return entry('fedora', 'current', 'fedora-current', 'Fedora {release}', **rotate)


def check(specs, **kwargs):
    run = StatusCheck(None, OWNERS, TODAY)
    return run, run.check(specs, NOW, **kwargs)


def test_a_stream_becomes_one_release_per_listed_release(monkeypatch):
    world = World(monkeypatch, catalog=[catalog_entry('43', 'Fedora 43'), catalog_entry('42', 'Fedora 42')])
    run, result = check([fedora_current()], announce=True)
    keys = [(e['key'], e['name'], e['job']['discover']['release']) for e in result['releases']]
    assert keys == [('fedora-43', 'Fedora 43', '43'), ('fedora-42', 'Fedora 42', '42')]
    assert all(e['error'] is None and e['reason'] == 'build 20261130 is not in this cloud yet'
               for e in result['releases'])
    # One release list per vendor and run (expansion and announcement), one Documents for every request.
    assert world.catalog_calls == 1 and len(world.documents) == 1
    assert result['requests'] == 3 and run.requests == 3


def test_a_stream_the_vendor_lists_nothing_for_fails_its_entry(monkeypatch):
    World(monkeypatch, catalog=[])
    _run, result = check([fedora_current()])
    [only] = result['releases']
    assert only['error'] == 'fedora current: the vendor lists no release to follow' and not only['settled']


def test_a_release_that_left_its_stream_is_retired_while_the_cloud_holds_it(monkeypatch):
    held = image('2026-05-01T08:00:00Z', name='Fedora 41 - Latest', release='fedora-41')
    World(monkeypatch, images=[held], catalog=[catalog_entry('43', 'Fedora 43')])
    _run, result = check([fedora_current()])
    left = result['releases'][-1]
    assert [e['key'] for e in result['releases']] == ['fedora-43', 'fedora-41']
    assert left['retired'] and left['retired_reason'] == 'fedora-41 no longer follows current'
    assert left['job']['rotate']['retired'] is True and left['release'] is None
    assert left['reason'].startswith('fedora-41 no longer follows current; ')


def test_retirement_by_the_vendor_and_by_the_data(monkeypatch):
    World(monkeypatch, end_of_life={'20.10'})
    specs = [entry('ubuntu', '20.10', 'ubuntu-20.10', 'Ubuntu 20.10'),
             dict(entry('debian', '11', 'debian-11', 'Debian 11', retired=True), end_of_support='2026-08-31'),
             entry('debian', '10', 'debian-10', 'Debian 10', retired=True)]
    _run, result = check(specs)
    vendor, data, plain = result['releases']
    assert vendor['retired'] and vendor['end_of_life'] == TODAY and 'end of life' in vendor['retired_reason']
    assert vendor['job']['rotate']['retired'] is True and vendor['error'] is None
    assert data['retired_reason'] == 'end_of_support 2026-08-31 (distribution data) has passed'
    assert plain['retired_reason'] == 'retired in the data (rotate.retired)'
    assert all(e['settled'] for e in result['releases'])  # nothing in the cloud, nothing to change


def test_bad_options_fail_one_entry_only(monkeypatch):
    World(monkeypatch)
    _run, result = check([entry('ubuntu', '24.04', 'ubuntu-24.04', 'Ubuntu 24.04', keep='many'),
                          entry('nosuch', '1', 'nosuch-1', 'No such')])
    bad_policy, bad_source = result['releases']
    assert bad_policy['error'].startswith('rotate: ') and bad_policy['reason'] == bad_policy['error']
    assert 'nosuch' in bad_source['error']


def test_usage_is_looked_up_once_for_every_release_that_needs_it(monkeypatch):
    images = []
    for key, name, release in (('ubuntu-24.04', 'Ubuntu 24.04', '24.04'), ('debian-12', 'Debian 12', '12')):
        images += [image('2026-10-%02dT08:00:00Z' % day, name='%s - 2026-10-%02d' % (name, day), release=key,
                         visibility='community') for day in range(1, 5)]
        images.append(image('2026-11-30T08:00:00Z', name='%s - Latest' % name, release=key,
                            **{_managed.BUILD: '20261130', _managed.DIGEST: 'sha256:' + release}))
    world = World(monkeypatch, images=images)
    _run, result = check([entry('ubuntu', '24.04', 'ubuntu-24.04', 'Ubuntu 24.04', keep=1, delete_unused=True),
                          entry('debian', '12', 'debian-12', 'Debian 12', keep=1, delete_unused=True)])
    [(wanted, _services)] = world.lookups  # one lookup for both releases
    assert {i['properties'][_managed.RELEASE] for i in images if i['id'] in wanted} == {'ubuntu-24.04', 'debian-12'}
    assert list(wanted) == sorted(wanted) and len(wanted) == len(set(wanted))
    assert [e['reason'] for e in result['releases']] == ['rotation to do: delete'] * 2
    assert all(e['existing']['visibility'] == 'public' for e in result['releases'])


@pytest.mark.parametrize('asked', [True, False])
def test_not_in_data_names_what_no_release_carries(monkeypatch, asked):
    dropped = image('2026-01-01T08:00:00Z', name='Fedora 40 - Latest', release='fedora-40')
    carried = image('2026-11-29T08:00:00Z', name='Debian 12 - Latest', release='debian-12')
    World(monkeypatch, images=[dropped, carried])
    run, result = check([entry('debian', '12', 'debian-12', 'Debian 12')], not_in_data=asked)
    if not asked:
        assert result['not_in_data'] == []
        return
    [group] = result['not_in_data']
    assert group['release_key'] == 'fedora-40' and [i['id'] for i in group['images']] == [dropped['id']]
    assert group['summary'] in run.warnings


def test_announcements_are_newer_releases_only_and_lts_for_ubuntu(monkeypatch):
    World(monkeypatch, catalog=[catalog_entry('26.10', 'Ubuntu 26.10'), catalog_entry('26.04', 'Ubuntu 26.04 LTS', lts=True),
                                catalog_entry('22.04', 'Ubuntu 22.04 LTS', lts=True)])
    _run, result = check([entry('ubuntu', '24.04', 'ubuntu-24.04', 'Ubuntu 24.04')], announce=True)
    assert [(a['source'], a['release']) for a in result['available']] == [('ubuntu', '26.04')]


def many(monkeypatch, world, clouds, errors=(ValueError,)):
    """check_clouds over ``clouds`` ({name: options}); each cloud's connection is its name."""
    monkeypatch.setattr(_status_check, 'resolve_owners', lambda _conn, owners: OWNERS)
    defaults = {'owners': [], 'today': TODAY, 'stores': [], 'all_stores': False, 'announce': True,
                'not_in_data': False}
    return _status_check.check_clouds({name: dict(defaults, **given) for name, given in clouds.items()},
                                      lambda params: params['name'], NOW, errors)


def test_many_clouds_share_the_upstream_part(monkeypatch):
    """Twenty regions of one cloud: each discovery and vendor list once for all, each its own listings."""
    world = World(monkeypatch, catalog=[catalog_entry('43', 'Fedora 43')])
    calls = []
    monkeypatch.setattr(_status_check, 'discover_from', lambda params, **options: (
        calls.append(params['release']) or World.discover_from(world, params, **options)))
    listed = []
    monkeypatch.setattr(_status_check, 'list_managed', lambda conn, provider, owners: listed.append(conn) or [])
    specs = [fedora_current(), entry('debian', '12', 'debian-12', 'Debian 12')]
    names = ['region%d' % n for n in range(1, 21)]
    clouds = many(monkeypatch, world, {name: {'name': name, 'releases': specs} for name in names})
    assert list(clouds) == names and sorted(listed) == sorted(names)
    assert sorted(calls) == ['12', '43'] and len(world.documents) == 1
    assert world.catalog_calls == 2  # Fedora's list and Debian's (announce), once each
    # The first asker of each counts its requests (whichever thread that is), the others get it for none.
    assert sum(result['requests'] for result in clouds.values()) == 4
    assert {tuple((e['key'], e['reason']) for e in result['releases']) for result in clouds.values()} == {
        (('fedora-43', 'build 20261130 is not in this cloud yet'), ('debian-12', 'build 20261130 is not in this cloud yet'))}
    assert not any(result['failed'] for result in clouds.values())


def test_a_vendor_end_of_life_is_shared_with_its_requests_counted_once(monkeypatch):
    world = World(monkeypatch, end_of_life={'20.10'})
    clouds = many(monkeypatch, world, {name: {'name': name, 'releases': [entry('ubuntu', '20.10', 'ubuntu-20.10', 'U')]}
                                       for name in ('a', 'b')})
    assert [clouds[name]['releases'][0]['retired'] for name in 'ab'] == [True, True]
    assert sum(clouds[name]['requests'] for name in 'ab') == 2  # Ubuntu's list (announce), its end of life


def test_a_cloud_that_cannot_be_checked_fails_alone(monkeypatch):
    world = World(monkeypatch)

    def owners(conn, _owners):
        if conn == 'broken':
            raise ValueError('owners: Keystone knows no project named nosuch')
        return OWNERS
    specs = [entry('debian', '12', 'debian-12', 'Debian 12')]
    monkeypatch.setattr(_status_check, 'resolve_owners', owners)
    clouds = _status_check.check_clouds(
        {name: {'name': name, 'releases': specs, 'owners': [], 'today': TODAY, 'stores': [], 'all_stores': False,
                'announce': False, 'not_in_data': False} for name in ('broken', 'fine')},
        lambda params: params['name'], NOW, (ValueError,))
    assert clouds['broken'] == {'failed': True, 'msg': 'owners: Keystone knows no project named nosuch', 'warnings': []}
    assert not clouds['fine']['failed'] and clouds['fine']['releases'][0]['key'] == 'debian-12'
    assert world.lookups == []


def test_the_clouds_threads_fetch_different_keys_at_once_and_each_key_once():
    """Two releases are discovered at the same time (a lock per key); a third asker of one waits for it."""
    upstream, started = _status_check.Upstream(), threading.Barrier(2, timeout=10)
    calls = []

    def work(name):
        def fetch():
            calls.append(name)
            started.wait()  # both fetches are under way at once, or this breaks after 10 s
            return name, 1
        return fetch
    with ThreadPoolExecutor(max_workers=3) as pool:
        found = list(pool.map(lambda name: upstream._once('discover', {'release': name}, work(name)), ['a', 'b']))
        again = pool.submit(upstream._once, 'discover', {'release': 'a'}, work('never')).result()
    assert found == [('a', 1), ('b', 1)] and again == ('a', 0)
    assert sorted(calls) == ['a', 'b']
