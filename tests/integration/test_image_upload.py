"""cloudimages.openstack.image_upload against the real local Glance (RegionOne qcow2, RegionTwo raw).

The module runs in its own Python process, as Ansible runs it. Network faults between the
controller and Glance are injected by upload_proxy.GlanceProxy, a 127.0.0.1 proxy the tests put
in front of Glance's endpoint (it stands in for the network; Glance itself is real). The same
proxy counts the requests Glance receives.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import time
import uuid

import pytest

from playbook_runner import run_playbook
from upload_proxy import GlanceProxy
from upload_support import (StagingServer, base_args, cloud_dict, delete_image, digests, identity_images, make_qcow2,
                            module_command, module_env, result_of, run_module, to_raw)

FILE = r'^/v2/images/[0-9a-f-]+/file$'


@pytest.fixture
def provider(cloud):
    """A provider tag unique to the test; every image carrying it is deleted afterwards, in both regions."""
    name = 'upl-%s' % uuid.uuid4().hex[:10]
    yield name
    for user in ('admin', 'demo', 'alt'):
        for region in ('RegionOne', 'RegionTwo'):
            conn = cloud.connect(user, region)
            for image in identity_images(conn, name):
                if image.owner == conn.current_project_id:
                    delete_image(conn, image.id)


@pytest.fixture
def glance_proxy(cloud):
    with GlanceProxy(cloud.endpoints['RegionOne']['image']) as proxy:
        yield proxy


def proxied(cloud, proxy, name='admin'):
    return cloud_dict(cloud.clouds_yaml, name, 'RegionOne', image_endpoint=proxy.url)


def only_image(cloud, provider, user='admin', region='RegionOne'):
    images = identity_images(cloud.connect(user, region), provider)
    assert len(images) == 1, [(i.id, i.status) for i in images]
    return images[0]


def test_direct_upload_one_create_one_put_then_nothing(cloud, provider, glance_proxy, tmp_path):
    path = make_qcow2(tmp_path)
    args = base_args(provider, path, cloud=proxied(cloud, glance_proxy), tags=['extra-tag'])
    rc, result = run_module(cloud, tmp_path, args)
    assert rc == 0, result
    assert result['changed'] and result['created']
    assert [m for m, p in glance_proxy.writes()] == ['POST', 'PUT'], glance_proxy.writes()
    assert glance_proxy.count('PUT', FILE) == 1 and glance_proxy.count('PATCH') == 0

    image = result['image']
    local = digests(path)
    assert (image['status'], image['visibility'], image['os_hidden']) == ('active', 'private', False)
    assert (image['checksum'], image['os_hash_algo'], image['os_hash_value']) == (local['md5'], 'sha512', local['sha512'])
    assert (image['disk_format'], image['container_format'], image['min_disk'], image['min_ram']) == ('qcow2', 'bare', 1, 128)
    assert image['tags'] == sorted(['managed_by_' + provider, 'os:cirros', 'extra-tag'])
    props = image['properties']
    assert {k: props[k] for k in ('cloudimages_release', 'cloudimages_build', 'cloudimages_digest')} == {
        'cloudimages_release': 'cirros-0.6', 'cloudimages_build': args['build'], 'cloudimages_digest': args['digest']}
    assert all(props[k] == v for k, v in args['policy']['properties'].items())
    assert not any(k.startswith('owner_specified') for k in props), 'no openstacksdk extras'

    # Second run, even under another candidate name: found by identity, nothing written.
    before = len(glance_proxy.writes())
    rc, again = run_module(cloud, tmp_path, dict(args, name='another-name'))
    assert rc == 0, again
    assert (again['changed'], again['created'], again['image']['id']) == (False, False, image['id'])
    assert len(glance_proxy.writes()) == before

    # An existing private image whose bytes are not the expected ones is no candidate: it would be
    # deleted and uploaded anew (check mode here; the real run: tests/integration/test_impersonation.py).
    rc, wrong = run_module(cloud, tmp_path, dict(args, expected_digests={'sha512': 'cd' * 64}, _ansible_check_mode=True))
    assert rc == 0 and (wrong['changed'], wrong['created'], wrong['deleted']) == (True, True, [image['id']]), wrong
    assert len(glance_proxy.writes()) == before

    rc, checked = run_module(cloud, tmp_path, dict(args, _ansible_check_mode=True, _ansible_diff=True))
    assert rc == 0, checked
    assert (checked['changed'], checked['created'], checked['image']['id'], 'diff' in checked) == (False, False, image['id'], False)
    assert len(glance_proxy.writes()) == before
    only_image(cloud, provider)


def test_glance_direct_is_create_stage_import(cloud, provider, glance_proxy, tmp_path):
    path = make_qcow2(tmp_path)
    rc, result = run_module(cloud, tmp_path, base_args(provider, path, cloud=proxied(cloud, glance_proxy), method='glance-direct'))
    assert rc == 0, result
    assert [(m, p.rsplit('/', 1)[-1]) for m, p in glance_proxy.writes()] == [('POST', 'images'), ('PUT', 'stage'), ('POST', 'import')]
    assert result['image']['os_hash_value'] == digests(path)['sha512']


def test_stores_of_a_multi_store_glance(cloud, provider, tmp_path):
    """RegionOne's Glance has two file stores (local, its default, and local2), as a cloud with a
    Ceph cluster per availability zone has: the image is in each store asked for, or nowhere."""
    path = make_qcow2(tmp_path)
    rc, result = run_module(cloud, tmp_path, base_args(provider, path, cloud='admin', method='glance-direct', all_stores=True))
    assert rc == 0, result
    assert sorted(result['image']['stores'].split(',')) == ['local', 'local2']
    assert result['image']['os_hash_value'] == digests(path)['sha512']

    rc, result = run_module(cloud, tmp_path, base_args(provider, path, cloud='admin', stores=['local2']))
    assert rc == 0 and result['image']['stores'] == 'local2', result

    for args in (dict(method='glance-direct', stores=['local', 'nowhere']), dict(stores=['nowhere'])):
        before = {image.id for image in identity_images(cloud.connect('admin', 'RegionOne'), provider)}
        rc, result = run_module(cloud, tmp_path, base_args(provider, path, cloud='admin', **args))
        assert rc == 1 and 'nowhere' in result['msg'] and 'deleted' in result['msg'], result
        assert {image.id for image in identity_images(cloud.connect('admin', 'RegionOne'), provider)} == before

    rc, result = run_module(cloud, tmp_path, base_args(provider, path, cloud='admin', stores=['local', 'local2']))
    assert rc == 1 and 'a direct upload goes to one store' in result['msg'], result


def test_region_two_stores_the_raw_upload(cloud, provider, tmp_path):
    raw = to_raw(make_qcow2(tmp_path))
    expected = digests(raw)
    args = base_args(provider, raw, cloud='admin', region_name='RegionTwo', disk_format='raw', expected_digests=expected)
    rc, result = run_module(cloud, tmp_path, args)
    assert rc == 0, result
    image = result['image']
    assert (image['disk_format'], image['checksum'], image['os_hash_value']) == ('raw', expected['md5'], expected['sha512'])
    assert not identity_images(cloud.connect('admin', 'RegionOne'), provider), 'RegionOne untouched'


def test_region_two_converts_glance_direct_qcow2_to_raw(cloud, provider, tmp_path):
    """RegionTwo's import converts to raw: verified against the raw digests given, refused without them."""
    path = make_qcow2(tmp_path)
    raw = digests(to_raw(path))
    args = base_args(provider, path, cloud='admin', region_name='RegionTwo', method='glance-direct')
    rc, result = run_module(cloud, tmp_path, args)
    assert rc == 1 and 'hash mismatch' in result['msg'] and 'deleted' in result['msg'], result
    assert not identity_images(cloud.connect('admin', 'RegionTwo'), provider)

    rc, result = run_module(cloud, tmp_path, dict(args, expected_digests=raw))
    assert rc == 0, result
    assert (result['image']['disk_format'], result['image']['os_hash_value']) == ('raw', raw['sha512'])


