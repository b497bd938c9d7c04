"""The daily sync over vendor time: new releases appear, old ones reach their end of life.

Real ansible-playbook, real Glance, the local mirror (tools/upstream_mirror), one cloud (RegionOne,
no boot test: this is about which releases are synced, not how). The mirror starts without Ubuntu
26.04 and Fedora 45; then both appear (``advance(new_releases=...)``), Ubuntu marks 24.04
unsupported in its streams (``eol``), and ``image_sync_today`` replays the day Fedora 43's end of
support has passed. The run summary is read back each day.
"""

from __future__ import annotations

import datetime
import uuid

import pytest

from playbook_runner import run_playbook
from sync_inventory import write_inventory
from sync_support import managed_images, served, summary


@pytest.fixture()
def sync(cloud, tmp_path):
    from upstream_mirror import Mirror  # pylint: disable=import-outside-toplevel
    mirror = Mirror(tmp_path / 'mirror').build(without=[('ubuntu', '26.04')])
    provider = 'life' + uuid.uuid4().hex[:8]
    conn = cloud.connect('admin', 'RegionOne')
    with served(cloud, mirror, provider) as server:
        def run(today, ubuntu):
            one = {'cloudimages_distributions': ['ubuntu', 'fedora'], 'image_sync_boot_test': False, 'ubuntu_enabled': ubuntu}
            inventory = write_inventory(tmp_path / 'inventory.json', mirror, server, provider, tmp_path / 'cache', today,
                                        region_one=one)
            result = run_playbook('cloudimages.openstack.daily_sync', env=cloud.env(), inventory=str(inventory), timeout=1200,
                                  args=('--limit', 'region_one'))
            assert result.rc == 0, result.output
            return summary(result, 'region_one')

        def images():
            groups = {}
            for image in managed_images(conn, provider):
                groups.setdefault(image.properties['cloudimages_release'], []).append(image)
            return groups
        run.mirror, run.images = mirror, images
        yield run


def prop(image, key):
    """A property, whether openstacksdk maps it to an attribute (os_version) or not."""
    return image.properties.get(key, getattr(image, key, None))


def latest(group):
    return [image for image in group if image.visibility == 'public' and image.name.endswith(' - Latest')]


def test_new_releases_and_end_of_life_over_days(sync):
    day1 = sync.mirror.today
    # Day 1: Fedora "current" is 44 and 43 (both listed by Fedora), each under its own name and key.
    day = sync(day1, ['24.04'])
    assert day['available_not_synced'] == [] and day['retired'] == []
    groups = sync.images()
    assert set(groups) == {'ubuntu-24.04', 'fedora-44', 'fedora-43'}
    for number, until in (('44', '2027-06-01'), ('43', '2026-12-15')):
        (image,) = latest(groups['fedora-' + number])
        assert image.name == 'Fedora %s - Latest' % number
        assert (prop(image, 'os_version'), prop(image, 'provided_until')) == (number, until)
        assert prop(image, 'image_description').startswith('Fedora %s: ' % number)

    # Overnight Ubuntu 26.04 LTS and Fedora 45 appear upstream.
    sync.mirror.advance(new_releases=[('ubuntu', '26.04'), ('fedora', '45')])
    day = sync(day1 + datetime.timedelta(days=1), ['24.04'])
    # Fedora 45 is published on its own (a stream entry); Ubuntu 26.04 needs a data change: announced only.
    groups = sync.images()
    assert 'ubuntu-26.04' not in groups
    (fedora45,) = latest(groups['fedora-45'])
    assert fedora45.name == 'Fedora 45 - Latest' and prop(fedora45, 'os_version') == '45'
    assert len(latest(groups['fedora-44'])) == 1 and len(latest(groups['fedora-43'])) == 1
    assert day['available_not_synced'] == [
        'Ubuntu 26.04 LTS Resolute Raccoon: listed by the vendor, newer than 24.04 carried here; add it to the data to publish it']
    assert day['retired'] == []

    # Ubuntu marks 24.04 unsupported in its streams (the data says 2029-05-31: the vendor wins), the
    # operator adds 26.04, and the run is replayed on the day after Fedora 43's end of support.
    sync.mirror.eol('ubuntu', '24.04')
    day = sync(datetime.date(2026, 12, 16), ['26.04', '24.04'])
    groups = sync.images()
    (ubuntu26,) = latest(groups['ubuntu-26.04'])
    assert ubuntu26.name == 'Ubuntu 26.04 Resolute Raccoon - Latest' and prop(ubuntu26, 'os_version') == '26.04'
    for key in ('fedora-43', 'ubuntu-24.04'):
        assert latest(groups[key]) == [] and {image.visibility for image in groups[key]} == {'community'}, key
    retired = dict(line.split(': ', 1) for line in day['retired'])
    assert retired['Fedora 43'] == 'end_of_support 2026-12-15 (distribution data) has passed'
    assert retired['Ubuntu 24.04 Noble Numbat'].startswith(
        'ubuntu 24.04 has reached its end of life: Ubuntu marks it unsupported (supported: false, support_eol 2026-11-17)')
    assert 'Fedora 43' not in day['unchanged'] and 'Ubuntu 24.04 Noble Numbat' not in day['unchanged']
    assert sorted(day['unchanged']) == ['Fedora 44', 'Fedora 45']
    assert day['available_not_synced'] == []

    # Fedora drops 43 from releases.json at its end of life: it leaves "current", and its images in
    # the cloud keep it listed as retired, now for the vendor's reason. Nothing else changes.
    sync.mirror.eol('fedora', '43')
    day = sync(datetime.date(2026, 12, 16), ['26.04', '24.04'])
    retired = dict(line.split(': ', 1) for line in day['retired'])
    assert retired['Fedora 43'] == 'fedora-43 no longer follows current'
    assert sorted(day['unchanged']) == ['Fedora 44', 'Fedora 45', 'Ubuntu 26.04 Resolute Raccoon']
    assert {image.visibility for image in sync.images()['fedora-43']} == {'community'}
