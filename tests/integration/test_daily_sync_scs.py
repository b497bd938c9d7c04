"""SCS conformance out of the box: standard names, source prefixes, dated names, merged properties, descriptions.

Real ansible-playbook (cloudimages.openstack.daily_sync), real Glance, the local vendor mirror, over two
days. No boot tests: RegionTwo has no Nova of its own, and RegionOne runs without them here, so the
descriptions must say so. RegionTwo uses the naming profile scs, RegionOne latest_suffix with the SCS
base names (``Debian 12 - Latest``).
"""

from __future__ import annotations

import json
import re
import time

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import from_sdk
from sync_support import summaries

# SCS-0104 (Tests/iaas/scs-0104-v1-images-v5.yaml and the checker's hard-coded Debian 13):
# standard name -> accepted image_source prefixes.
SCS_0104 = {
    'Ubuntu 24.04': ('https://cloud-images.ubuntu.com/releases/noble/', 'https://cloud-images.ubuntu.com/noble/'),
    'Ubuntu 22.04': ('https://cloud-images.ubuntu.com/releases/jammy/', 'https://cloud-images.ubuntu.com/jammy/'),
    'Debian 13': ('https://cloud.debian.org/images/cloud/trixie/', 'https://cdimage.debian.org/cdimage/cloud/trixie/'),
    'Debian 12': ('https://cloud.debian.org/images/cloud/bookworm/', 'https://cdimage.debian.org/cdimage/cloud/bookworm/'),
}
FLATCAR = 'Flatcar Container Linux stable'
NEWER = 'Ubuntu 26.04'  # not (yet) a standard image of SCS-0104, named the same way


def scs_sync(daily_sync, tmp_path):
    """Two clouds, no boot tests: RegionTwo with the naming profile scs, RegionOne latest_suffix with SCS base names."""
    status = str(tmp_path / 'status')  # the DailySync's status_dir
    return daily_sync('scs', mirror='stand-ins', timeout=1200,  # this test advances its mirror; boots nothing
                      region_one={'cloudimages_distributions': ['debian'], 'image_sync_base_name': 'scs',
                                  'image_sync_status_dir': status},
                      region_two={
                          'cloudimages_distributions': ['ubuntu', 'debian', 'flatcar'], 'ubuntu_enabled': [],
                          'image_sync_naming': 'scs', 'image_sync_status_dir': status,
                          # One property per cloud, per distribution and per release; the defaults stay.
                          'image_sync_extra_properties': {'hypervisor_type': None, 'hotfix_hours': 24},
                          'debian_properties': {'replace_frequency': 'monthly'},
                          'image_sync_release_properties': {'ubuntu-22.04': {'uuid_validity': 'last-5'}},
                      })


def images_by_name(sync, region):
    return {image.name: image for image in sync.images(region)}


