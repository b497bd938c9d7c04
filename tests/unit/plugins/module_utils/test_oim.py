"""The OIM mapping over OIM's own definition files (tests/data/oim, see its SOURCES.md) and the adoption planner."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.migrate import _oim
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _jobs
from test_jobs import KNOBS

ROOT = Path(__file__).resolve().parents[4]
DATA = ROOT / 'tests' / 'data' / 'oim' / 'images'
WHEEL = ROOT / 'tests' / 'data' / 'oim' / 'wheel-0.20261007.0'
ROLES = ('almalinux', 'cirros', 'debian', 'fedora', 'fedora_coreos', 'flatcar', 'rocky', 'ubuntu', 'ubuntu_minimal')
OWNER = 'p-ours'


def roles():
    found = {}
    for role in ROLES:
        defaults = yaml.safe_load((ROOT / 'roles' / role / 'defaults' / 'main.yml').read_text())
        found[role] = {'releases': defaults['%s_releases' % role],
                       'signing_keys': defaults.get('%s_signing_keys' % role) or {}}
    return found


def oim_files():
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(DATA.glob('*.yml'))}


def test_every_oim_image_gets_a_mapping_or_a_reason():
    files = oim_files()
    assert len(files) == 12
    result = _oim.mapping(files, roles(), include_disabled=True)
    names = [image['name'] for document in files.values() for image in document['images']]
    assert len(names) == 29 and sorted(entry['oim_name'] for entry in result['images']) == sorted(names)
    for entry in result['images']:
        assert entry['status'] in ('known', 'generic', 'refused'), entry
        assert entry.get('key') or entry.get('reason'), entry
    by_name = {entry['oim_name']: entry for entry in result['images']}
    assert by_name['Ubuntu 24.04']['key'] == 'ubuntu-24.04'
    assert 'pinned key' in by_name['Ubuntu 24.04']['gained']
    assert by_name['Ubuntu 24.04 Minimal']['key'] == 'ubuntu_minimal-24.04'
    assert by_name['Debian 12']['key'] == 'debian-12'
    assert by_name['Rocky 9']['key'] == 'rocky-9'
    assert by_name['AlmaLinux 9']['key'] == 'almalinux-9'
    assert by_name['Cirros']['key'] == 'cirros-0.6'
    assert by_name['Fedora 37']['key'] == 'fedora-37'
    assert by_name['Flatcar Container Linux']['key'] == 'flatcar-stable'
    # Not carried here: generic when a pinned artifact with a checksum can be fetched, else a reason.
    assert by_name['openSUSE Leap 15.6']['status'] == 'generic'
    assert by_name['Garden Linux']['status'] == 'refused' and 'archive' in by_name['Garden Linux']['reason']
    assert by_name['Ubuntu 14.04']['status'] == 'refused' and 'no release 14.04' in by_name['Ubuntu 14.04']['reason']
    # What stays OIM's is named.
    assert any('password' in note for note in by_name['Cirros']['not_carried'])
    assert any('multi: false' in note for note in by_name['Cirros']['not_carried'])
    assert any('mirror_url' in note for note in by_name['Ubuntu 24.04']['not_carried'])


def test_every_image_of_the_released_oim_gets_a_mapping_or_a_reason():
    # The definition files of the OIM release the integration test installs (0.20261007.0, newer than the
    # repository's copy above: Ubuntu Core, AlmaLinux 10, CentOS Stream 10...).
    files = {path.name: yaml.safe_load(path.read_text()) for path in sorted(WHEEL.glob('*.yml'))}
    result = _oim.mapping(files, roles(), include_disabled=True)
    assert len(files) == 13 and len(result['images']) == 36
    for entry in result['images']:
        assert entry['status'] in ('known', 'generic', 'refused') and (entry.get('key') or entry.get('reason')), entry
    by_name = {entry['oim_name']: entry for entry in result['images']}
    assert by_name['Ubuntu Core 26']['key'] == 'generic-ubuntu-core-26'
    assert by_name['AlmaLinux 10']['key'] == 'almalinux-10' and by_name['Debian 13']['key'] == 'debian-13'


def test_default_mapping_skips_disabled_and_keeps_the_operators_data():
    result = _oim.mapping(oim_files(), roles())
    by_name = {entry['oim_name']: entry for entry in result['images']}
    assert by_name['Ubuntu 14.04']['status'] == 'disabled'
    inventory = result['inventory']
    assert inventory['cloudimages_distributions'] == [
        'almalinux', 'generic', 'cirros', 'debian', 'rocky', 'ubuntu', 'ubuntu_minimal']
    ubuntu = {entry['release']: entry for entry in inventory['ubuntu_releases']}
    assert ubuntu['24.04']['name'] == 'Ubuntu 24.04' and ubuntu['24.04']['end_of_support'] == '2029-05-31'
    props = inventory['image_sync_release_properties']['ubuntu-24.04']
    assert props['uuid_validity'] == 'last-3' and props['hw_watchdog_action'] == 'reset'
    assert props['image_description'] == 'Ubuntu 24.04' and props['image_original_user'] == 'ubuntu'
    # The collection's identity is never an override.
    assert not any(_managed.reserved(key) for p in inventory['image_sync_release_properties'].values() for key in p)
    generic = {entry['release']: entry for entry in inventory['generic_releases']}
    opensuse = generic['opensuse-leap-15.6']
    assert opensuse['source'] == 'local_artifact' and opensuse['options']['checksum'].startswith('sha256:')
    assert by_name['openSUSE Leap 15.6']['trust'] == 'operator-checksum'
    # CentOS Stream 9 follows latest_url: OIM's HEREBE<regex>DRAGONS marks the version in the name.
    centos = generic['centos-stream-9']
    assert centos['source'] == 'checksum_file' and by_name['CentOS Stream 9']['trust'] == 'tls-only'
    assert centos['options']['url'] == 'https://cloud.centos.org/centos/9-stream/x86_64/images/'
    assert centos['options']['checksum_file'] == 'CHECKSUM' and 'version_from' not in centos['options']
    assert re.fullmatch(centos['options']['pattern'], 'CentOS-Stream-GenericCloud-9-20260120.0.x86_64.qcow2')
    assert by_name['CentOS Stream 9']['discover']['source'] == 'checksum_file'
    assert by_name['CentOS Stream 9']['discover']['allow_unsigned'] is True
    assert not any('latest_url' in note for note in by_name['CentOS Stream 9']['not_carried'])


def latest_definition(**extra):
    return dict({'name': 'Thing OS', 'shortname': 'thing-os', 'enable': True, 'format': 'qcow2', 'login': 'thing',
                 'meta': {'os_distro': 'thing'}, 'latest_url': 'https://thing.test/img/thing-latest.qcow2',
                 'latest_checksum_url': 'https://thing.test/img/SHA256SUMS',
                 'versions': [{'version': '20261116', 'url': 'https://thing.test/img/thing-latest.qcow2',
                               'checksum': 'sha256:' + SHA}]}, **extra)


def test_a_generic_latest_url_is_followed_and_versioned_as_oim_does():
    result = _oim.mapping({'t.yml': {'images': [latest_definition()]}}, roles())
    (mapped,) = result['images']
    (release,) = result['inventory']['generic_releases']
    assert release['source'] == 'checksum_file' and release['options'] == {
        'url': 'https://thing.test/img/', 'checksum_file': 'SHA256SUMS', 'pattern': r'thing\-latest\.qcow2',
        'signature': 'none', 'distro': 'thing-os', 'disk_format': 'qcow2', 'compression': 'none',
        'version_from': 'last_modified', 'login_user': 'thing'}
    assert mapped['trust'] == 'tls-only' and 'tls-only' in mapped['gained']
    assert result['inventory']['generic_enabled'] == ['thing-os']
    # A checksum file elsewhere: the pinned version is synced, and the note says why latest_url is not followed.
    other = latest_definition(latest_checksum_url='https://sums.test/SHA256SUMS')
    result = _oim.mapping({'t.yml': {'images': [other]}}, roles())
    assert result['inventory']['generic_releases'][0]['source'] == 'local_artifact'
    assert any('not in the directory of latest_url' in note for note in result['images'][0]['not_carried'])


def test_the_operators_role_overrides_are_read_and_kept():
    data = roles()
    data['ubuntu'] = dict(data['ubuntu'], enabled=['26.04'], properties={'hw_watchdog_action': 'none'},
                          releases=[dict(r, name='Our ' + r['name']) for r in data['ubuntu']['releases']],
                          overridden=True)
    operator = {'cloudimages_distributions': ['windows'], 'image_sync_properties': {'replace_frequency': 'monthly'},
                'image_sync_release_properties': {'ubuntu-24.04': {'uuid_validity': 'forever'}, 'windows-2025': {'a': 'b'}}}
    result = _oim.mapping(oim_files(), data, operator=operator)
    inventory = result['inventory']
    assert inventory['cloudimages_distributions'][0] == 'windows' and 'ubuntu' in inventory['cloudimages_distributions']
    assert inventory['ubuntu_enabled'] == ['22.04', '24.04', '26.04']
    ubuntu = {r['release']: r for r in inventory['ubuntu_releases']}
    assert {'26.04', '24.04', '22.04'} <= set(ubuntu)  # the operator's own list stays whole
    assert ubuntu['26.04']['name'] == 'Our Ubuntu 26.04 Resolute Raccoon' and ubuntu['24.04']['name'] == 'Ubuntu 24.04'
    assert ubuntu['24.04']['end_of_support'] == '2029-05-31'
    # From the role's defaults only the enabled releases are copied.
    # (OIM's catalog has Rocky 8 and 9, the role 9 and 10; Rocky 8 is refused with its reason).
    assert inventory['rocky_enabled'] == ['9']
    assert [r['release'] for r in inventory['rocky_releases']] == ['9']
    props = inventory['image_sync_release_properties']
    assert props['windows-2025'] == {'a': 'b'}
    assert props['ubuntu-24.04']['uuid_validity'] == 'forever'  # the operator's release property wins
    assert 'hw_watchdog_action' not in props['ubuntu-24.04']  # ubuntu_properties sets it: OIM's is not forced
    by_name = {entry['oim_name']: entry for entry in result['images']}
    assert by_name['Ubuntu 24.04']['operator_properties'] == ['hw_watchdog_action', 'replace_frequency', 'uuid_validity']
    discover = by_name['Ubuntu 24.04']['discover']
    assert discover['source'] == 'ubuntu' and discover['release'] == '24.04' and discover['signing_keys']


def test_keep_oim_names_is_oims_naming():
    inventory = _oim.mapping(oim_files(), roles(), keep_oim_names=True)['inventory']
    assert inventory['image_sync_naming'] == 'scs'
    assert inventory['image_sync_name_templates'] == {'latest': '{name}', 'dated': '{name} ({build})'}


def older_notes(entry):
    return [note for note in entry['not_carried'] if note.startswith('older versions')]


def test_older_versions_stay_public_and_listed_as_in_oim_unless_the_operator_says_otherwise():
    result = _oim.mapping(oim_files(), roles())
    assert result['inventory']['image_sync_previous_visibility'] == 'public'
    mapped = [entry for entry in result['images'] if entry.get('key')]
    assert mapped and not any(older_notes(entry) for entry in mapped)  # nothing changes for customers
    # The operator's choice stays, and every image it changes says so.
    operator = {'image_sync_previous_visibility': 'hidden'}
    result = _oim.mapping(oim_files(), roles(), operator=operator)
    assert result['inventory']['image_sync_previous_visibility'] == 'hidden'
    ubuntu = next(entry for entry in result['images'] if entry['oim_name'] == 'Ubuntu 24.04')
    assert older_notes(ubuntu) == ['older versions are public in OIM: here they become hidden '
                                   '(image_sync_previous_visibility of your inventory), usable by UUID']
    # One knob per cloud: an OIM image with private versions is told what its older versions become.
    files = {'t.yml': {'images': [latest_definition(visibility='private'),
                                  latest_definition(name='Other OS', shortname='other-os')]}}
    by_name = {entry['oim_name']: entry for entry in _oim.mapping(files, roles())['images']}
    assert older_notes(by_name['Thing OS']) == ['older versions are private in OIM: here they become public '
                                                '(image_sync_previous_visibility, one per cloud), usable by UUID']
    assert not older_notes(by_name['Other OS'])
    # Only private OIM images: the cloud's default stays.
    result = _oim.mapping({'t.yml': {'images': [latest_definition(visibility='private')]}}, roles())
    assert 'image_sync_previous_visibility' not in result['inventory']


def test_every_distribution_of_this_collection_is_known():
    # OIM's catalog has no Fedora CoreOS; an operator's definition of it is the role's stream.
    files = {'f.yml': {'images': [{'name': 'Fedora CoreOS', 'shortname': 'fedora-coreos', 'format': 'qcow2',
                                   'meta': {}, 'versions': []},
                                  {'name': 'Fedora CoreOS next', 'shortname': 'fedora-coreos-next', 'format': 'qcow2',
                                   'meta': {}, 'versions': []}]}}
    stable, nxt = _oim.mapping(files, roles())['images']
    assert stable['key'] == 'fedora_coreos-stable' and 'pinned key' in stable['gained']
    assert nxt['status'] == 'refused' and 'no release next' in nxt['reason']


def test_enabled_definition_without_checksum_is_refused_by_name():
    files = {'x.yml': {'images': [{'name': 'Thing', 'enable': True, 'format': 'qcow2', 'meta': {},
                                   'versions': [{'version': '1', 'url': 'https://example.org/thing-1.qcow2'}]}]}}
    entry = _oim.mapping(files, roles())['images'][0]
    assert entry['status'] == 'refused' and 'no checksum' in entry['reason'] and entry['oim_name'] == 'Thing'


def test_bad_files_are_refused_with_their_name():
    with pytest.raises(_oim.OimError, match='broken.yml'):
        _oim.mapping({'broken.yml': {'image': []}}, roles())


# Adoption ------------------------------------------------------------------------------------------

SHA = 'a' * 64
SHA512 = 'b' * 128


def entry(discovered=None, fetched=None):
    files = {'u.yml': {'images': [{
        'name': 'Ubuntu 24.04', 'shortname': 'ubuntu-24.04', 'enable': True, 'format': 'qcow2', 'login': 'ubuntu',
        'multi': True, 'meta': {'uuid_validity': 'last-3'},
        'versions': [{'version': '20261101', 'url': 'https://u/1.img', 'checksum': 'sha256:' + SHA},
                     {'version': '20261102', 'url': 'https://u/2.img', 'checksum': 'sha256:' + 'c' * 64}]}]}}
    mapped = _oim.mapping(files, roles())['images'][0]
    return _oim.proofs(mapped, discovered, fetched)


def image(image_id, version, sha512=SHA512, owner=OWNER, tags=(_oim.OIM_TAG,), **extra):
    return dict({'id': image_id, 'name': 'Ubuntu 24.04 (%s)' % version, 'owner': owner, 'status': 'active',
                 'tags': list(tags), 'os_hash_algo': 'sha512', 'os_hash_value': sha512, 'checksum': 'm' * 32,
                 'properties': {'image_description': 'Ubuntu 24.04', 'internal_version': version}}, **extra)


def fetched(sha512):
    return {('file', '20261101'): {'upstream_digests': {'sha256': SHA}, 'digests': {'sha256': SHA, 'sha512': sha512}}}


def test_adopts_only_proven_bytes():
    mapped = entry(fetched=fetched(SHA512))
    images = [image('one', '20261101'), image('two', '20261102', sha512='2' * 128), image('evil', '20261101', sha512='e' * 128),
              image('other', '20261101', owner='p-other'), image('plain', '20261101', tags=())]
    plan = _oim.adoption(images, [mapped], 'cloudimages', (OWNER,))
    assert [a['id'] for a in plan['adopt']] == ['one']
    adopt = plan['adopt'][0]
    assert adopt['properties'] == {_managed.RELEASE: 'ubuntu-24.04', _managed.BUILD: '20261101',
                                   _managed.DIGEST: 'sha256:' + SHA, _managed.TRUST: 'operator-checksum'}
    reasons = {u['id']: u['reason'] for u in plan['untouched']}
    assert 'not downloaded' in reasons['two'] and 'algorithms' not in reasons['evil'] and 'not proven' in reasons['evil']
    assert 'p-other' in reasons['other'] and 'plain' not in reasons


def test_a_download_that_does_not_match_the_definition_proves_nothing():
    mapped = entry(fetched={('file', '20261101'): {'upstream_digests': {'sha256': 'f' * 64}, 'digests': {'sha512': SHA512}}})
    plan = _oim.adoption([image('one', '20261101')], [mapped], 'cloudimages', (OWNER,))
    assert not plan['adopt'] and 'not proven' in plan['untouched'][0]['reason']


def test_the_vendors_signed_digest_gives_the_trust_and_a_disagreement_proves_nothing():
    release = {'version': '20261101', 'checksum': 'sha256:' + SHA, 'checksum_url': 'https://u/SHA256SUMS',
               'signature': {'fingerprint': 'F' * 40}}
    mapped = entry(discovered=release, fetched=fetched(SHA512))
    adopt = _oim.adoption([image('one', '20261101')], [mapped], 'cloudimages', (OWNER,))['adopt'][0]
    assert adopt['properties'][_managed.TRUST] == 'signed:' + 'F' * 40
    release = dict(release, checksum='sha256:' + 'd' * 64)
    mapped = entry(discovered=release, fetched=fetched(SHA512))
    assert not _oim.adoption([image('one', '20261101')], [mapped], 'cloudimages', (OWNER,))['adopt']


def test_a_version_discovered_in_this_run_records_the_vendors_trust_the_others_the_operators():
    mapped = _oim.mapping({'u.yml': {'images': [{
        'name': 'Ubuntu 24.04', 'shortname': 'ubuntu-24.04', 'format': 'qcow2', 'meta': {},
        'versions': [{'version': '20261101', 'url': 'https://u/1.img', 'checksum': 'sha512:' + SHA512},
                     {'version': '20261102', 'url': 'https://u/2.img', 'checksum': 'sha512:' + 'c' * 128}]}]}},
        roles())['images']
    signed = {'version': '20261102', 'checksum': 'sha512:' + 'c' * 128, 'checksum_url': 'https://u/SHA256SUMS',
              'signature': {'fingerprint': 'F' * 40}}
    discovered = [{'item': mapped[0], 'release': signed}, {'item': {'oim_name': 'Other'}, 'failed': True, 'msg': 'x'}]
    proven = _oim.with_proofs(mapped, [], discovered)
    plan = _oim.adoption([image('old', '20261101'), image('new', '20261102', sha512='c' * 128)], proven,
                         'cloudimages', (OWNER,))
    trust = {a['id']: a['properties'][_managed.TRUST] for a in plan['adopt']}
    assert trust == {'old': 'operator-checksum', 'new': 'signed:' + 'F' * 40}
    unsigned = dict(signed, signature=None)
    proven = _oim.with_proofs(mapped, [], [{'item': mapped[0], 'release': unsigned}])
    plan = _oim.adoption([image('new', '20261102', sha512='c' * 128)], proven, 'cloudimages', (OWNER,))
    assert plan['adopt'][0]['properties'][_managed.TRUST] == 'tls-only'


def test_downloads_follow_the_url_rewrites():
    mapped = entry()
    fetch = _oim.to_fetch([image('one', '20261101')], [mapped], (OWNER,), rewrites={'https://': 'http://127.0.0.1:9/'})
    assert fetch == [{'oim_name': 'Ubuntu 24.04', 'version': '20261101', 'url': 'http://127.0.0.1:9/u/1.img',
                      'checksum': 'sha256:' + SHA}]


def test_adoption_is_idempotent():
    mapped = entry(fetched=fetched(SHA512))
    first = image('one', '20261101')
    adopt = _oim.adoption([first], [mapped], 'cloudimages', (OWNER,))['adopt'][0]
    done = copy.deepcopy(first)
    done['tags'].append(adopt['tag'])
    done['properties'].update(adopt['properties'])
    again = _oim.adoption([done], [mapped], 'cloudimages', (OWNER,))
    assert not again['adopt'] and again['adopted'][0]['id'] == 'one'


def test_inactive_protected_and_unknown_images_stay_untouched():
    mapped = entry(fetched=fetched(SHA512))
    images = [image('q', '20261101', status='queued'), image('p', '20261101', protected=True),
              dict(image('x', '20261101'), properties={'image_description': 'Talos', 'internal_version': '1'}),
              image('latest', 'latest', sha512='3' * 128)]
    reasons = {u['id']: u['reason'] for u in _oim.adoption(images, [mapped], 'cloudimages', (OWNER,))['untouched']}
    assert 'queued' in reasons['q'] and 'protected' in reasons['p']
    assert 'no OIM definition' in reasons['x'] and 'no pinned version' in reasons['latest']


# OIM's version strings are not the vendor's build ids (contrib/update.py of OIM: a MirrorDirHandler
# build is versioned by its file's Last-Modified day, a DirListingHandler one by its directory's date
# without Debian's build number; main.py versions a `version: latest` image by the Last-Modified day).
# Adoption finds the build by digest and records the vendor's build id, which the daily sync discovers.

def real(file_name, name):
    mapped = _oim.mapping({file_name: oim_files()[file_name]}, roles())['images']
    return next(e for e in mapped if e['oim_name'] == name)


def oim_image(image_id, entry, version, sha512, **extra):
    return dict({'id': image_id, 'name': entry['oim_name'], 'owner': OWNER, 'status': 'active',
                 'tags': [_oim.OIM_TAG], 'os_hash_algo': 'sha512', 'os_hash_value': sha512, 'checksum': 'm' * 32,
                 'properties': {'image_description': entry['oim_name'], 'internal_version': version}}, **extra)


def test_a_centos_stream_build_versioned_by_its_last_modified_day_is_adopted_as_the_vendors_build():
    mapped = real('centos.yml', 'CentOS Stream 9')
    (oim_version,) = mapped['versions']
    assert oim_version['version'] == '20260120' and '-9-20260119.0.' in oim_version['url']  # OIM's files say so
    assert mapped['key'] == 'generic-centos-stream-9'
    vendor = {'version': '20260119.0', 'checksum': oim_version['checksum'], 'signature': {'kind': 'none'},
              'url': oim_version['url'], 'checksum_url': 'https://cloud.centos.org/CHECKSUM'}
    glance = oim_image('c9', mapped, '20260120', SHA512)
    proven = _oim.with_proofs([mapped], [], [{'item': mapped, 'release': vendor}])
    # Glance hashed sha512, CentOS publishes sha256: the definition's file is downloaded and verified.
    (fetch,) = _oim.to_fetch([glance], proven, (OWNER,))
    assert fetch['version'] == '20260120' and fetch['checksum'] == oim_version['checksum']
    sha256 = oim_version['checksum'].split(':')[1]
    result = {'item': fetch, 'upstream_digests': {'sha256': sha256}, 'digests': {'sha256': sha256, 'sha512': SHA512}}
    proven = _oim.with_proofs([mapped], [result], [{'item': mapped, 'release': vendor}])
    plan = _oim.adoption([glance, oim_image('wrong', mapped, '20260120', 'e' * 128)], proven, 'cloudimages', (OWNER,))
    (adopt,) = plan['adopt']
    assert adopt['id'] == 'c9' and adopt['properties'] == {
        _managed.RELEASE: 'generic-centos-stream-9', _managed.BUILD: '20260119.0',
        _managed.DIGEST: oim_version['checksum'], _managed.TRUST: 'tls-only'}
    (untouched,) = plan['untouched']
    assert untouched['id'] == 'wrong' and 'not proven' in untouched['reason']


def test_a_debian_build_named_by_its_date_alone_is_adopted_as_the_vendors_build_id():
    mapped = real('debian.yml', 'Debian 12')
    (oim_version,) = mapped['versions']
    vendor = {'version': '20260124-2367', 'checksum': oim_version['checksum'], 'signature': {'fingerprint': 'F' * 40},
              'checksum_url': 'https://cdimage.debian.org/SHA512SUMS'}
    glance = oim_image('d12', mapped, '20260124', oim_version['checksum'].split(':')[1])
    proven = _oim.with_proofs([mapped], [], [{'item': mapped, 'release': vendor}])
    assert not _oim.to_fetch([glance], proven, (OWNER,))  # Glance's sha512 is Debian's: nothing to download
    (adopt,) = _oim.adoption([glance], proven, 'cloudimages', (OWNER,))['adopt']
    assert adopt['properties'][_managed.BUILD] == '20260124-2367'
    assert adopt['properties'][_managed.TRUST] == 'signed:' + 'F' * 40


def test_an_image_of_a_latest_pointer_is_proven_by_the_vendors_build_downloaded_in_this_run():
    # OIM's `version: latest` (main.py): internal_version is the Last-Modified day, no pinned version holds it.
    files = {'u.yml': {'images': [dict(pick_definition('ubuntu.yml', 'Ubuntu 24.04'), versions=[{
        'version': 'latest', 'url': 'https://cloud-images.ubuntu.com/noble/current/noble-server-cloudimg-amd64.img',
        'checksums_url': 'https://cloud-images.ubuntu.com/noble/current/SHA256SUMS'}])]}}
    mapped = _oim.mapping(files, roles())['images'][0]
    assert any(note.startswith('version latest') for note in mapped['not_carried'])
    vendor = {'version': '20261116', 'checksum': 'sha256:' + SHA, 'signature': {'fingerprint': 'F' * 40},
              'url': 'http://127.0.0.1:9/noble/release-20261116/noble-server-cloudimg-amd64.img'}
    glance, other = oim_image('u', mapped, '20261117', SHA512), oim_image('v', mapped, '20261001', 'e' * 128)
    discovered = [{'item': mapped, 'release': vendor}]
    proven = _oim.with_proofs([mapped], [], discovered)
    fetch = _oim.to_fetch([glance, other], proven, (OWNER,))
    assert fetch == [{'oim_name': 'Ubuntu 24.04', 'version': '20261116', 'release': vendor}]  # once for both
    result = {'item': fetch[0], 'upstream_digests': {'sha256': SHA}, 'digests': {'sha256': SHA, 'sha512': SHA512}}
    plan = _oim.adoption([glance, other], _oim.with_proofs([mapped], [result], discovered), 'cloudimages', (OWNER,))
    (adopt,) = plan['adopt']
    assert adopt['id'] == 'u' and adopt['properties'][_managed.BUILD] == '20261116'
    assert adopt['properties'][_managed.DIGEST] == 'sha256:' + SHA
    (untouched,) = plan['untouched']
    assert untouched['id'] == 'v' and 'names no pinned version' in untouched['reason']
    # An older pinned version beside the pointer: its own file is downloaded, not the vendor's newest.
    files['u.yml']['images'][0]['versions'].insert(0, {'version': '20261001', 'url': 'https://u/1.img',
                                                       'checksum': 'sha256:' + 'c' * 64})
    mapped = _oim.mapping(files, roles())['images'][0]
    fetch = _oim.to_fetch([glance, other], _oim.with_proofs([mapped], [], discovered), (OWNER,))
    assert [(f['version'], 'release' in f) for f in fetch] == [('20261001', False), ('20261116', True)]
    # A second image with the same bytes is not adopted as the same build again.
    twin = oim_image('w', mapped, '20261117', SHA512)
    plan = _oim.adoption([glance, twin], _oim.with_proofs([mapped], [result], discovered), 'cloudimages', (OWNER,))
    assert [a['id'] for a in plan['adopt']] == ['u'] and 'same bytes as image u' in plan['untouched'][0]['reason']


def pick_definition(file_name, name):
    return next(dict(d) for d in oim_files()[file_name]['images'] if d['name'] == name)


# OIM's schema allows meta.architecture x86_64, aarch64 and risc-v; its own catalog (4170bad and its
# history) carries no aarch64 definition, so the Arm image here is OIM's real Ubuntu 24.04 definition
# with the architecture and the arm64 file an operator's catalog would give it.

def arm(definition, name):
    return dict(definition, name=name, meta=dict(definition['meta'], architecture='aarch64'), versions=[dict(
        definition['versions'][0], url=definition['versions'][0]['url'].replace('amd64', 'arm64'),
        checksum='sha256:' + 'a' * 64)])


def test_an_aarch64_image_is_the_aarch64_job_of_its_release():
    ubuntu = pick_definition('ubuntu.yml', 'Ubuntu 24.04')
    assert ubuntu['meta']['architecture'] == 'x86_64'
    # The Arm file sorts first: the release's name is still the x86_64 image's.
    files = {'a.yml': {'images': [arm(ubuntu, 'Ubuntu 24.04 (aarch64)')]}, 'u.yml': {'images': [ubuntu]}}
    result = _oim.mapping(files, roles(), keep_oim_names=True, operator={'image_sync_architectures': ['x86_64']})
    by_name = {e['oim_name']: e for e in result['images']}
    arm64 = by_name['Ubuntu 24.04 (aarch64)']
    assert (arm64['key'], arm64['architecture'], arm64['discover']['arch']) == ('ubuntu-24.04-aarch64', 'aarch64', 'aarch64')
    assert by_name['Ubuntu 24.04']['key'] == 'ubuntu-24.04' and 'job' not in by_name['Ubuntu 24.04']
    assert "the aarch64 job of ubuntu 24.04" in arm64['job'] and "'Ubuntu 24.04 (aarch64)'" in arm64['job']
    assert not any('name' in note for note in arm64['not_carried'])  # OIM's name is the one it gets here
    inventory = result['inventory']
    (release,) = [r for r in inventory['ubuntu_releases'] if r['release'] == '24.04']
    assert release['architectures'] == ['aarch64', 'x86_64'] and release['name'] == 'Ubuntu 24.04'
    props = inventory['image_sync_release_properties']
    assert props['ubuntu-24.04-aarch64']['image_description'] == 'Ubuntu 24.04 (aarch64)'
    assert props['ubuntu-24.04']['image_description'] == 'Ubuntu 24.04'
    # The daily sync's queue over the written inventory has both jobs, named as OIM named them.
    data = {'ubuntu': {'releases': inventory['ubuntu_releases'], 'enabled': inventory['ubuntu_enabled']}}
    knobs = dict(KNOBS, properties={}, release_properties=props, naming='scs', base_name='scs')
    jobs = {job['rotate']['release_key']: job for job in _jobs.queue(data, knobs, lambda *a: '', AssertionError)}
    assert sorted(k for k in jobs if k.startswith('ubuntu-24.04')) == ['ubuntu-24.04', 'ubuntu-24.04-aarch64']
    assert jobs['ubuntu-24.04-aarch64']['rotate']['name'] == 'Ubuntu 24.04 (aarch64)'
    assert jobs['ubuntu-24.04-aarch64']['rotate']['properties']['architecture'] == 'aarch64'
    assert jobs['ubuntu-24.04-aarch64']['discover']['arch'] == 'aarch64'
    # Adopted on its own key, proven by its own digest.
    mapped = _oim.proofs(dict(arm64, versions=[dict(v) for v in arm64['versions']]))
    glance = oim_image('arm', arm64, arm64['versions'][0]['version'], 'b' * 128, os_hash_algo='sha256',
                       os_hash_value='a' * 64)
    (adopt,) = _oim.adoption([glance], [mapped], 'cloudimages', (OWNER,))['adopt']
    assert adopt['properties'][_managed.RELEASE] == 'ubuntu-24.04-aarch64'


def test_an_aarch64_image_keeps_the_architectures_its_release_synced_before():
    ubuntu = pick_definition('ubuntu.yml', 'Ubuntu 24.04')
    files = {'a.yml': {'images': [arm(ubuntu, 'Ubuntu 24.04 arm')]}}
    data = roles()
    data['ubuntu'] = dict(data['ubuntu'], enabled=['24.04'])
    result = _oim.mapping(files, data, keep_oim_names=True, operator={'image_sync_architectures': ['x86_64']})
    (release,) = result['inventory']['ubuntu_releases']
    assert release['architectures'] == ['aarch64', 'x86_64']  # 24.04 on x86_64 goes on
    (entry,) = result['images']
    assert any("'Ubuntu 24.04 arm'" in note and 'image_sync_arch_name' in note for note in entry['not_carried'])
    # A release not synced before gets OIM's architecture alone.
    result = _oim.mapping(files, roles(), operator={'image_sync_architectures': ['x86_64']})
    (release,) = [r for r in result['inventory']['ubuntu_releases'] if r['release'] == '24.04']
    assert release['architectures'] == ['aarch64']


def test_a_build_the_daily_sync_uploaded_since_is_not_adopted_a_second_time():
    """A second migration run after the sync uploaded build 20261101 (its own image, not OIM-tagged):
    the OIM image with those bytes stays untouched; only the sync's images of this provider and owners count."""
    mapped = entry(fetched=fetched(SHA512))
    synced = {'id': 'synced', 'name': 'Ubuntu 24.04 - Latest', 'owner': OWNER, 'status': 'active',
              'tags': [_managed.managed_tag('cloudimages')],
              'properties': _managed.identity('ubuntu-24.04', '20261101', 'sha256:' + SHA)}
    plan = _oim.adoption([image('one', '20261101'), synced], [mapped], 'cloudimages', (OWNER,))
    assert not plan['adopt'] and not plan['adopted']
    assert plan['untouched'] == [{'id': 'one', 'name': 'Ubuntu 24.04 (20261101)', 'owner': OWNER, 'reason':
                                  'the same bytes as image synced, which holds build 20261101 of ubuntu-24.04'}]
    for other in (dict(synced, owner='p-other'), dict(synced, status='killed'),
                  dict(synced, tags=[_managed.managed_tag('someone')])):
        assert [a['id'] for a in _oim.adoption([image('one', '20261101'), other], [mapped], 'cloudimages',
                                               (OWNER,))['adopt']] == ['one']
