"""What the daily sync writes in image_description (plugin_utils/_sync_report.py)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._names import NAMES
from ansible_collections.cloudimages.openstack.plugins.plugin_utils._sync_report import (
    ReportError, build_report, change_lines, compression_of, description, kept_text, render_metrics, render_table)


def test_boot_tested_or_not_is_said_as_it_is():
    assert 'boot-tested in this cloud as x86_64 before publication' in description('Debian 12', True)
    text = description('Debian 12', False)
    assert 'not boot-tested in this cloud as x86_64 (boot tests are off)' in text and 'before publication' not in text
    assert text.startswith('Debian 12: unmodified upstream image')
    assert 'compressed' not in text


def test_an_architecture_this_cloud_does_not_boot_is_never_called_boot_tested():
    arm = description('Debian 12 (aarch64)', True, arch='aarch64', boot_architectures=['x86_64'])
    assert 'not boot-tested in this cloud as aarch64 (this cloud does not boot aarch64 images)' in arm
    assert 'before publication' not in arm
    tested = description('Debian 12', True, arch='aarch64', boot_architectures=['x86_64', 'aarch64'])
    assert 'as aarch64 before publication' in tested
    assert 'boot tests are off' in description('Debian 12', False, arch='aarch64', boot_architectures=['aarch64'])


@pytest.mark.parametrize('source, options, expected', [
    ('fedora_coreos', {}, 'xz'), ('flatcar', {}, 'bz2'), ('ubuntu', {}, 'none'), ('debian', {}, 'none'),
    ('checksum_file', {'compression': 'gz'}, 'gz'), ('checksum_file', {}, 'none'),
])
def test_compression_comes_from_the_source_or_its_options(source, options, expected):
    assert compression_of(source, options) == expected


def test_the_light_source_table_agrees_with_the_source_classes():
    """The sync filter reads _sources/_names, not the classes (which import every parser and HTTP)."""
    # pylint: disable-next=import-outside-toplevel
    from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._registry import SOURCES
    assert sorted(SOURCES) == sorted(NAMES)
    assert {name: compression_of(name) for name in SOURCES} == {name: cls.compression for name, cls in SOURCES.items()}


def test_bad_source_or_compression_is_refused():
    with pytest.raises(ReportError, match='unknown source'):
        compression_of('nosuch')
    with pytest.raises(ReportError, match='compression must be one of'):
        compression_of('checksum_file', {'compression': 'zstd'})
    with pytest.raises(ReportError, match='compression must be one of'):
        description('X', True, 'zstd')


def test_compressed_upstream_says_how_to_reproduce_the_checksum():
    qcow = description('Fedora CoreOS stable', True, 'xz')
    assert 'xz-compressed' in qcow and 'decompress it first (xz -dk FILE)' in qcow and 'qemu-img' not in qcow
    raw = description('Flatcar stable', False, 'bz2', store_raw=True)
    assert raw.index('bzip2 -dk') < raw.index('qemu-img convert -O raw') < raw.index('md5sum')


def test_provider_builds_and_notes():
    text = description('Windows Server 2025 GUI', True, provider_built=True, note='Set the password with admin_pass.')
    assert 'built by the provider' in text and 'upstream' not in text
    assert text.endswith('Set the password with admin_pass.')


def test_change_lines_name_images_and_leave_out_keeps():
    actions = [
        {'action': 'promote', 'id': 'planned build 2', 'reason': "newest active version: 'D', public",
         'before': {'name': 'D (candidate 2)', 'visibility': 'private', 'os_hidden': False},
         'after': {'name': 'D', 'visibility': 'public', 'os_hidden': False, 'properties': {}}},
        {'action': 'demote', 'id': 'x', 'reason': 'previous version: dated name, hidden',
         'before': {'name': 'D', 'visibility': 'public', 'os_hidden': False},
         'after': {'name': 'D 20261116', 'visibility': 'public', 'os_hidden': True,
                   'properties': {'os_purpose': 'oldgeneric', 'cloudimages_demoted_at': '2026-12-07T16:45:25Z'}}},
        {'action': 'keep', 'id': 'y', 'reason': 'latest', 'before': {'name': 'E'}, 'after': {'name': 'E'}},
        {'action': 'delete', 'id': 'z', 'reason': 'beyond retention', 'before': {'name': 'D 20261001'}, 'after': None},
    ]
    # The demotion's time mark is left out: a check-mode plan words it as the run does.
    assert change_lines(actions) == [
        'promote "D (candidate 2)" -> name "D"; public (newest active version: \'D\', public)',
        'demote "D" -> name "D 20261116"; hidden; properties os_purpose=oldgeneric (previous version: dated name, hidden)',
        'delete "D 20261001": beyond retention']
    assert change_lines([]) == []


NOW = '2026-12-02T06:00:00Z'
QUEUE = [{'rotate': {'release_key': 'debian-13', 'name': 'Debian 13', 'retired': False}, 'end_of_support': '2030-06-30'},
         {'rotate': {'release_key': 'debian-12', 'name': 'Debian 12', 'retired': False}, 'end_of_support': '2027-01-31'},
         {'rotate': {'release_key': 'debian-11', 'name': 'Debian 11', 'retired': True}, 'end_of_support': '2026-08-31'},
         {'rotate': {'release_key': 'cirros-0.6', 'name': 'CirrOS 0.6', 'retired': False}, 'end_of_support': 'none'}]
STATUSES = [
    {'key': 'debian-13', 'settled': True, 'error': None, 'retired': False,
     'release': {'version': '20261201-1', 'build_date': '2026-12-01'}, 'existing': {'created_at': '2026-12-01T06:00:00Z'}},
    {'key': 'debian-12', 'settled': False, 'error': None, 'retired': False,
     'release': {'version': '20261202-1', 'build_date': '2026-12-02'}, 'existing': None},
    {'key': 'debian-11', 'settled': True, 'error': None, 'retired': True, 'release': None, 'existing': None},
    {'key': 'cirros-0.6', 'settled': False, 'error': 'upstream unreachable', 'retired': False, 'release': None, 'existing': None},
]
RESULTS = [
    {'release': 'Debian 12', 'key': 'debian-12', 'build': '20261202-1', 'uploaded': True, 'failed': None,
     'latest_since': '2026-12-02T05:00:00Z', 'changes': ['upload "Debian 12 (candidate 20261202-1)"', 'promote "x" -> name "Debian 12"']},
    {'release': 'CirrOS 0.6', 'key': 'cirros-0.6', 'build': None, 'uploaded': False, 'changes': [],
     'failed': 'Options and upstream discovery | CirrOS 0.6: upstream unreachable'},
]


def test_report_records_each_release_with_its_outcome_ages_and_end_of_support():
    previous = {'releases': [{'key': 'cirros-0.6', 'last_success': '2026-11-30T06:00:00Z'}]}
    report = build_report('prod1', QUEUE, STATUSES, RESULTS, NOW, previous=previous)
    records = {record['key']: record for record in report['releases']}
    assert [record['key'] for record in report['releases']] == ['debian-13', 'debian-12', 'debian-11', 'cirros-0.6']
    assert {key: record['outcome'] for key, record in records.items()} == {
        'debian-13': 'up to date', 'debian-12': 'updated', 'debian-11': 'retired', 'cirros-0.6': 'failed'}
    assert records['debian-13']['latest_age_days'] == 1.0 and records['debian-12']['latest_age_days'] == 0.0
    assert records['debian-13']['upstream_build_age_days'] == 1.2
    assert records['debian-12']['days_to_end_of_support'] == 60 and records['cirros-0.6']['days_to_end_of_support'] is None
    assert records['debian-11']['days_to_end_of_support'] == -93 and records['debian-11']['latest_age_days'] is None
    assert records['debian-13']['last_success'] == NOW
    # A failed release keeps the last success of an earlier run: the alert sees how long it has been failing.
    assert records['cirros-0.6']['last_success'] == '2026-11-30T06:00:00Z'
    assert records['cirros-0.6']['failure'].endswith('upstream unreachable')


def test_check_mode_plans_and_never_counts_as_success():
    report = build_report('prod1', QUEUE[:2], STATUSES[:2], RESULTS[:1], NOW, check_mode=True)
    assert [record['outcome'] for record in report['releases']] == ['up to date', 'planned']
    assert all(record['last_success'] is None for record in report['releases'])


def test_table_lists_failed_and_retired_apart():
    lines = render_table(build_report('prod1', QUEUE, STATUSES, RESULTS, NOW))
    assert lines[0] == 'prod1, ' + NOW and lines[1].split() == ['release', 'build', 'what', 'happened', 'Latest', 'age', 'end', 'of',
                                                                'support']
    assert lines[2].startswith('Debian 13') and '20261201-1' in lines[2] and '1 d' in lines[2] and '1306 d' in lines[2]
    assert lines[3].startswith('Debian 12') and 'updated (2 changes)' in lines[3] and '60 d (soon)' in lines[3]
    assert lines[4] == 'retired (end of support passed):' and lines[5].startswith('Debian 11') and 'ended 93 d ago' in lines[5]
    assert lines[6] == 'FAILED:' and lines[7].startswith('CirrOS 0.6') and 'failed' in lines[7]
    assert lines[8] == '  CirrOS 0.6: Options and upstream discovery | CirrOS 0.6: upstream unreachable'


def test_metrics_are_valid_text_exposition():
    text = render_metrics(build_report('prod"1', QUEUE, STATUSES, RESULTS, NOW))
    assert text.endswith('\n')
    samples = [line for line in text.splitlines() if not line.startswith('#')]
    assert ('cloudimages_sync_failed{cloud="prod\\"1",release="cirros-0.6",name="CirrOS 0.6",'
            'architecture="x86_64"} 1') in samples
    assert ('cloudimages_latest_age_seconds{cloud="prod\\"1",release="debian-13",name="Debian 13",'
            'architecture="x86_64"} 86400.0') in samples
    last = [line for line in samples if line.startswith('cloudimages_sync_last_success_timestamp_seconds')]
    assert len(last) == 3 and all(line.endswith(' 1796191200.0') for line in last)  # the failed cirros has no previous success
    for line in samples:
        name, value = line.rsplit(' ', 1)
        float(value)
        assert name.startswith('cloudimages_')


def test_a_cloud_whose_status_check_failed_says_why_in_its_report_and_table():
    """The daily sync's morning view fails such a cloud on the FAILED line (playbooks/daily_sync.yml)."""
    report = build_report('prod1', [], [], [], NOW, failure='Keystone: 401 Unauthorized')
    assert report['releases'] == [] and report['failure'] == 'Keystone: 401 Unauthorized'
    assert render_table(report)[2:] == ['FAILED:', '  Keystone: 401 Unauthorized']
    assert 'failure' not in build_report('prod1', QUEUE, STATUSES, RESULTS, NOW)


