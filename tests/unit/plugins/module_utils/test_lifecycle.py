"""Releases over time, on the vendors' real files (tests/data/vendor_samples, see SOURCES.md there).

End of life as the vendor says it, Fedora's ``current`` stream, new releases announced. The HTTP
parts run against a real loopback server that serves the corpus files (conditional requests
included), as the vendors would.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import stat
import threading
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _lifecycle
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    Context, DiscoveryError, EndOfLife, Response,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    DISCOVER_SPEC, Documents, discover, vendor_catalog,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._checksum_dir import (
    AlmaLinux, ChecksumFile, Rocky,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._cirros import CirrOS
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._debian import Debian
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._fedora import Fedora, pick_release
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._ubuntu import (
    Ubuntu, UbuntuMinimal)

SAMPLES = Path(__file__).resolve().parents[3] / 'data' / 'vendor_samples'
STREAM = 'https://cloud-images.ubuntu.com/releases/streams/v1/com.ubuntu.cloud:released:download.json'
FEDORA_44_KEY = '36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6'


def sample(path):
    return Response('https://vendor.test/' + path, 200, (SAMPLES / path).read_bytes())


@pytest.fixture(scope='module')
def corpus_server():
    """The corpus over real HTTP on 127.0.0.1 (SimpleHTTPRequestHandler answers If-Modified-Since with 304)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SAMPLES))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d/' % server.server_address[1]
    server.shutdown()
    server.server_close()


# -- Ubuntu: supported / support_eol in the real streams ------------------------------------------------
def test_ubuntu_real_stream_lifecycle_per_release():
    catalog = Ubuntu('catalog').catalog(sample('ubuntu/released-download-2024-08-22.json'))
    by_release = {item['release']: item for item in catalog}
    assert [item['release'] for item in catalog][:3] == ['24.04', '23.10', '20.10']
    assert by_release['24.04']['lts'] and not by_release['23.10']['lts']
    today = '2024-08-22'  # the file's own "updated" date
    # Marked unsupported by Ubuntu.
    assert _lifecycle.end_of_life(by_release['20.10'], today)[0] == '2021-07-22'
    assert 'supported: false' in _lifecycle.end_of_life(by_release['20.10'], today)[1]
    # Still "supported": true a month after its support_eol: the date decides.
    assert by_release['23.10']['supported'] is True
    assert _lifecycle.end_of_life(by_release['23.10'], today) == (
        '2024-07-11', 'its end of support 2024-07-11 (support_eol in its index) has passed')
    assert _lifecycle.end_of_life(by_release['24.04'], today) is None
    assert _lifecycle.end_of_life(by_release['24.04'], '2029-06-01')[0] == '2029-05-31'


def test_ubuntu_end_of_life_product_is_never_returned_as_newest(corpus_server, tmp_path):
    """20.10 is in the real stream with its last build; discovery retires it and remembers why."""
    rewrites = {STREAM: corpus_server + 'ubuntu/released-download-2024-08-22.json'}
    for attempt in range(2):  # the second run gets 304 and the remembered end of life
        with pytest.raises(EndOfLife) as caught:
            discover(make_session(), Ubuntu('20.10'), cache_dir=str(tmp_path), rewrites=rewrites, today='2026-12-02')
        assert caught.value.date == '2021-07-22' and caught.value.requests == 1, attempt
        assert 'ubuntu 20.10 has reached its end of life: Ubuntu marks it unsupported (supported: false, ' \
               'support_eol 2021-07-22)' in str(caught.value)
    # 23.10 says supported, but its support_eol has passed on the day the stream was published.
    with pytest.raises(EndOfLife, match='end of support 2024-07-11'):
        discover(make_session(), Ubuntu('23.10'), cache_dir=str(tmp_path), rewrites=rewrites, today='2024-08-22')


def test_ubuntu_minimal_real_stream(corpus_server):
    catalog = UbuntuMinimal('catalog').catalog(sample('ubuntu_minimal/minimal-released-download-excerpt-2023-11-02.json'))
    assert catalog == [{'supported': True, 'support_eol': '2024-07-11', 'release': '23.10', 'lts': False,
                        'title': 'Ubuntu Minimal 23.10 Mantic Minotaur'}]
    # An interim release is not announced as a new LTS; it would be without the LTS filter.
    assert _lifecycle.available(catalog, {'22.04'}, '2023-11-02', lts_only=True) == []
    assert _lifecycle.available(catalog, {'22.04'}, '2023-11-02') == catalog


