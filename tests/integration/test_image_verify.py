"""cloudimages.openstack.image_verify against real Glance (RegionOne qcow2, RegionTwo raw) and the local vendor mirror.

The managed images are made here with openstacksdk as image_upload makes them (private with the
identity properties and tag, then published), holding the mirror's real image bytes. A copy of the
mirror with its own server is used, because these tests end a release's life and inject faults.
Every image is deleted at the end.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import socket
import subprocess
import sys
import time
import uuid
from types import SimpleNamespace

import pytest

from playbook_runner import run_playbook
from upload_support import module_env, result_of

MODULE = 'ansible_collections.cloudimages.openstack.plugins.modules.image_verify'
INVENTORY = """\
clouds:
  hosts:
    region_one: {cloud: admin, region_name: RegionOne}
    region_two: {cloud: admin, region_name: RegionTwo}
"""


def sha(data, algorithm):
    return hashlib.new(algorithm, data).hexdigest()


def create_managed(conn, path, tag, visibility, disk_format='qcow2', **props):
    """Private first with every identity property, then published: what image_upload + image_rotate leave."""
    from openstack import exceptions  # pylint: disable=import-outside-toplevel
    for attempt in range(3):
        try:
            image = conn.image.create_image(name='verify-%s-%s' % (tag, uuid.uuid4().hex[:6]), filename=str(path), disk_format=disk_format,
                                            container_format='bare', visibility='private', tags=[tag], allow_duplicates=True,
                                            wait=True, timeout=120, **props)
            break
        except exceptions.HttpException as exc:   # the shared Glance's SQLite answers "database is locked" under load
            if attempt == 2 or not exc.status_code or exc.status_code < 500:
                raise
            time.sleep(1 + attempt)
    conn.image.update_image(image.id, visibility=visibility)
    return conn.image.get_image(image.id)


def delete_image(conn, image_id):
    """Delete, retrying the shared Glance's SQLite 5xx; a retry after a delete that did land answers 400 "deleted"."""
    from openstack import exceptions  # pylint: disable=import-outside-toplevel
    for attempt in range(5):
        try:
            conn.image.delete_image(image_id, ignore_missing=True)
            return
        except exceptions.HttpException:
            gone = conn.image.find_image(image_id, ignore_missing=True)
            if gone is None or gone.status == 'deleted':
                return
            if attempt == 4:
                raise
            time.sleep(1 + attempt)


def identity(info, data_digest=None, key=None):
    return {'cloudimages_release': key or '%s-%s' % (info.distro, info.release), 'cloudimages_build': info.version,
            'cloudimages_digest': data_digest or 'sha256:' + info.sha256, 'image_source': info.image_url}