def test_report_refuses_a_bad_time():
    with pytest.raises(ReportError, match='now must be'):
        build_report('prod1', QUEUE, STATUSES, RESULTS, 'yesterday')


def test_releases_available_upstream_are_in_the_status_table_and_metrics():
    available = [{'source': 'ubuntu', 'release': '26.04', 'title': 'Ubuntu 26.04 LTS Resolute Raccoon',
                  'support_eol': '2031-05-31', 'reason': 'listed by the vendor, newer than 24.04 carried here'}]
    report = build_report('prod1', QUEUE, STATUSES, RESULTS, NOW, available=available)
    assert report['available_not_synced'] == [{'source': 'ubuntu', 'release': '26.04', 'support_eol': '2031-05-31',
                                               'title': 'Ubuntu 26.04 LTS Resolute Raccoon'}]
    assert render_table(report)[-2:] == ['available upstream, not synced (add to the data to publish):',
                                         '  Ubuntu 26.04 LTS Resolute Raccoon']
    assert 'cloudimages_upstream_release_available{cloud="prod1",source="ubuntu",release="26.04"} 1' in \
        render_metrics(report).splitlines()
    assert build_report('prod1', QUEUE, STATUSES, RESULTS, NOW)['available_not_synced'] == []


def test_images_not_in_the_data_are_in_the_status_table_and_metrics():
    group = {'provider': 'example', 'release_key': 'fedora-42', 'summary': 'fedora-42: 2 images (...); left',
             'images': [{'id': 'a', 'name': 'Fedora 42 - Latest', 'visibility': 'public'},
                        {'id': 'b', 'name': 'Fedora 42 - 2026-11-02', 'visibility': 'community'}]}
    report = build_report('prod1', QUEUE, STATUSES, RESULTS, NOW, not_in_data=[group])
    assert report['not_in_data'] == [group]
    assert render_table(report)[-2:] == ['not in the data (to retire a release, keep it in the data with retired: true):',
                                         '  fedora-42: 2 images (...); left']
    assert 'cloudimages_images_not_in_data{cloud="prod1",release="fedora-42"} 2' in render_metrics(report).splitlines()
    assert build_report('prod1', QUEUE, STATUSES, RESULTS, NOW)['not_in_data'] == []