def test_vendor_catalog_is_one_conditional_request_per_run(corpus_server, tmp_path):
    params = {key: spec.get('default') for key, spec in DISCOVER_SPEC.items()}
    params.update(source='ubuntu', release='catalog', cache_dir=str(tmp_path), checked_since=1.0,
                  url_rewrites={STREAM: corpus_server + 'ubuntu/released-download-2024-08-22.json'})
    first, requests = vendor_catalog(make_session(), params)
    assert requests == 1 and first[0]['release'] == '24.04'
    again, requests = vendor_catalog(make_session(), params)  # same run: no request at all
    assert (again, requests) == (first, 0)
    params['checked_since'] = 4102444800.0  # a later run: one conditional request, 304
    again, requests = vendor_catalog(make_session(), params)
    assert (again, requests) == (first, 1)


def test_vendor_catalog_of_a_first_run_creates_the_cache(corpus_server, tmp_path):
    # Fedora's current is expanded before any release is discovered: the catalog comes first.
    params = {key: spec.get('default') for key, spec in DISCOVER_SPEC.items()}
    params.update(source='ubuntu', release='catalog', cache_dir=str(tmp_path / 'new' / 'cache'),
                  url_rewrites={STREAM: corpus_server + 'ubuntu/released-download-2024-08-22.json'})
    releases, requests = vendor_catalog(make_session(), params)
    assert requests == 1 and releases[0]['release'] == '24.04'
    assert stat.S_IMODE((tmp_path / 'new' / 'cache').stat().st_mode) == 0o700


@pytest.mark.parametrize('change', ['group_writable', 'other_owner'])
def test_a_state_file_another_user_could_have_written_is_not_reused(corpus_server, tmp_path, change):
    # The state is a verdict (the verified release), not proven on use: in a shared cache it is
    # reused only when this user wrote it and no one else can change it; else upstream is asked.
    tmp_path.chmod(0o2775)  # an fsGroup volume
    params = {key: spec.get('default') for key, spec in DISCOVER_SPEC.items()}
    params.update(source='ubuntu', release='catalog', cache_dir=str(tmp_path), checked_since=1.0,
                  url_rewrites={STREAM: corpus_server + 'ubuntu/released-download-2024-08-22.json'})
    first, requests = vendor_catalog(make_session(), params)
    (state,) = [path for path in (tmp_path / 'state').iterdir() if path.is_file()]
    assert stat.S_IMODE(state.stat().st_mode) & 0o022 == 0  # written so the group cannot change it
    if change == 'group_writable':
        state.chmod(0o664)
    elif os.geteuid() == 0:
        os.chown(state, 12345, 0)
    else:
        pytest.skip('another owner needs root')
    again, requests = vendor_catalog(make_session(), params)
    assert (again, requests) == (first, 1)
    assert vendor_catalog(make_session(), params) == (first, 0)  # its own state, written anew, is reused


def test_the_streams_file_once_per_run_for_the_catalog_and_every_release(corpus_server, tmp_path):
    """Ubuntu's streams file is the vendor list and every release's entry: a run's Documents asks once."""
    params = {key: spec.get('default') for key, spec in DISCOVER_SPEC.items()}
    params.update(source='ubuntu', release='catalog', cache_dir=str(tmp_path),
                  url_rewrites={STREAM: corpus_server + 'ubuntu/released-download-2024-08-22.json'})
    for day, asked in ((1, 1), (2, 1)):  # day 2: one conditional request (304) for all three readers
        documents, requests = Documents(), 0
        for release in ('20.10', '23.10'):  # both ended: discovery needs only the entry
            with pytest.raises(EndOfLife) as caught:
                discover(make_session(), Ubuntu(release), cache_dir=str(tmp_path), rewrites=params['url_rewrites'],
                         today='2024-08-22', documents=documents)
            requests += caught.value.requests
        catalog, count = vendor_catalog(make_session(), params, documents=documents)
        assert catalog[0]['release'] == '24.04' and requests + count == asked, day


# -- Debian: the archive's dists/ listing; Rocky and AlmaLinux: their top directory -----------------------
def listing(*names):
    return Response('https://vendor.test/', 200, ''.join('<a href="%s">%s</a>\n' % (name, name) for name in names).encode())