@pytest.fixture(scope='module')
def world(cloud, upstream, tmp_path_factory):
    """A mirror copy served on its own port, and managed images of a fresh provider in both regions."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    work = tmp_path_factory.mktemp('verify')
    mirror = upstream.mirror.copy(work / "mirror")
    server = MirrorServer(mirror).start()
    provider = 'verify-%s' % uuid.uuid4().hex[:8]
    tag = 'managed_by_%s' % provider
    one, two = cloud.connect('admin', 'RegionOne'), cloud.connect('admin', 'RegionTwo')
    created = []
    try:
        rel = mirror.releases
        cirros, debian, old, ubuntu, fcos = (rel['cirros', '0.6'], rel['debian', '12'], rel['debian', '11'],
                                             rel['ubuntu', '24.04'], rel['fedora-coreos', 'stable'])
        fcos_qcow2 = work / 'fcos.qcow2'
        fcos_qcow2.write_bytes(lzma.decompress(open(fcos.local_path, 'rb').read()))
        cirros_raw = work / 'cirros.raw'
        subprocess.run(['qemu-img', 'convert', '-q', '-f', 'qcow2', '-O', 'raw', cirros.local_path, str(cirros_raw)], check=True)
        spec = {
            'cirros': (one, cirros.local_path, 'public', 'qcow2', identity(cirros)),
            'debian': (one, debian.local_path, 'community', 'qcow2', identity(debian)),
            'fcos': (one, fcos_qcow2, 'public', 'qcow2', identity(fcos, key='fedora_coreos-stable')),
            # Ubuntu's identity and source, Debian's bytes: what a corrupted or swapped upload looks like.
            'ubuntu': (one, debian.local_path, 'public', 'qcow2', identity(ubuntu)),
            'old': (one, old.local_path, 'community', 'qcow2', identity(old)),
            'private': (one, cirros.local_path, 'public', 'qcow2', dict(identity(cirros, key='windows-2022'), image_source='private')),
            'candidate': (one, cirros.local_path, 'private', 'qcow2', identity(cirros)),
            'cirros_raw': (two, cirros_raw, 'public', 'raw', identity(cirros)),
            'debian_raw_bad': (two, cirros_raw, 'public', 'raw', identity(debian)),
        }
        images = {}
        for name, (conn, path, visibility, disk_format, props) in spec.items():
            images[name] = create_managed(conn, path, tag, visibility, disk_format, **props)
            created.append((conn, images[name].id))
        mirror.eol('debian', '11')
        fcos_release = {
            'key': 'fedora_coreos-stable', 'version': fcos.version, 'checksum': 'sha256:' + fcos.sha256,
            'image_source': fcos.image_url, 'url': server.rewrite(fcos.image_url), 'filename': fcos.file_name,
            'image_signature_url': server.rewrite(fcos.image_signature_url),
            'trust': {'keyring': str(mirror.keyring.trusted_keyring), 'fingerprints': [mirror.keyring.trusted_fingerprint]},
        }
        yield SimpleNamespace(provider=provider, tag=tag, one=one, two=two, images=images, server=server, mirror=mirror,
                              work=work, infos={'cirros': cirros, 'debian': debian, 'old': old, 'ubuntu': ubuntu, 'fcos': fcos},
                              fcos_release=fcos_release, rewrites={'https://': server.url + '/'}, cirros_raw=cirros_raw)
    finally:
        failures = []
        for conn in (one, two):   # also whatever a create retried after a 5xx left behind
            created.extend((conn, image.id) for hidden in (False, True)
                           for image in conn.image.images(tag=[tag], visibility='all', is_hidden=hidden))
        for conn, image_id in dict.fromkeys(created):
            try:
                delete_image(conn, image_id)
            except Exception as exc:  # pylint: disable=broad-except  # delete the others, then report
                failures.append('%s: %s' % (image_id, exc))
        server.stop()
        mirror.close()
        assert not failures, 'images left behind: %s' % failures


def verify(cloud, world, region='RegionOne', check=False, diff=False, cache=None, user='admin', **args):
    params = dict(cloud=user, region_name=region, provider=world.provider, url_rewrites=world.rewrites,
                  cache_dir=str(cache or world.work / ('cache-%s' % uuid.uuid4().hex[:6])), retries=0, fail_on_mismatch=False)
    params.update(args)
    if check:
        params['_ansible_check_mode'] = True
    if diff:
        params['_ansible_diff'] = True
    path = world.work / ('args-%s.json' % uuid.uuid4().hex[:8])
    path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': params}), encoding='utf-8')
    proc = subprocess.run([sys.executable, '-m', MODULE, str(path)], env=module_env(cloud),
                          capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, result_of(proc.stdout + '\n')


def by_id(result):
    return {entry['id']: entry for entry in result['images']}


# ---------------------------------------------------------------- RegionOne: the whole catalog

@pytest.fixture(scope='module')
def first_run(cloud, world):
    world.server.reset_requests()
    cache = world.work / 'cache-shared'
    rc, result = verify(cloud, world, cache=cache, releases=[world.fcos_release])
    assert rc == 0, result
    return cache, result


def test_catalog_statuses(world, first_run):
    _cache, result = first_run
    entries, images = by_id(result), world.images
    assert set(entries) == {images[n].id for n in ('cirros', 'debian', 'fcos', 'ubuntu', 'old', 'private')}  # not the candidate
    statuses = {name: entries[images[name].id]['status'] for name in ('cirros', 'debian', 'fcos', 'ubuntu', 'old', 'private')}
    assert statuses == {'cirros': 'match', 'debian': 'match', 'fcos': 'match', 'ubuntu': 'mismatch',
                        'old': 'source_gone', 'private': 'skipped'}
    assert result['summary'] == {'match': 3, 'mismatch': 1, 'source_gone': 1, 'unverifiable': 0, 'skipped': 1, 'error': 0, 'total': 6}
    assert result['changed'] is False


def test_match_is_glance_checksum_against_the_upstream_bytes(world, first_run):
    _cache, result = first_run
    entry = by_id(result)[world.images['cirros'].id]
    data = open(world.infos['cirros'].local_path, 'rb').read()
    assert entry['expected'] == {'checksum': sha(data, 'md5'), 'os_hash_algo': 'sha512', 'os_hash_value': sha(data, 'sha512')}
    assert entry['actual'] == entry['expected'] and entry['differs'] == []
    assert entry['source'] == world.server.rewrite(world.infos['cirros'].image_url) and entry['from_cache'] is False
    assert (entry['release_key'], entry['build']) == ('cirros-0.6', world.infos['cirros'].version)


def test_signed_compressed_image_is_expanded_and_its_signature_checked(world, first_run):
    _cache, result = first_run
    entry = by_id(result)[world.images['fcos'].id]
    assert entry['status'] == 'match' and entry['signer'] == world.mirror.keyring.trusted_fingerprint
    assert entry['expected']['checksum'] == world.images['fcos'].checksum != world.infos['fcos'].md5  # the expanded qcow2, not the .xz


def test_mismatch_reports_expected_and_actual(world, first_run):
    _cache, result = first_run
    entry = by_id(result)[world.images['ubuntu'].id]
    ubuntu = open(world.infos['ubuntu'].local_path, 'rb').read()
    debian = open(world.infos['debian'].local_path, 'rb').read()
    assert entry['differs'] == ['checksum', 'os_hash_value']
    assert entry['expected']['checksum'] == sha(ubuntu, 'md5') and entry['actual']['checksum'] == sha(debian, 'md5')
    assert entry['expected']['os_hash_value'] == sha(ubuntu, 'sha512') and entry['actual']['os_hash_value'] == sha(debian, 'sha512')
    assert 'Glance checksum %s != md5 %s' % (sha(debian, 'md5'), sha(ubuntu, 'md5')) in entry['reason']
    assert world.one.image.get_image(world.images['ubuntu'].id).status == 'active'   # reported, never touched


def test_source_gone_names_the_url(world, first_run):
    _cache, result = first_run
    entry = by_id(result)[world.images['old'].id]
    url = world.server.rewrite(world.infos['old'].image_url)
    assert entry['reason'] == '%s answered HTTP 404 Not Found' % url


def test_private_source_is_skipped(world, first_run):
    _cache, result = first_run
    entry = by_id(result)[world.images['private'].id]
    assert entry['source'] is None and 'image_source: private' in entry['reason']


def test_second_run_uses_the_cache_and_downloads_nothing(cloud, world, first_run):
    cache, first = first_run
    world.server.reset_requests()
    rc, again = verify(cloud, world, cache=cache, release_keys=['cirros-0.6', 'debian-12', 'ubuntu-24.04'])
    assert rc == 0, again
    assert {e['status'] for e in again['images']} == {'match', 'mismatch'} and all(e['from_cache'] for e in again['images'])
    assert world.server.count('/') == 0
    assert [e['expected'] for e in again['images']] == [by_id(first)[e['id']]['expected'] for e in again['images']]


def test_fail_on_mismatch_fails_after_reporting_everything(cloud, world, first_run):
    cache, _first = first_run
    rc, result = verify(cloud, world, cache=cache, fail_on_mismatch=True, release_keys=['cirros-0.6', 'ubuntu-24.04'])
    assert rc == 1 and result['failed']
    ubuntu = world.images['ubuntu']
    assert result['msg'] == '1 of 2 images of %s do not match upstream: %s (%s): checksum, os_hash_value' % (world.provider, ubuntu.name, ubuntu.id)
    assert result['summary']['match'] == 1 and len(result['images']) == 2


def test_check_mode_does_not_deactivate(cloud, world, first_run):
    cache, _first = first_run
    ubuntu = world.images['ubuntu'].id
    rc, result = verify(cloud, world, cache=cache, check=True, diff=True, deactivate_mismatches=True, images=[ubuntu])
    assert rc == 0 and result['changed'] is True, result
    assert result['images'][0]['deactivated'] is True and result['images'][0]['image_status'] == 'active'
    assert result['diff'] == {'before': {'images': {ubuntu: 'active'}}, 'after': {'images': {ubuntu: 'deactivated'}}}
    assert world.one.image.get_image(ubuntu).status == 'active'


def test_vendor_digest_changed_for_the_same_build(cloud, world, first_run):
    cache, _first = first_run
    cirros = world.infos['cirros']
    other = 'sha256:' + sha(b'republished', 'sha256')
    release = {'key': 'cirros-0.6', 'version': cirros.version, 'checksum': other, 'image_source': cirros.image_url,
               'url': world.server.rewrite(cirros.image_url)}
    rc, result = verify(cloud, world, cache=cache, images=[world.images['cirros'].id], releases=[release])
    assert rc == 0, result
    [entry] = result['images']
    assert entry['status'] == 'mismatch' and entry['differs'] == ['vendor_digest']
    assert entry['expected'] == {'vendor_digest': other} and entry['actual']['vendor_digest'] == 'sha256:' + cirros.sha256
    assert 'vendor now publishes another digest for build %s' % cirros.version in entry['reason']
    # The same release for another build says nothing about this one.
    rc, result = verify(cloud, world, cache=cache, images=[world.images['cirros'].id], releases=[dict(release, version='0.0.1')])
    assert rc == 0 and result['images'][0]['status'] == 'match', result


def test_explicit_selection_includes_a_private_candidate(cloud, world, first_run):
    cache, _first = first_run
    rc, result = verify(cloud, world, cache=cache, images=[world.images['candidate'].id])
    assert rc == 0 and [e['status'] for e in result['images']] == ['match'], result


# ---------------------------------------------------------------- upstream faults

def verify_debian_with_fault(cloud, world, fault):
    """``(url, entry)``: the Debian image verified while the mirror answers its file with ``fault``."""
    url = world.server.rewrite(world.infos['debian'].image_url)
    world.server.set_fault(url, fault)
    try:
        rc, result = verify(cloud, world, images=[world.images['debian'].id])
    finally:
        world.server.clear_faults()
    assert rc == 0, result
    return url, result['images'][0]


def test_upstream_answering_404_is_source_gone(cloud, world):
    url, entry = verify_debian_with_fault(cloud, world, 'not_found')
    assert entry['status'] == 'source_gone' and entry['reason'] == '%s answered HTTP 404 Not Found' % url


def test_unreachable_host_is_source_gone(cloud, world):
    with socket.socket() as sock:      # a port nothing listens on: connection refused
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    rc, result = verify(cloud, world, images=[world.images['debian'].id], url_rewrites={'https://': 'http://127.0.0.1:%d/' % port})
    assert rc == 0, result
    entry = result['images'][0]
    assert entry['status'] == 'source_gone' and entry['reason'].startswith('cannot reach http://127.0.0.1:%d/cloud.debian.org/' % port)


def test_other_bytes_at_the_url_are_unverifiable_not_a_mismatch(cloud, world):
    _url, entry = verify_debian_with_fault(cloud, world, 'corrupt')
    assert entry['status'] == 'unverifiable' and 'no longer matches the digest recorded at upload' in entry['reason']
    assert 'sha256 mismatch' in entry['reason']


def test_bad_image_signature_is_an_error(cloud, world):
    bad = dict(world.fcos_release, trust=dict(world.fcos_release['trust'], fingerprints=[world.mirror.keyring.untrusted_fingerprint]))
    rc, result = verify(cloud, world, images=[world.images['fcos'].id], releases=[bad])
    assert rc == 0, result
    entry = result['images'][0]
    assert entry['status'] == 'error' and 'image signature' in entry['reason'] and 'not in the trusted list' in entry['reason'], entry


# ---------------------------------------------------------------- RegionTwo stores raw

def test_region_two_raw_is_the_seed_procedure(cloud, world):
    rc, result = verify(cloud, world, region='RegionTwo')
    assert rc == 0, result
    entries = by_id(result)
    good, bad = entries[world.images['cirros_raw'].id], entries[world.images['debian_raw_bad'].id]
    # The seed pages: md5 of the upstream qcow2 converted to raw == `openstack image show` checksum.
    assert good['status'] == 'match' and 'raw conversion' in good['reason']
    assert good['expected']['checksum'] == sha(world.cirros_raw.read_bytes(), 'md5') == world.two.image.get_image(good['id']).checksum
    assert bad['status'] == 'mismatch' and bad['differs'] == ['checksum', 'os_hash_value']
    assert result['summary']['total'] == 2


def test_a_cache_edited_to_name_planted_raw_bytes_is_no_evidence(cloud, world):
    """The issue's attack on a raw-storing region: someone who can write the cache stores other bytes
    under their own sha256 with a sidecar of the same shape and points the download's record at them.
    An image holding those bytes (what the sync published before derived files were proven) is a
    mismatch for image_verify run on that very cache."""
    cirros = world.infos['cirros']
    cache = world.work / 'cache-attacked'
    genuine = world.images['cirros_raw'].id
    rc, result = verify(cloud, world, region='RegionTwo', cache=cache, images=[genuine])
    assert rc == 0 and result['images'][0]['status'] == 'match', result
    files = cache / 'files'
    record = files / ('sha256-%s.image.json' % cirros.sha256)
    meta = json.loads(record.read_text())
    data = bytearray((files / meta['raw']).read_bytes())
    data[len(data) // 2] ^= 0xFF
    planted = {a: sha(data, a) for a in ('md5', 'sha256', 'sha512')}
    (files / ('sha256-' + planted['sha256'])).write_bytes(data)
    sidecar = json.loads((files / (meta['raw'] + '.json')).read_text())
    (files / ('sha256-%s.json' % planted['sha256'])).write_text(json.dumps(dict(sidecar, size=len(data), digests=planted)))
    record.write_text(json.dumps(dict(meta, raw='sha256-' + planted['sha256'])))
    bad = world.work / 'planted.raw'
    bad.write_bytes(data)
    published = create_managed(world.two, bad, world.tag, 'public', 'raw', **identity(cirros))
    try:
        rc, result = verify(cloud, world, region='RegionTwo', cache=cache, images=[published.id, genuine])
    finally:  # the world's other tests count its images
        world.two.image.delete_image(published)
    assert rc == 0, result
    entries = by_id(result)
    assert entries[published.id]['status'] == 'mismatch' and entries[published.id]['differs'] == ['checksum', 'os_hash_value']
    assert entries[published.id]['expected']['checksum'] == sha(world.cirros_raw.read_bytes(), 'md5') != planted['md5']
    assert entries[genuine]['status'] == 'match'
    assert 'as the raw form of' in json.dumps(result.get('warnings')), result  # a str, or a dict in newer ansible-core


def test_refused_deactivation_fails_and_says_why(cloud, world):
    """Glance lets only admins deactivate: a member's run reports everything, then fails naming the image."""
    bad = world.images['debian_raw_bad'].id
    # The provider's images belong to admin's project: a member names it in owners.
    rc, result = verify(cloud, world, region='RegionTwo', user='demo', deactivate_mismatches=True,
                        owners=[world.two.current_project_id])
    assert rc == 1 and result['msg'].startswith('could not deactivate: %s (%s): ' % (world.images['debian_raw_bad'].name, bad)), result
    entry = by_id(result)[bad]
    assert entry['status'] == 'mismatch' and entry['deactivated'] is False and 'deactivation failed' in entry['reason']
    assert world.two.image.get_image(bad).status == 'active'


