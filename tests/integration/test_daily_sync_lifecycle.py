"""The daily sync over vendor time: new releases appear, old ones reach their end of life.

Real ansible-playbook, real Glance, the local mirror (tools/upstream_mirror), one cloud (RegionOne,
no boot test: this is about which releases are synced, not how). The mirror starts without Ubuntu
26.04, Fedora 45, Debian 14 and Rocky Linux 11; then they appear (``advance(new_releases=...)``),
Ubuntu marks 24.04 unsupported in its streams (``eol``), and ``image_sync_today`` replays the day
Fedora 43's end of support has passed. The run summary, the status file and the metrics are read
back each day: a new release is announced until the data carries it, never published before.
Last, the operator retires a release early (retired: true) and drops another from the data, whose
images are then reported as not in the data and left alone.
"""

from __future__ import annotations

import datetime

from promtool_check import rules_fire
from sync_support import shipped, summary

# What an operator adds to the data to publish the announced releases.
DEBIAN_14 = {'release': '14', 'name': 'Debian 14 Forky', 'scs_name': 'Debian 14', 'os_distro': 'debian',
             'os_version': '14', 'end_of_support': '2031-06-30'}
ROCKY_11 = {'release': '11', 'name': 'Rocky Linux 11', 'scs_name': 'Rocky Linux 11', 'os_distro': 'rocky',
            'os_version': '11', 'end_of_support': '2036-05-31'}


class Days:
    """The daily sync of region_one over vendor time (a DailySync), its images by release and its morning view."""

    def __init__(self, daily_sync, tmp_path):
        from upstream_mirror import Mirror  # pylint: disable=import-outside-toplevel
        # Fedora 45, Debian 14 and Rocky Linux 11 are upcoming in the mirror; Ubuntu 26.04 is left out.
        # Nothing boots here: stand-in images (a bootable mirror costs a build and 16 MB per upload).
        mirror = Mirror(tmp_path / 'mirror', bootable=False).build(without=[('ubuntu', '26.04')])
        self.daily = daily_sync('life', mirror=mirror, limit='region_one', timeout=1200)
        self.mirror, self.status = self.daily.mirror, self.daily.status

    def __call__(self, today, ubuntu, debian=('13',), rocky=('10',), retired=(), args=()):
        """``debian``/``rocky``: the enabled releases; 14/11 among them is the operator's data change,
        and so are the Debian releases in ``retired`` (retired: true in the data)."""
        one = {'cloudimages_distributions': ['ubuntu', 'fedora', 'debian', 'rocky'], 'image_sync_boot_test': False,
               'ubuntu_enabled': ubuntu, 'debian_enabled': list(debian), 'rocky_enabled': list(rocky),
               'image_sync_status_dir': str(self.daily.status_dir)}
        if '14' in debian:
            one['debian_releases'] = [dict(entry, retired=entry['release'] in retired)
                                      for entry in [DEBIAN_14] + shipped('debian')]
        if '11' in rocky:
            one['rocky_releases'] = [ROCKY_11] + shipped('rocky')
        result = self.daily(today, region_one=one, args=args)
        assert result.rc == 0, result.output
        return summary(result, 'region_one')

    def images(self):
        return self.daily.by_release()


def prop(image, key):
    """A property, whether openstacksdk maps it to an attribute (os_version) or not."""
    return image.properties.get(key, getattr(image, key, None))


def latest(group):
    return [image for image in group if image.visibility == 'public' and image.name.endswith(' - Latest')]