def test_web_download_from_the_mirror(cloud, provider, glance_proxy, upstream, tmp_path):
    """Identity and per-build SCS properties come from a ``release`` dict (docs/architecture.md)."""
    info = upstream.mirror.releases[('cirros', '0.6')]
    assert not info.compression
    release = {'key': 'cirros-0.6-%s' % provider, 'distro': 'cirros', 'release': '0.6', 'version': info.version,
               'build_date': info.build_date, 'url': upstream.server.rewrite(info.image_url), 'image_source': info.image_url,
               'filename': info.file_name, 'checksum': 'sha256:' + info.sha256, 'disk_format': 'qcow2', 'compression': 'none',
               'login_user': 'cirros', 'checksum_url': upstream.server.rewrite(info.checksum_url),
               'signature': {'kind': 'none', 'url': None, 'fingerprint': None}}
    args = base_args(provider, cloud=proxied(cloud, glance_proxy), method='web-download', url=release['url'], release=release,
                     expected_digests={'md5': info.md5, 'sha512': info.sha512})
    for key in ('build', 'digest', 'disk_format'):
        del args[key]
    args['policy']['release_key'] = release['key']
    for key in ('image_source', 'image_build_date', 'image_original_user', 'os_version'):
        del args['policy']['properties'][key]
    upstream.server.reset_requests()
    rc, result = run_module(cloud, tmp_path, args)
    assert rc == 0, result
    assert [(m, p.rsplit('/', 1)[-1]) for m, p in glance_proxy.writes()] == [('POST', 'images'), ('POST', 'import')]
    image = result['image']
    assert image['os_hash_value'] == info.sha512 and image['disk_format'] == 'qcow2'
    assert {k: image['properties'][k] for k in ('cloudimages_release', 'cloudimages_build', 'cloudimages_digest', 'image_source',
                                                'image_build_date', 'image_original_user', 'os_version')} == {
        'cloudimages_release': release['key'], 'cloudimages_build': info.version, 'cloudimages_digest': release['checksum'],
        'image_source': info.image_url, 'image_build_date': info.build_date, 'image_original_user': 'cirros', 'os_version': '0.6'}
    assert image['properties']['cloudimages_trust'] == 'tls-only'  # CirrOS signs nothing: HTTPS alone vouches for it
    assert upstream.server.count(info.image_url) >= 1, 'Glance fetched from the mirror'


