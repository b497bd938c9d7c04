"""The queue built in Python (_jobs): merges, keys, names, properties, retirement, --tags."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _jobs

KNOBS = {
    'provider': 'p', 'architectures': ['x86_64'], 'arch_name': '{name} ({arch})', 'arch_properties': {},
    'boot_architectures': [], 'url_rewrites': {}, 'cache_dir': '/c', 'keyring': '', 'trusted_fingerprints': [],
    'min_ram': 512, 'boot_test': True, 'boot_flavor': 'f1', 'boot_marker': 'login:', 'store_raw': False,
    'naming': 'latest_suffix', 'base_name': '', 'name_templates': {}, 'previous_visibility': 'community', 'keep': 3,
    'min_age_days': 7, 'demoted_grace_hours': 24, 'delete_unused': True, 'usage_services': ['compute'],
    'transfer_deadline': 1800, 'retired_state': 'community', 'properties': {'architecture': 'x86_64', 'a': 1},
    'extra_properties': {}, 'release_properties': {}, 'today': '2026-12-07', 'run_started': None}


def release(**over):
    return dict({'release': '13', 'name': 'Debian 13 Trixie', 'scs_name': 'Debian 13', 'os_distro': 'debian',
                 'os_version': '13', 'end_of_support': '2030-06-30'}, **over)


def jobs(data, described=None, warned=None, **knobs):
    """The jobs of ``data``; ``described`` collects each (name, boot_test, arch) the description was asked
    for, ``warned`` each warning (none is expected without it)."""
    def describe(merged, boot_test, arch):
        if described is not None:
            described.append((merged['name'], boot_test, arch))
        return 'about %s' % merged['name']

    def warn(message):
        assert warned is not None, message
        warned.append(message)
    return _jobs.queue(data, dict(KNOBS, **knobs), describe, warn)


def test_one_release_makes_the_job_release_status_info_reads():
    described = []
    (job,) = jobs({'debian': {'releases': [release()]}}, described)
    assert job['rotate']['release_key'] == 'debian-13' and job['rotate']['name'] == 'Debian 13 Trixie'
    assert job['discover'] == {
        'source': 'debian', 'release': '13', 'arch': 'x86_64', 'options': {}, 'url_rewrites': {},
        'allow_unsigned': False, 'keyring': None, 'trusted_fingerprints': None, 'signing_keys': {},
        'cache_dir': '/c', 'transfer_deadline': 1800, 'checked_since': None, 'accept_withdrawal': None}
    assert (job['min_ram'], job['min_disk'], job['boot_test'], job['boot_flavor']) == (512, 0, True, 'f1')
    assert job['rotate']['properties'] == {
        'architecture': 'x86_64', 'a': 1, 'os_distro': 'debian', 'os_version': '13',
        'provided_until': '2030-06-30', 'image_description': 'about Debian 13 Trixie'}
    assert not job['rotate']['retired'] and job['retired_reason'] == ''
    assert described == [('Debian 13 Trixie', True, 'x86_64')]


def test_properties_merge_from_the_least_to_the_most_specific():
    data = {'debian': {'releases': [release(properties={'b': 'release', 'c': 'release'})],
                       'properties': {'a': 'dist', 'b': 'dist'}}}
    (job,) = jobs(data, extra_properties={'a': 'cloud', 'd': 'cloud'},
                  release_properties={'debian-13': {'c': 'key', 'e': None}})
    props = job['rotate']['properties']
    assert (props['a'], props['b'], props['c'], props['d'], props['e']) == ('dist', 'release', 'key', 'cloud', None)


def test_release_defaults_and_distribution_data_merge_under_each_release():
    windows = release(release='2025', name='W', signing_keys={'2025': ['B']}, min_ram=4096, description='mine')
    data = {'windows': {'source': 'checksum_file', 'allow_unsigned': 'true', 'signing_keys': {'*': ['A']},
                        'release_defaults': {'min_ram': '2048', 'boot_marker': '',
                                             'properties': {'os_type': 'windows'}},
                        'properties': {'x': 1}, 'releases': [windows]}}
    described = []
    (job,) = jobs(data, described)
    assert job['discover']['source'] == 'checksum_file' and job['discover']['allow_unsigned'] is True
    assert job['discover']['signing_keys'] == {'*': ['A'], '2025': ['B']}
    assert (job['min_ram'], job['boot_marker']) == (4096, '')
    assert job['rotate']['properties']['os_type'] == 'windows' and job['rotate']['properties']['x'] == 1
    assert job['rotate']['properties']['image_description'] == 'mine' and described == []


def test_enabled_narrows_the_releases_by_name_as_text():
    data = {'debian': {'enabled': [12], 'releases': [release(), release(release=12, name='Debian 12')]}}
    (job,) = jobs(data)
    assert job['rotate']['release_key'] == 'debian-12'


def test_one_job_per_release_and_architecture_each_its_own_key_name_property_and_discovery():
    current = release(release='current', name='Fedora {release}', scs_name='Fedora {release}')
    data = {'fedora': {'releases': [current, release(release='44', name='F44', arch='riscv64')]}}
    described = []
    found = jobs(data, described, architectures=['x86_64', 'aarch64'], boot_architectures=['x86_64'],
                 arch_properties={'aarch64': {'hw_firmware_type': 'uefi', 'architecture': 'no'}})
    keys = [job['rotate']['release_key'] for job in found]
    assert keys == ['fedora-current', 'fedora-current-aarch64', 'fedora-44-riscv64']
    assert [job['discover']['arch'] for job in found] == ['x86_64', 'aarch64', 'riscv64']
    # x86_64 keeps SCS-0104's names; a stream's {release} stays for its expansion.
    assert [job['rotate']['name'] for job in found] == [
        'Fedora {release}', 'Fedora {release} (aarch64)', 'F44 (riscv64)']
    props = [job['rotate']['properties'] for job in found]
    assert [p['architecture'] for p in props] == ['x86_64', 'aarch64', 'riscv64']
    assert 'hw_firmware_type' not in props[0] and props[1]['hw_firmware_type'] == 'uefi'
    assert [job['boot_test'] for job in found] == [True, False, False]
    # The description hears the release's wish and the architecture: it says why aarch64 was not tested.
    assert [(boot, arch) for _name, boot, arch in described] == [
        (True, 'x86_64'), (True, 'aarch64'), (True, 'riscv64')]


def test_the_scs_profile_names_each_architecture_apart():
    (x86, arm) = jobs({'debian': {'releases': [release()]}}, naming='scs',
                      architectures=['x86_64', 'aarch64'], arch_name='{name} {arch}')
    assert (x86['rotate']['name'], arm['rotate']['name']) == ('Debian 13', 'Debian 13 aarch64')


def test_a_release_s_own_architectures_win_over_the_cloud_s():
    found = jobs({'cirros': {'releases': [release(architectures=['aarch64'])]}},
                 architectures=['x86_64', 'aarch64'])
    assert [job['rotate']['release_key'] for job in found] == ['cirros-13-aarch64']


def test_what_a_provider_builds_narrows_the_cloud_s_architectures():
    windows = release(name='Windows', options={'architectures': ['x86_64']})
    found = jobs({'windows': {'releases': [windows]}}, architectures=['x86_64', 'aarch64'])
    assert [job['rotate']['release_key'] for job in found] == ['windows-13']
    # In an aarch64-only cloud it is left out with a warning: the other releases still sync.
    warned = []
    found = jobs({'windows': {'releases': [windows]}, 'cirros': {'releases': [release()]}},
                 warned=warned, architectures=['aarch64'])
    assert [job['rotate']['release_key'] for job in found] == ['cirros-13-aarch64']
    assert len(warned) == 1 and 'Windows is built for x86_64 only, none of' in warned[0], warned
    # Asked for by the release itself, it stays: discovery then names what the provider builds.
    found = jobs({'windows': {'releases': [dict(windows, arch='aarch64')]}}, architectures=['x86_64'])
    assert [job['discover']['arch'] for job in found] == ['aarch64']


@pytest.mark.parametrize('knobs, message', [
    ({'architectures': ['x86_64', 'x86_64']}, 'architectures must be distinct'),
    ({'architectures': []}, 'at least one'),
    ({'architectures': ['x86_64', 'aarch64'], 'arch_name': '{name} arm'}, 'must hold {arch}')])
def test_architecture_settings_that_cannot_work_are_refused(knobs, message):
    with pytest.raises(_jobs.JobError, match=message):
        jobs({'debian': {'releases': [release()]}}, **knobs)


@pytest.mark.parametrize('naming, base, name', [
    ('latest_suffix', '', 'Debian 13 Trixie'), ('scs', '', 'Debian 13'),
    ('latest_suffix', 'scs', 'Debian 13'), ('scs', 'display', 'Debian 13 Trixie')])
def test_the_base_name_follows_the_naming_profile(naming, base, name):
    (job,) = jobs({'debian': {'releases': [release()]}}, naming=naming, base_name=base)
    assert job['rotate']['name'] == name


def test_scs_name_falls_back_to_the_display_name():
    (job,) = jobs({'generic': {'releases': [release(scs_name=None)]}}, naming='scs')
    assert job['rotate']['name'] == 'Debian 13 Trixie'


@pytest.mark.parametrize('over, retired, reason', [
    ({'end_of_support': '2026-12-06'}, True, ''), ({'end_of_support': '2026-12-07'}, False, ''),
    ({'end_of_support': 'none'}, False, ''), ({'retired': 'yes'}, True, 'retired: true in the distribution data')])
def test_retired_by_the_data_or_past_its_end_of_support(over, retired, reason):
    (job,) = jobs({'debian': {'releases': [release(**over)]}})
    assert (job['rotate']['retired'], job['retired_reason']) == (retired, reason)


def test_a_stream_carries_its_dates_per_release():
    spec = release(release='current', end_of_support='none', end_of_support_by_release={'44': '2026-12-01'})
    (job,) = jobs({'fedora': {'releases': [spec]}})
    assert job['stream'] == {'end_of_support': {'44': '2026-12-01'}} and job['end_of_support'] == 'none'


@pytest.mark.parametrize('field', ['release', 'name'])
def test_a_release_without_release_or_name_is_refused_naming_the_variable(field):
    with pytest.raises(_jobs.JobError, match='debian_releases: an entry has no %s' % field):
        jobs({'debian': {'releases': [release(**{field: ''})]}})


@pytest.mark.parametrize('name, run, skip, expected', [
    ('ubuntu', ['all'], [], True), ('ubuntu', ['debian'], [], False), ('ubuntu', ['ubuntu', 'x'], [], True),
    ('acme.images.opensuse', ['opensuse'], [], True), ('ubuntu', ['all'], ['ubuntu'], False),
    ('ubuntu', ['ubuntu'], ['all'], False)])
def test_tags_pick_distributions_by_their_short_name(name, run, skip, expected):
    assert _jobs.selected(name, run, skip) is expected


def test_an_accepted_withdrawal_reaches_discovery_and_rotation_of_its_key_only():
    taken = {'withdrawn': '2', 'back_to': '1'}
    one, two = jobs({'debian': {'releases': [release(), release(release='12', name='D12')]}},
                    accept_withdrawal={'debian-12': taken})
    assert one['discover']['accept_withdrawal'] is None and one['rotate']['accept_withdrawal'] is None
    assert two['discover']['accept_withdrawal'] == two['rotate']['accept_withdrawal'] == taken


def test_a_cloud_of_one_other_architecture_can_keep_its_names():
    (job,) = jobs({'debian': {'releases': [release()]}}, architectures=['aarch64'], arch_name='{name}')
    assert (job['rotate']['name'], job['rotate']['release_key']) == ('Debian 13 Trixie', 'debian-13-aarch64')