def test_new_releases_and_end_of_life_over_days(daily_sync, tmp_path):
    sync = Days(daily_sync, tmp_path)
    day1 = sync.mirror.today
    # Day 1: Fedora "current" is 44 and 43 (both listed by Fedora), each under its own name and key.
    day = sync(day1, ['24.04'])
    assert day['available_not_synced'] == [] and day['retired'] == []
    report, metrics = sync.status()
    assert report['available_not_synced'] == [] and 'cloudimages_upstream_release_available{' not in metrics
    # The documented alert rules on this run's series: Fedora 43 ends within 30 days, the others do not.
    rules_fire(metrics, {'CloudImageEndOfSupportSoon': [
        {'cloud': 'region_one', 'release': 'fedora-43', 'name': 'Fedora 43', 'architecture': 'x86_64'}],
        'CloudImageBehindUpstream': []})
    groups = sync.images()
    assert set(groups) == {'ubuntu-24.04', 'fedora-44', 'fedora-43', 'debian-13', 'rocky-10'}
    for number, until in (('44', '2027-06-02'), ('43', '2026-12-09')):
        (image,) = latest(groups['fedora-' + number])
        assert image.name == 'Fedora %s - Latest' % number
        assert (prop(image, 'os_version'), prop(image, 'provided_until')) == (number, until)
        assert prop(image, 'image_description').startswith('Fedora %s: ' % number)

    # Overnight Ubuntu 26.04 LTS, Fedora 45, Debian 14 (the new stable) and Rocky Linux 11 appear upstream.
    sync.mirror.advance(new_releases=[('ubuntu', '26.04'), ('fedora', '45'), ('debian', '14'), ('rocky', '11')])
    day = sync(day1 + datetime.timedelta(days=1), ['24.04'])
    # Fedora 45 is published on its own (a stream entry); the others need a data change: announced only.
    groups = sync.images()
    assert not {'ubuntu-26.04', 'debian-14', 'rocky-11'} & set(groups)
    (fedora45,) = latest(groups['fedora-45'])
    assert fedora45.name == 'Fedora 45 - Latest' and prop(fedora45, 'os_version') == '45'
    assert len(latest(groups['fedora-44'])) == 1 and len(latest(groups['fedora-43'])) == 1
    assert day['available_not_synced'] == [
        'Debian 14 Forky: listed by the vendor, newer than 13 carried here; add it to the data to publish it',
        'Rocky Linux 11: listed by the vendor, newer than 10 carried here; add it to the data to publish it',
        'Ubuntu 26.04 LTS Resolute Raccoon: listed by the vendor, newer than 24.04 carried here; add it to the data to publish it']
    assert day['retired'] == []
    report, metrics = sync.status()
    assert [(item['source'], item['release'], item['title']) for item in report['available_not_synced']] == [
        ('debian', '14', 'Debian 14 Forky'), ('rocky', '11', 'Rocky Linux 11'),
        ('ubuntu', '26.04', 'Ubuntu 26.04 LTS Resolute Raccoon')]
    for source, release in (('debian', '14'), ('rocky', '11'), ('ubuntu', '26.04')):
        line = 'cloudimages_upstream_release_available{cloud="region_one",source="%s",release="%s"} 1'
        assert line % (source, release) in metrics.splitlines(), metrics

    # Ubuntu marks 24.04 unsupported in its streams (the data says 2029-05-31: the vendor wins), the
    # operator adds 26.04, and the run is replayed on the day after Fedora 43's end of support.
    # The operator also adds Debian 14 and Rocky Linux 11 to the data: now they are published.
    sync.mirror.eol('ubuntu', '24.04')
    day = sync(datetime.date(2026, 12, 16), ['26.04', '24.04'], debian=('14', '13'), rocky=('11', '10'))
    groups = sync.images()
    (ubuntu26,) = latest(groups['ubuntu-26.04'])
    assert ubuntu26.name == 'Ubuntu 26.04 Resolute Raccoon - Latest' and prop(ubuntu26, 'os_version') == '26.04'
    (debian14,) = latest(groups['debian-14'])
    assert debian14.name == 'Debian 14 Forky - Latest' and prop(debian14, 'os_version') == '14'
    assert '/images/cloud/forky/' in prop(debian14, 'image_source')
    (rocky11,) = latest(groups['rocky-11'])
    assert rocky11.name == 'Rocky Linux 11 - Latest' and prop(rocky11, 'os_version') == '11'
    for key in ('fedora-43', 'ubuntu-24.04'):
        assert latest(groups[key]) == [] and {image.visibility for image in groups[key]} == {'community'}, key
    retired = dict(line.split(': ', 1) for line in day['retired'])
    assert retired['Fedora 43'] == 'end_of_support 2026-12-09 (distribution data) has passed'
    assert retired['Ubuntu 24.04 Noble Numbat'].startswith(
        'ubuntu 24.04 has reached its end of life: Ubuntu marks it unsupported (supported: false, support_eol 2026-11-17)')
    assert 'Fedora 43' not in day['unchanged'] and 'Ubuntu 24.04 Noble Numbat' not in day['unchanged']
    assert sorted(day['unchanged']) == ['Debian 13 Trixie', 'Fedora 44', 'Fedora 45', 'Rocky Linux 10']
    assert day['available_not_synced'] == []
    report, metrics = sync.status()
    assert report['available_not_synced'] == [] and 'cloudimages_upstream_release_available{' not in metrics
    # The documented alert rules on this run's series: Fedora 43 ends within 30 days, the others do not.
    rules_fire(metrics, {'CloudImageEndOfSupportSoon': [
        {'cloud': 'region_one', 'release': 'fedora-43', 'name': 'Fedora 43', 'architecture': 'x86_64'}],
        'CloudImageBehindUpstream': []})

    # Fedora drops 43 from releases.json at its end of life: it leaves "current", and its images in
    # the cloud keep it listed as retired, now for the vendor's reason. Nothing else changes.
    sync.mirror.eol('fedora', '43')
    day = sync(datetime.date(2026, 12, 16), ['26.04', '24.04'], debian=('14', '13'), rocky=('11', '10'))
    retired = dict(line.split(': ', 1) for line in day['retired'])
    assert retired['Fedora 43'] == 'fedora-43 no longer follows current'
    assert sorted(day['unchanged']) == ['Debian 13 Trixie', 'Debian 14 Forky', 'Fedora 44', 'Fedora 45',
                                        'Rocky Linux 10', 'Rocky Linux 11', 'Ubuntu 26.04 Resolute Raccoon']
    assert {image.visibility for image in sync.images()['fedora-43']} == {'community'}

    # The operator takes Rocky Linux 10 out of this cloud's data and retires Debian 13 early
    # (retired: true). Debian 13 is retired as for an ended release; Rocky Linux 10's images are
    # reported as not in the data (summary, status file, metrics) and left exactly as they are.
    before = {image.id: (image.name, image.visibility) for image in sync.images()['rocky-10']}
    day = sync(datetime.date(2026, 12, 17), ['26.04', '24.04'], debian=('14', '13'), rocky=('11',), retired=('13',))
    retired = dict(line.split(': ', 1) for line in day['retired'])
    assert retired['Debian 13 Trixie'] == 'retired: true in the distribution data'
    groups = sync.images()
    assert latest(groups['debian-13']) == [] and {image.visibility for image in groups['debian-13']} == {'community'}
    assert {image.id: (image.name, image.visibility) for image in groups['rocky-10']} == before
    names = sorted(name for name, _visibility in before.values())
    assert day['not_in_data'] == ['rocky-10: %d image%s (%s); in no release of the data, left as they are'
                                  % (len(names), '' if len(names) == 1 else 's', ', '.join(names))]
    report, metrics = sync.status()
    assert [(group['release_key'], len(group['images'])) for group in report['not_in_data']] == [('rocky-10', len(names))]
    assert 'cloudimages_images_not_in_data{cloud="region_one",release="rocky-10"} %d' % len(names) in metrics.splitlines()
    # A run of some distributions (--tags) cannot know what the data carries: it reports nothing.
    day = sync(datetime.date(2026, 12, 17), ['26.04', '24.04'], debian=('14', '13'), rocky=('11',), retired=('13',),
               args=('--tags', 'debian', '--check'))
    assert day['not_in_data'] == [] and 'Debian 13 Trixie' in ' '.join(day['retired'])