def test_web_download_staging_puts_once_and_proves_the_hash(cloud, provider, glance_proxy, tmp_path):
    """Staging: the file goes into the web server's directory once; Glance imports it from there.

    The staging directory is untrusted: a file planted there under the build's name (same size,
    other bytes) is imported, refused by the hash check, deleted with the image, never visible.
    """
    stage = tmp_path / 'stage'
    stage.mkdir()
    path = make_qcow2(tmp_path)
    with open(path, 'rb') as handle:
        local = dict(digests(path), sha256=hashlib.sha256(handle.read()).hexdigest())
    staged = '%s/%s.qcow2' % (stage, local['sha256'])
    with StagingServer(stage) as web:
        def upload(**extra):
            args = base_args(provider, path, cloud=proxied(cloud, glance_proxy), method='web-download',
                             staging_dir=str(stage), staging_url=web.url, expected_digests=local, **extra)
            return run_module(cloud, tmp_path, args)

        rc, first = upload()
        assert rc == 0, first
        assert first['staged'] == {'url': web.url + os.path.basename(staged), 'bytes': os.path.getsize(path)}
        image = first['image']
        assert (image['os_hash_value'], image['checksum'], image['visibility']) == (local['sha512'], local['md5'], 'private')
        assert [(m, p.rsplit('/', 1)[-1]) for m, p in glance_proxy.writes()] == [('POST', 'images'), ('POST', 'import')]
        rc, other_region = upload()  # another region's run (here another build of the same bytes): reused
        assert rc == 0 and other_region['staged']['bytes'] == 0, other_region

        with open(staged, 'r+b') as handle:  # tampered where it is served, same size
            handle.seek(0x8000)
            handle.write(b'tampered')
        build = uuid.uuid4().hex[:12]
        rc, refused = upload(build=build)
        assert rc == 1, refused
        assert 'hash mismatch' in refused['msg'] and 'deleted' in refused['msg'], refused['msg']
        assert not identity_images(cloud.connect(), provider, build)
        assert not os.path.exists(staged), 'the refused file is removed, the next run puts it anew'
        rc, again = upload(build=build)
        assert rc == 0 and again['staged']['bytes'] == os.path.getsize(path), again