def test_builds_kept_in_use_are_counted_per_release_in_the_status_file_and_the_table():
    statuses = [dict(STATUSES[0], kept_in_use={'builds': 3, 'servers': 7, 'volumes': 2})] + STATUSES[1:]
    results = [dict(RESULTS[0], kept_in_use={'builds': 1, 'servers': 0, 'volumes': 1})] + RESULTS[1:]
    report = build_report('prod1', QUEUE, statuses, results, NOW)
    records = {record['key']: record for record in report['releases']}
    assert records['debian-13']['kept_in_use'] == {'builds': 3, 'servers': 7, 'volumes': 2}
    assert records['debian-11']['kept_in_use'] is None
    lines = render_table(report)
    at = lines.index('kept because in use (deleted once unused):')
    assert lines[at + 1:at + 3] == ['  Debian 13: 3 old builds kept: in use by 7 servers, 2 volumes',
                                    '  Debian 12: 1 old build kept: in use by 1 volume']
    assert kept_text({'builds': 1, 'servers': 1, 'volumes': 0}) == '1 old build kept: in use by 1 server'
    assert not any('kept because' in line for line in render_table(build_report('prod1', QUEUE, STATUSES, RESULTS, NOW)))


def test_two_architectures_are_apart_in_the_status_file_the_table_and_the_metrics():
    arm = {'rotate': {'release_key': 'debian-13-aarch64', 'name': 'Debian 13 (aarch64)', 'retired': False},
           'discover': {'arch': 'aarch64'}, 'end_of_support': '2030-06-30'}
    status = dict(STATUSES[0], key='debian-13-aarch64')
    report = build_report('prod1', QUEUE[:1] + [arm], STATUSES[:1] + [status], [], NOW)
    assert [(r['key'], r['architecture']) for r in report['releases']] == [
        ('debian-13', 'x86_64'), ('debian-13-aarch64', 'aarch64')]
    lines = render_table(report)
    assert lines[1].split()[:3] == ['release', 'arch', 'build']
    assert lines[2].split()[2:4] == ['x86_64', '20261201-1'] and lines[3].split()[3:5] == ['aarch64', '20261201-1']
    assert ('cloudimages_latest_age_seconds{cloud="prod1",release="debian-13-aarch64",name="Debian 13 (aarch64)",'
            'architecture="aarch64"} 86400.0') in render_metrics(report).splitlines()