def test_deactivate_mismatches(cloud, world):
    bad = world.images['debian_raw_bad'].id
    rc, result = verify(cloud, world, region='RegionTwo', deactivate_mismatches=True, diff=True)
    assert rc == 0 and result['changed'] is True, result
    entries = by_id(result)
    assert entries[bad]['deactivated'] is True and entries[bad]['image_status'] == 'deactivated'
    assert entries[world.images['cirros_raw'].id]['deactivated'] is False
    assert world.two.image.get_image(bad).status == 'deactivated'
    assert world.two.image.get_image(world.images['cirros_raw'].id).status == 'active'
    # Again: still reported as a mismatch, nothing left to change.
    rc, again = verify(cloud, world, region='RegionTwo', deactivate_mismatches=True)
    assert rc == 0 and again['changed'] is False and by_id(again)[bad]['status'] == 'mismatch', again


# ---------------------------------------------------------------- usage errors

@pytest.mark.parametrize('args, message', [
    ({'images': ['no-such-image']}, "images: no managed image of this provider has the id or name 'no-such-image'"),
    ({'provider': 'Bad Provider'}, 'provider must be 1-63 characters'),
    ({'releases': [{'key': 'cirros-0.6'}]}, 'releases[0] lacks version, checksum'),
    ({'retries': -1}, 'retries must not be negative'),
])
def test_usage_errors(cloud, world, args, message):
    rc, result = verify(cloud, world, **args)
    assert rc == 1 and message in result['msg'], result
    assert 'images' not in result