@pytest.mark.parametrize('kind', ['error', 'drop'])
def test_network_fault_mid_upload_deletes_the_image(cloud, provider, glance_proxy, tmp_path, kind):
    """The proxy answers 503 after 64 KiB of the PUT, or drops the connection (a network fault)."""
    glance_proxy.fail('PUT', FILE, kind, after=65536)
    rc, result = run_module(cloud, tmp_path, base_args(provider, make_qcow2(tmp_path), cloud=proxied(cloud, glance_proxy)))
    assert rc == 1, result
    assert 'upload to image' in result['msg'] and 'deleted' in result['msg'], result['msg']
    if kind == 'error':
        assert '503' in result['msg']
    assert glance_proxy.count('DELETE') == 1
    assert not identity_images(cloud.connect(), provider)


def test_failed_web_download_is_reported_and_deleted(cloud, provider, upstream, tmp_path):
    """The mirror answers 404: Glance's import task fails and reverts the image to queued."""
    url = upstream.server.url + '/download.cirros-cloud.net/missing-%s.img' % provider
    args = base_args(provider, cloud='admin', method='web-download', url=url, expected_digests={'sha512': '0' * 128})
    rc, result = run_module(cloud, tmp_path, args)
    assert rc == 1, result
    assert 'Glance import failed for store(s)' in result['msg'] and 'deleted' in result['msg'], result['msg']
    assert not identity_images(cloud.connect(), provider)