def test_debian_catalog_is_the_released_versions_of_the_real_dists_listing():
    catalog = Debian('catalog').catalog(sample('debian/dists-listing.reconstructed-2026-06.html'))
    assert catalog == [
        {'release': '13', 'title': 'Debian 13 Trixie', 'lts': False, 'supported': None, 'support_eol': None},
        {'release': '12', 'title': 'Debian 12 Bookworm', 'lts': False, 'supported': None, 'support_eol': None},
        {'release': '11', 'title': 'Debian 11 Bullseye', 'lts': False, 'supported': None, 'support_eol': None}]
    # forky/ (testing) has its suite directories already: not a release, not announced.
    assert _lifecycle.available(catalog, {'13', '12'}, '2026-12-02') == []
    assert [item['release'] for item in _lifecycle.available(catalog, {'12'}, '2026-12-02')] == ['13']


def test_debian_catalog_announces_a_new_stable_only_by_its_point_release_link():
    source = Debian('catalog')
    assert source.catalog_url() == 'https://deb.debian.org/debian/dists/'
    assert [item['title'] for item in source.catalog(listing('Debian14.0/', 'Debian13.6/', 'forky/', 'stable/'))] == [
        'Debian 14 Forky', 'Debian 13 Trixie']
    # A number without a codename in the data is still named; testing and suites never count.
    assert source.catalog(listing('Debian16.0/'))[0]['title'] == 'Debian 16'
    assert source.catalog(listing('duke/', 'testing/', 'forky-backports/', 'Debian14/', 'Debian14.0')) == []


def test_debian_catalog_ignores_hostile_listing_entries():
    hostile = listing('../Debian99.0/', '/debian/dists/Debian98.0/', 'https://evil.test/Debian97.0/', 'Debian96.0/x/',
                      'Debian0.1/', 'Debian1234.0/', 'Debian14.1234/', 'Debian 14.0/', 'Debian-14.0/',
                      'Debian%31%34.0/x',
                      'Debian14.0/Debian15.0/', '')
    assert Debian('catalog').catalog(hostile) == []
    with pytest.raises(DiscoveryError):  # not text: an error of the catalog, the run goes on (catalog_errors)
        Debian('catalog').catalog(Response('https://vendor.test/', 200, b'\xff\xfe not html at all'))


def test_rocky_catalog_is_the_majors_of_the_real_top_listing():
    catalog = Rocky('catalog').catalog(sample('rocky/pub-rocky-listing.reconstructed-2026.html'))
    assert [(item['release'], item['title']) for item in catalog] == [
        ('10', 'Rocky Linux 10'), ('9', 'Rocky Linux 9'), ('8', 'Rocky Linux 8')]
    assert _lifecycle.available(catalog, {'10', '9'}, '2026-12-02') == []
    assert [item['title'] for item in _lifecycle.available(catalog, {'9'}, '2026-12-02')] == ['Rocky Linux 10']


def test_cirros_catalog_is_the_series_of_the_real_version_file():
    catalog = CirrOS('catalog').catalog(sample('cirros/version-released'))
    assert [(item['release'], item['title']) for item in catalog] == [('0.6', 'CirrOS 0.6 (0.6.3)')]
    assert _lifecycle.available(catalog, {'0.6'}, '2026-12-02') == []


def test_rocky_and_almalinux_catalog_urls_and_hostile_entries():
    assert Rocky('catalog').catalog_url() == 'https://dl.rockylinux.org/pub/rocky/'
    assert AlmaLinux('catalog').catalog_url() == 'https://repo.almalinux.org/almalinux/'
    assert ChecksumFile('catalog').catalog_url() is None  # a provider's own directory lists no releases
    found = AlmaLinux('catalog').catalog(listing(
        '11/', '10.1/', '10/', '10-kitten/', '11-beta/', 'RPM-GPG-KEY-AlmaLinux-11', '../12/', '/almalinux/13/',
        'https://evil.test/14/', '15/x/', '0/', '016/', '1000/', '9'))
    assert [(item['release'], item['title']) for item in found] == [('11', 'AlmaLinux 11'), ('10', 'AlmaLinux 10')]