# ---------------------------------------------------------------- the playbook, both regions

def test_playbook(cloud, world):
    inventory = world.work / 'inventory.yml'
    inventory.write_text(INVENTORY, encoding='utf-8')
    extra = {'verify_provider': world.provider, 'verify_url_rewrites': world.rewrites, 'verify_cache_dir': str(world.work / 'cache-pb')}
    good = run_playbook('cloudimages.openstack.verify', env=cloud.env(), inventory=str(inventory),
                        extra_vars=dict(extra, verify_release_keys=['cirros-0.6']))
    assert good.rc == 0, good.output
    assert 'region_one: 1 match' in good.output and 'region_two: 1 match' in good.output, good.output
    bad = run_playbook('cloudimages.openstack.verify', env=cloud.env(), inventory=str(inventory), extra_vars=extra)
    assert bad.rc != 0, bad.output
    assert 'mismatch: %s' % world.images['ubuntu'].name in bad.output, bad.output
    assert bad.recap['region_one']['failed'] == 1 and bad.recap['region_two']['failed'] == 1
    checked = run_playbook('cloudimages.openstack.verify', env=cloud.env(), inventory=str(inventory), check=True,
                           extra_vars=dict(extra, verify_deactivate=True, verify_release_keys=['ubuntu-24.04']))
    assert checked.rc != 0 and checked.changed() == 1, checked.output
    assert world.one.image.get_image(world.images['ubuntu'].id).status == 'active'
    missing = run_playbook('cloudimages.openstack.verify', env=cloud.env(), inventory=str(inventory), extra_vars={})
    assert missing.rc != 0 and 'verify_provider is required' in missing.output