@pytest.fixture
def silent_url():
    """An HTTP URL on 127.0.0.1 whose server accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(16)
    yield 'http://127.0.0.1:%d/never/cirros.qcow2' % listener.getsockname()[1]
    listener.close()   # Glance's pending download gets a reset and its task ends


def test_import_stuck_times_out_and_deletes(cloud, provider, glance_proxy, silent_url, tmp_path):
    args = base_args(provider, cloud=proxied(cloud, glance_proxy), method='web-download', url=silent_url,
                     expected_digests={'sha512': '0' * 128}, wait_timeout=5)
    rc, result = run_module(cloud, tmp_path, args)
    assert rc == 1, result
    assert 'after timeout=5s' in result['msg'] and 'deleted' in result['msg'], result['msg']
    assert not identity_images(cloud.connect(), provider)


def test_hash_mismatch_deletes_the_image(cloud, provider, tmp_path):
    path = make_qcow2(tmp_path)
    wrong = dict(digests(path), sha512='ab' * 64)
    rc, result = run_module(cloud, tmp_path, base_args(provider, path, cloud='admin', expected_digests=wrong))
    assert rc == 1, result
    assert 'hash mismatch' in result['msg'] and 'expected sha512 abab' in result['msg'] and 'deleted' in result['msg']
    assert not identity_images(cloud.connect(), provider)


def test_sigkill_between_create_and_upload_converges(cloud, provider, glance_proxy, tmp_path):
    """The proxy holds the PUT forever; the module is SIGKILLed with its image created but empty."""
    glance_proxy.fail('PUT', FILE, 'hang')
    args = base_args(provider, make_qcow2(tmp_path), cloud=proxied(cloud, glance_proxy))
    proc = subprocess.Popen(module_command(tmp_path, args), env=module_env(cloud), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while glance_proxy.count('PUT', FILE) == 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert glance_proxy.count('PUT', FILE) == 1, 'the module reached the upload'
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    orphan = only_image(cloud, provider)
    assert orphan.status == 'queued' and orphan.properties.get('cloudimages_run')

    direct = base_args(provider, args['filename'], cloud='admin', build=args['build'], digest=args['digest'])
    # Written by another controller (a run id of another host): nothing proves its writer gone, so
    # the fresh unfinished image is waited for, then reported, never touched. (A run id of this host
    # whose process is gone is replaced at once: test_promotion.py.)
    cloud.connect('admin').image.patch('/images/%s' % orphan.id, headers={
        'Content-Type': 'application/openstack-images-v2.1-json-patch'}, json=[
        {'op': 'replace', 'path': '/cloudimages_run', 'value': '0123456789abcdef-4242-1'}]).raise_for_status()
    # wait_timeout, the name base_args sets: an alias beside it would lose to it and wait 60 s.
    rc, result = run_module(cloud, tmp_path, dict(direct, wait_timeout=2))
    assert rc == 1 and orphan.id in result['msg'] and 'stale_after=21600' in result['msg'], result
    assert 'waited 2s' in result['msg'], result
    assert only_image(cloud, provider).id == orphan.id

    time.sleep(2)
    rc, result = run_module(cloud, tmp_path, dict(direct, policy=dict(direct['policy'], stale_after=1)))
    assert rc == 0, result
    assert result['deleted'] == [orphan.id] and result['created'] and result['changed']
    final = only_image(cloud, provider)
    assert (final.id, final.status) == (result['image']['id'], 'active')


def test_reader_cannot_create(cloud, provider, tmp_path):
    rc, result = run_module(cloud, tmp_path, base_args(provider, make_qcow2(tmp_path), cloud='demo-reader'))
    assert rc == 1, result
    assert 'cannot create the image: HTTP 403' in result['msg'], result['msg']
    assert not identity_images(cloud.connect('demo'), provider)


def test_other_images_are_never_touched(cloud, provider, tmp_path):
    """demo's own image of the same name, and alt's community image claiming the same identity."""
    args = base_args(provider, make_qcow2(tmp_path), cloud='demo')
    identity = {'cloudimages_release': args['policy']['release_key'], 'cloudimages_build': args['build'], 'cloudimages_digest': args['digest']}
    demo, alt = cloud.connect('demo'), cloud.connect('alt')
    same_name = demo.image.create_image(name=args['name'], disk_format='qcow2', container_format='bare', allow_duplicates=True)
    impostor = alt.image.create_image(name=args['name'], disk_format='qcow2', container_format='bare', allow_duplicates=True,
                                      visibility='community', tags=['managed_by_' + provider], **identity)
    try:
        rc, result = run_module(cloud, tmp_path, args)
        assert rc == 0, result
        assert result['created'] and result['image']['id'] not in (same_name.id, impostor.id)
        assert result['image']['owner'] == demo.current_project_id
        for conn, image in ((demo, same_name), (alt, impostor)):
            now = conn.image.get_image(image.id)
            assert (now.status, now.name, now.updated_at) == ('queued', image.name, image.updated_at)
    finally:
        delete_image(demo, same_name.id)
        delete_image(alt, impostor.id)


def test_two_runs_at_once_leave_one_image(cloud, provider, glance_proxy, tmp_path):
    """The proxy holds both creates until both arrived, so both runs pass the lookup and both create.

    The creates then reach Glance 1.1 s apart, so their created_at (whole seconds) differ and the
    later one is the loser: it deletes its image right after creating it and returns the winner.
    (Same-second ties, decided by id, are simulated in tests/unit/.../test_upload_race.py: here both
    runs would then upload at once, and this sqlite-backed Glance answers one of them 500.)
    """
    glance_proxy.fail('POST', r'^/v2/images$', 'barrier', parties=2, stagger=1.1)
    args = base_args(provider, make_qcow2(tmp_path), cloud=proxied(cloud, glance_proxy))
    procs = [subprocess.Popen(module_command(tmp_path, args), env=module_env(cloud), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _i in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    results = [result_of(out) for out, err in outputs]
    assert [proc.returncode for proc in procs] == [0, 0], results
    assert glance_proxy.count('POST', r'^/v2/images$') == 2
    assert results[0]['image']['id'] == results[1]['image']['id']
    assert sorted(r['created'] for r in results) == [False, True]
    assert glance_proxy.count('DELETE') == 1, 'the loser deleted its own image'
    assert glance_proxy.count('PUT', FILE) == 1, 'only the winner uploaded'
    final = only_image(cloud, provider)
    assert (final.id, final.status) == (results[0]['image']['id'], 'active')


@pytest.mark.parametrize('change, message', [
    ({'properties': {'replace_frequency': 'fortnightly'}}, 'replace_frequency must be one of'),
    ({'properties': {'uuid_validity': 'last-0'}}, 'uuid_validity must be'),
    ({'properties': {'image_build_date': '16.11.2026'}}, 'image_build_date must be'),
    ({'properties': {'cloudimages_build': 'x'}}, 'or the managed identity: cloudimages_build'),
    ({'retired': True}, 'a retired release gets no new upload'),
    ({'keep': 0}, 'keep must be an integer >= 1'),
    ({'candidate': 'x'}, 'Unsupported parameters'),
    ({'digest': 'sha256:abc'}, "digest 'sha256:abc': sha256 digest must have 64 hex characters"),
    ({'min_disk': None}, 'min_disk must be set'),
], ids=['frequency', 'uuid-validity', 'build-date', 'identity-override', 'retired', 'keep', 'policy-key', 'digest',
        'min-disk'])
def test_bad_input_fails_before_any_write(cloud, provider, glance_proxy, tmp_path, change, message):
    args = base_args(provider, make_qcow2(tmp_path), cloud=proxied(cloud, glance_proxy))
    policy = args['policy']
    for key, value in change.items():
        if key == 'properties':
            policy['properties'] = dict(policy['properties'], **value)
        elif key in ('retired', 'keep', 'candidate'):  # the policy the upload refuses as rotation would
            policy[key] = value
        else:
            args[key] = value
    rc, result = run_module(cloud, tmp_path, args)
    assert rc == 1 and message in result['msg'], result
    assert glance_proxy.writes() == []


def test_playbook_check_run_rerun(cloud, provider, tmp_path):
    path = make_qcow2(tmp_path)
    args = base_args(provider, path)
    extra = {'upload_args': {k: v for k, v in args.items() if k not in ('name',)}, 'upload_name': args['name'],
             'expected': digests(path)}
    checked = run_playbook('image_upload.yml', env=cloud.env(), extra_vars=extra, check=True)
    assert checked.rc == 0 and checked.changed() == 1, checked.output
    assert '"cloudimages_build": "%s"' % args['build'] in checked.output, 'diff shows the create body'
    assert not identity_images(cloud.connect(), provider), 'check mode writes nothing'

    first = run_playbook('image_upload.yml', env=cloud.env(), extra_vars=extra)
    assert first.rc == 0 and first.changed() == 1, first.output
    second = run_playbook('image_upload.yml', env=cloud.env(), extra_vars=extra)
    assert second.rc == 0 and second.changed() == 0, second.output
    assert only_image(cloud, provider).status == 'active'
