"""Two architectures in one cloud over two days: x86_64 and aarch64 images of Ubuntu, Debian,
Fedora ``current`` and CirrOS, each architecture its own release group (key, name, Latest, rotation).

Real ansible-playbook, real Glance, the local mirror's x86_64 and aarch64 trees, one cloud
(RegionOne). No boot test: the rotation is what is tested here, and the light stack has no Nova.
Day 2 publishes a new build of every release in both architectures; each group promotes its own
and turns its own previous Latest into a community image.
"""

from __future__ import annotations

import datetime

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _scs
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import from_sdk

DISTRIBUTIONS = ['ubuntu', 'debian', 'fedora', 'cirros']
# The releases that carry the aarch64 suffix apart (Fedora current is what the mirror lists).
X86 = {'ubuntu-24.04', 'debian-13', 'cirros-0.6'}


def groups_by_key(sync):
    found = {}
    for key, images in sync.by_release().items():
        found[key] = {'latest': [i for i in images if i.visibility == 'public'],
                      'older': [i for i in images if i.visibility == 'community']}
    return found


def assert_scs_0102(groups, today):
    """Every image of both architectures carries SCS-0102's metadata, on the mirror's simulated day."""
    now = datetime.datetime.combine(today, datetime.time(12))
    for key, group in groups.items():
        for image in group['latest'] + group['older']:
            flat = from_sdk(image)
            problems = _scs.validate(flat['properties'], flat.get('min_disk'), flat.get('min_ram'),
                                     flat.get('size'), now=now)
            assert problems == [], (key, image.name, problems)


def test_two_architectures_sync_and_rotate_apart(daily_sync):
    sync = daily_sync('arch', mirror='stand-ins', limit='region_one', timeout=1500)  # advanced; boots nothing
    one = {'cloudimages_distributions': DISTRIBUTIONS, 'ubuntu_enabled': ['24.04'], 'debian_enabled': ['13'],
           'image_sync_architectures': ['x86_64', 'aarch64'], 'image_sync_keep': 1, 'image_sync_min_age_days': 0,
           'image_sync_status_dir': str(sync.status_dir)}
    sync.ok(region_one=one)
    day1 = groups_by_key(sync)
    fedora = {key for key in day1 if key.startswith('fedora-') and not key.endswith('-aarch64')}
    assert fedora and X86 <= set(day1), day1.keys()
    assert set(day1) == {key for x86 in X86 | fedora for key in (x86, x86 + '-aarch64')}, sorted(day1)
    for key, group in day1.items():
        arch = 'aarch64' if key.endswith('-aarch64') else 'x86_64'
        (latest,) = group['latest']
        assert latest.properties.get('architecture', getattr(latest, 'architecture', None)) == arch, key
        assert latest.name.endswith(' (aarch64) - Latest') == (arch == 'aarch64'), latest.name
        assert group['older'] == [], key
    assert_scs_0102(day1, sync.mirror.today)
    report, metrics = sync.status()
    assert {(r['key'], r['architecture']) for r in report['releases'] if r['key'].startswith('debian')} == {
        ('debian-13', 'x86_64'), ('debian-13-aarch64', 'aarch64')}
    assert 'architecture="aarch64"' in metrics

    # Day 2: a new build of everything, in both architectures.
    sync.mirror.advance()
    sync.ok(sync.mirror.today, region_one=one)
    day2 = groups_by_key(sync)
    assert set(day2) == set(day1)
    for key, group in day2.items():
        (latest,) = group['latest']
        (older,) = group['older']
        # Each group rotates its own: yesterday's Latest of this key is today's community image.
        assert older.id == day1[key]['latest'][0].id and latest.id != older.id, key
        assert latest.properties['cloudimages_release'] == older.properties['cloudimages_release'] == key
        assert latest.properties['cloudimages_build'] != older.properties['cloudimages_build'], key
    assert_scs_0102(day2, sync.mirror.today)