def test_debian_and_rocky_catalogs_through_vendor_catalog(corpus_server, tmp_path):
    """One request per vendor and run against a real HTTP server, remembered for the next check."""
    for source, url, path, first in (
            ('debian', 'https://deb.debian.org/debian/dists/', 'debian/dists-listing.reconstructed-2026-06.html', '13'),
            ('rocky', 'https://dl.rockylinux.org/pub/rocky/', 'rocky/pub-rocky-listing.reconstructed-2026.html', '10')):
        params = {key: spec.get('default') for key, spec in DISCOVER_SPEC.items()}
        params.update(source=source, release='catalog', cache_dir=str(tmp_path), checked_since=1.0,
                      url_rewrites={url: corpus_server + path})
        releases, requests = vendor_catalog(make_session(), params)
        assert requests == 1 and releases[0]['release'] == first
        assert vendor_catalog(make_session(), params) == (releases, 0)


# -- Fedora: releases.json ---------------------------------------------------------------------------
def test_fedora_real_releases_json():
    doc = sample('fedora/releases.json')
    entries = json.loads(doc.body)
    catalog = Fedora('catalog').catalog(doc)
    assert [item['release'] for item in catalog] == ['40', '39']  # "41 Beta" is not a release
    assert Fedora('current').stream(catalog) == ['40', '39']
    # 38 is gone from the real file: Fedora dropped it at its end of life.
    with pytest.raises(EndOfLife, match='Fedora 38 is no longer in .*, which lists 40, 39') as caught:
        pick_release(entries, '38', 'x86_64', doc.url)
    assert caught.value.date is True
    # 41 is only a beta: not released yet, not an end of life.
    with pytest.raises(DiscoveryError) as caught:
        pick_release(entries, '41', 'x86_64', doc.url)
    assert not isinstance(caught.value, EndOfLife)
    reconstructed = Fedora('catalog').catalog(sample('fedora/releases.reconstructed-f44.json'))
    assert Fedora('current').stream(reconstructed) == ['44']


def fedora_keys():
    """The pins the fedora role ships (roles/fedora/defaults), as the daily sync passes them."""
    with open(SAMPLES.parents[2] / 'roles' / 'fedora' / 'defaults' / 'main.yml', encoding='utf-8') as handle:
        return yaml.safe_load(handle)['fedora_signing_keys']


def fedora_context(signing_keys=None):
    return Context(None, keyring=str(SAMPLES / 'keys' / 'fedora.gpg'),
                   signing_keys=fedora_keys() if signing_keys is None else signing_keys)


def test_fedora_real_checksum_verifies_with_the_pinned_key():
    sums = sample('fedora/Fedora-Cloud-44-1.7-aarch64-CHECKSUM')
    fingerprint, body = fedora_context().verify_clearsigned(Fedora('44', 'aarch64'), sums)
    assert fingerprint == FEDORA_44_KEY and 'Fedora-Cloud-Base-Generic-44-1.7.aarch64.qcow2' in body


def test_fedora_release_without_pinned_key_fails_closed_naming_the_key():
    """What a new Fedora release looks like before its key is pinned (here: 44 with its pin removed)."""
    unpinned = {release: keys for release, keys in fedora_keys().items() if release != '44'}
    sums = sample('fedora/Fedora-Cloud-44-1.7-aarch64-CHECKSUM')
    with pytest.raises(DiscoveryError, match='Fedora 44 has no pinned signing key, so it is refused. Its .* is signed by '
                                             + FEDORA_44_KEY + r'\. Check that key') as caught:
        Fedora('44', 'aarch64')._refuse_unpinned(fedora_context(unpinned), sums)  # pylint: disable=protected-access
    assert 'add its fingerprint for 44' in str(caught.value)


# -- streams and announcements (pure) --------------------------------------------------------------------
STREAM_SPEC = {
    'discover': {'source': 'fedora', 'release': 'current'},
    'rotate': {'provider': 'p', 'release_key': 'fedora-current', 'name': 'Fedora {release}',
               'properties': {'os_version': '{release}', 'provided_until': 'none', 'hw_disk_bus': 'scsi',
                              'image_description': 'Fedora {release}, unmodified'}},
    'stream': {'end_of_support': {'44': '2027-06-01', '45': '2027-12-01'}},
}