def test_scs_profile_standard_names_sources_properties_and_dated_names(daily_sync, tmp_path):
    sync = scs_sync(daily_sync, tmp_path)
    day1 = sync.mirror.today
    result = sync(day1)
    assert result.rc == 0, result.output

    two = images_by_name(sync, 'RegionTwo')
    assert set(two) == set(SCS_0104) | {FLATCAR, NEWER}, sorted(two)
    for name, prefixes in SCS_0104.items():
        image = two[name]
        assert image.visibility == 'public' and image.properties['image_source'].startswith(prefixes), (name, image.properties)
    props = {name: from_sdk(image)['properties'] for name, image in two.items()}
    # Merged, not replaced: the defaults are all there, each override where it belongs.
    for name, have in props.items():
        assert have['architecture'] == 'x86_64' and have['hw_disk_bus'] == 'scsi' and have['os_purpose'] == 'generic', name
        assert 'hypervisor_type' not in have and have['hotfix_hours'] == '24', name
        assert have['uuid_validity'] == ('last-5' if name == 'Ubuntu 22.04' else 'last-3'), name
        assert have['replace_frequency'] == ('monthly' if name.startswith('Debian') else 'quarterly'), name
        # The truth: no boot test in this cloud.
        assert 'not boot-tested in this cloud' in have['image_description'], have['image_description']
    assert 'bz2-compressed' in props[FLATCAR]['image_description'] and 'qemu-img convert -O raw' in props[FLATCAR]['image_description']
    assert 'compressed' not in props['Debian 12']['image_description']

    one = images_by_name(sync, 'RegionOne')
    assert set(one) == {'Debian 13 - Latest', 'Debian 12 - Latest'}, sorted(one)
    assert from_sdk(one['Debian 12 - Latest'])['properties']['hotfix_hours'] == '0'  # the default, no override

    # Overnight every vendor publishes a new build. Check mode first: the whole plan, in the words of the real run.
    sync.mirror.advance()
    day2 = day1.fromordinal(day1.toordinal() + 1)
    plan = sync(day2, check=True)
    assert plan.rc == 0, plan.output
    assert images_by_name(sync, 'RegionTwo').keys() == two.keys(), 'check mode changed something'
    planned = {host: {entry['release']: entry['changes'] for entry in summary['synced']}
               for host, summary in summaries(plan.output).items()}
    assert all(planned['region_two'][name][0].startswith('upload ') for name in SCS_0104), planned

    status_day1 = json.loads((sync.status_dir / 'cloudimages_sync_region_two.json').read_text())
    assert status_day1['check_mode'] is False, 'check mode wrote the status file'

    result = sync(day2)
    assert result.rc == 0, result.output
    check_morning_view(sync, result.output, status_day1)
    done = {host: {entry['release']: entry['changes'] for entry in summary['synced']}
            for host, summary in summaries(result.output).items()}
    assert done == planned
    new = from_sdk(images_by_name(sync, 'RegionTwo')['Debian 12'])['properties']['cloudimages_build']
    old_build = two['Debian 12'].properties['image_build_date'][:10].replace('-', '')
    # The previous latest is demoted first: never two images with the latest name (_rotation._order).
    assert planned['region_two']['Debian 12'] == [
        'upload "Debian 12 (candidate %s)"' % new,
        'demote "Debian 12" -> name "Debian 12 %s"; community; properties os_purpose=oldgeneric '
        '(previous version: dated name, community)' % old_build,
        'promote "Debian 12 (candidate %s)" -> name "Debian 12"; public (newest active version: \'Debian 12\', public)' % new]
    two_after = images_by_name(sync, 'RegionTwo')
    for name in SCS_0104:
        old = two[name]
        build_date = old.properties['image_build_date']
        dated = '%s %s' % (name, build_date[:10].replace('-', ''))
        assert two_after[dated].id == old.id, (dated, sorted(two_after))
        assert from_sdk(two_after[dated])['properties']['os_purpose'] == 'oldgeneric'
        assert two_after[name].id != old.id and two_after[name].properties['image_source'].startswith(SCS_0104[name])
    one_after = images_by_name(sync, 'RegionOne')
    old = one['Debian 12 - Latest']
    dated = one_after['Debian 12 - %s' % old.created_at[:10]]  # latest_suffix: first upload
    assert dated.id == old.id and dated.visibility == 'community' and from_sdk(dated)['properties']['os_purpose'] == 'oldgeneric'


def check_morning_view(sync, output, status_day1):
    """The table at the end of the run, the status file and the metrics, read back."""
    day1_builds = {record['name']: record['build'] for record in status_day1['releases']}
    table = output[output.index('TASK [Morning view of this cloud]'):]
    table = table[:table.find('TASK [', 1)]
    for name in list(SCS_0104) + [FLATCAR]:
        assert re.search(r'"%s +\S+ +updated \(\d changes\) +0 d +(\d+ d|-)"' % re.escape(name), table), (name, table)
    assert re.search(r'"retired \(end of support passed\):",\s+"Debian 11 +- +retired +- +ended \d+ d ago"', table), table
    assert 'FAILED' not in table

    status = json.loads((sync.status_dir / 'cloudimages_sync_region_two.json').read_text())
    records = {record['name']: record for record in status['releases']}
    assert set(records) == set(SCS_0104) | {FLATCAR, NEWER, 'Debian 11'}
    assert records['Debian 11']['outcome'] == 'retired'
    for name in list(SCS_0104) + [FLATCAR]:
        record = records[name]
        assert record['outcome'] == 'updated' and record['last_success'] == status['generated_at'], record
        assert 0 <= record['latest_age_days'] < 1 and record['build'] != day1_builds[name], (record, day1_builds)
    metrics = (sync.status_dir / 'cloudimages_sync_region_two.prom').read_text()
    samples = dict(line.rsplit(' ', 1) for line in metrics.splitlines() if line and not line.startswith('#'))

    def sample(metric, key, name):
        return samples['%s{cloud="region_two",release="%s",name="%s",architecture="x86_64"}' % (metric, key, name)]
    assert sample('cloudimages_sync_failed', 'debian-12', 'Debian 12') == '0'
    last = float(sample('cloudimages_sync_last_success_timestamp_seconds', 'debian-12', 'Debian 12'))
    assert abs(last - time.time()) < 900
    assert float(sample('cloudimages_latest_age_seconds', 'ubuntu-24.04', 'Ubuntu 24.04')) < 900
    assert float(sample('cloudimages_end_of_support_seconds', 'debian-11', 'Debian 11')) < 0
    assert (sync.status_dir / 'cloudimages_sync_region_one.prom').is_file()
    assert not [path.name for path in sync.status_dir.iterdir() if path.suffix not in ('.json', '.prom')]