def test_stream_release_gets_its_own_key_name_and_dates():
    found = _lifecycle.concrete(STREAM_SPEC, '45', '2026-12-02')
    assert found['discover']['release'] == '45' and found['follows'] == 'current'
    assert found['rotate']['release_key'] == 'fedora-45' and found['rotate']['name'] == 'Fedora 45'
    assert found['rotate']['properties'] == {'os_version': '45', 'provided_until': '2027-12-01', 'hw_disk_bus': 'scsi',
                                             'image_description': 'Fedora 45, unmodified'}
    assert 'retired' not in found['rotate'] and STREAM_SPEC['rotate']['release_key'] == 'fedora-current'
    # The previous release retires on its date (the data's floor), replayed with today.
    old = _lifecycle.concrete(STREAM_SPEC, '44', '2027-06-02')
    assert old['rotate']['retired'] is True and old['retired_reason'] == 'end_of_support 2027-06-01 (distribution data) has passed'
    assert not _lifecycle.concrete(STREAM_SPEC, '44', '2027-06-01')['rotate'].get('retired')
    with pytest.raises(ValueError, match='must be its key'):
        _lifecycle.stream_key(dict(STREAM_SPEC, rotate={'release_key': 'fedora'}))


def test_stream_of_another_architecture_keeps_its_arch_in_every_key():
    spec = dict(STREAM_SPEC, discover={'source': 'fedora', 'release': 'current', 'arch': 'aarch64'},
                rotate=dict(STREAM_SPEC['rotate'], release_key='fedora-current-aarch64'))
    assert _lifecycle.stream_key(spec) == ('fedora', 'aarch64')
    assert _lifecycle.concrete(spec, '45', '2026-12-02')['rotate']['release_key'] == 'fedora-45-aarch64'
    with pytest.raises(ValueError, match='such as fedora-current-aarch64'):
        _lifecycle.stream_key(dict(spec, rotate={'release_key': 'fedora-current'}))
    images = [{'properties': {'cloudimages_release': key}, 'tags': ['managed_by_p']}
              for key in ('fedora-44-aarch64', 'fedora-43', 'fedora-45-aarch64', 'fedora-44-aarch64-x')]
    assert _lifecycle.stream_members(images, 'p', 'fedora', 'aarch64') == ['45', '44']


def test_stream_members_are_the_cloud_images_of_the_stream():
    def image(key, tags=('managed_by_p',)):
        return {'properties': {'cloudimages_release': key}, 'tags': list(tags)}
    images = [image('fedora-43'), image('fedora-44'), image('fedora-44'), image('fedora-coreos-stable'),
              image('fedora-42', tags=('managed_by_other',)), image('fedora-current')]
    assert _lifecycle.stream_members(images, 'p', 'fedora') == ['44', '43']


def test_not_in_data_groups_the_managed_images_of_keys_no_release_carries():
    def image(ident, key, tags=('managed_by_p',)):
        properties = {'cloudimages_release': key} if key else {}
        return {'id': ident, 'name': 'Image %s' % ident, 'visibility': 'community', 'properties': properties,
                'tags': list(tags)}
    images = [image('b', 'rocky-9'), image('a', 'rocky-9'), image('c', 'debian-12'), image('d', None),
              image('e', 'fedora-42', tags=('managed_by_other',))]
    groups = _lifecycle.not_in_data(images, 'p', {'debian-12'})
    assert [(g['release_key'], [i['id'] for i in g['images']]) for g in groups] == [(None, ['d']), ('rocky-9', ['a', 'b'])]
    assert groups[1]['summary'] == 'rocky-9: 2 images (Image a, Image b); in no release of the data, left as they are'
    assert groups[0]['summary'].startswith('no cloudimages_release: 1 image (Image d)')
    assert _lifecycle.not_in_data(images, 'p', {'debian-12', 'rocky-9', None}) == []


def test_available_lists_newer_supported_releases_only():
    catalog = [{'release': '26.04', 'lts': True, 'supported': True, 'support_eol': '2031-05-31'},
               {'release': '25.10', 'lts': False, 'supported': True, 'support_eol': '2026-07-09'},
               {'release': '24.04', 'lts': True, 'supported': True, 'support_eol': '2029-05-31'},
               {'release': '20.04', 'lts': True, 'supported': False, 'support_eol': '2025-05-29'}]
    assert [i['release'] for i in _lifecycle.available(catalog, {'24.04', '22.04'}, '2026-12-02', lts_only=True)] == ['26.04']
    assert _lifecycle.available(catalog, {'26.04', '24.04'}, '2026-12-02', lts_only=True) == []
    ended = [dict(catalog[0], supported=False)]
    assert _lifecycle.available(ended, {'24.04'}, '2026-12-02') == []
