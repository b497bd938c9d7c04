"""Every upstream-facing module through every fault of the mirror: a clean message, one release fails alone.

One ansible-playbook run (tests/integration/playbooks/upstream_faults.yml) drives upstream_release,
release_status_info, image_fetch and image_verify through the mirror's transport faults (drop,
5xx, slow drip, redirect loop, scheme change, truncation) and content faults (a signature by a
key that is not pinned, a signature over other bytes). Each fault has its own MirrorServer on the
shared mirror (or a faulted mirror copy), so the loop items do not disturb each other; a clean
server is the control. Transport faults hit Ubuntu 24.04's checksum signature (discovery) and the
Fedora CoreOS image (fetch, verify); the content faults their signatures.
"""

from __future__ import annotations

import json
import lzma
import re
import shutil
import uuid

import pytest

from playbook_runner import run_playbook
from sync_support import delete_managed
from test_image_verify import create_managed, delete_image, identity

DEADLINE = 3
TRANSPORT = {  # fault name -> (server fault kind, parameters)
    'drop': ('drop', {'after': 100}),
    '5xx': ('error', {'status': 503, 'times': None}),
    'slow': ('slow', {'rate': 20}),  # 2 bytes every 0.1 s: never a read timeout
    'redirect_loop': ('redirect_loop', {}),
    'scheme_change': ('scheme_change', {}),
    'truncate': ('truncate', {}),
}
CONTENT = {'wrong_key': 'untrusted', 'bad_signature': 'tampered'}  # Mirror.inject('bad_signature', mode=...)
FAULTS = list(TRANSPORT) + list(CONTENT)

# What each module must say, per fault (regular expressions searched in the message).
SIG = r'signature http://127\.0\.0\.1:\d+/cloud-images\.ubuntu\.com/releases/noble/release-\d+/SHA256SUMS\.gpg'
IMG = r'http://127\.0\.0\.1:\d+/builds\.coreos\.fedoraproject\.org/\S+\.qcow2\.xz'
SIG_REMOVED = r'\.sig: check failed, the download was removed from the cache: .* '
EXPECTED = {
    'upstream_release': {
        'drop': SIG + r': request failed \(after 2 attempts\): Connection broken: IncompleteRead\(100 bytes read, \d+ more expected\)$',
        '5xx': SIG + r': HTTP 503 Service Unavailable',
        'slow': SIG + r': request failed: not complete within the transfer deadline of 3 s \(transfer_deadline\): the server '
                      r'at 127\.0\.0\.1:\d+ is too slow or stalled$',
        'redirect_loop': SIG + r': request failed: too many redirects \(a redirect loop\?\) from ',
        'scheme_change': SIG + r': request failed: \S+ redirected to https://\S+, which changes the scheme; refusing it$',
        'truncate': SIG + r': no OpenPGP signature data found \[NODATA\]$',
        'wrong_key': SIG + r': the signing key is not in the keyring \(key [0-9A-F]{16}\) \[NO_PUBKEY\]$',
        'bad_signature': SIG + r': BAD signature \(the data or the signature was altered\) \(key [0-9A-F]{16}\) \[BADSIG\]$',
    },
    'image_fetch': {
        'drop': r'download failed: downloading ' + IMG + r' failed after 2 attempts \(\d+ bytes kept for the next run to '
                r'resume\): Connection broken: IncompleteRead\(100 bytes read, \d+ more expected\)$',
        '5xx': r'download failed: GET ' + IMG + r' answered HTTP 503 Service Unavailable$',
        'slow': r'download failed: downloading ' + IMG + r' failed after 1 attempt \(\d+ bytes kept for the next run to '
                r'resume\): not complete within the transfer deadline of 3 s \(transfer_deadline\)',
        'redirect_loop': r'download failed: downloading ' + IMG + r' failed: too many redirects \(a redirect loop\?\)',
        'scheme_change': r'download failed: downloading ' + IMG + r' failed: \S+ redirected to https://\S+, which changes '
                         r'the scheme; refusing it$',
        'truncate': r'download failed: sha256 mismatch for ' + IMG + r': expected [0-9a-f]{64}, got [0-9a-f]{64}; the download '
                    r'was discarded$',
        'wrong_key': IMG + SIG_REMOVED + r'the signing key is not in the keyring \(key [0-9A-F]{16}\) \[NO_PUBKEY\]$',
        'bad_signature': IMG + SIG_REMOVED + r'BAD signature \(the data or the signature was altered\) \(key [0-9A-F]{16}\) '
                                             r'\[BADSIG\]$',
    },
}
EXPECTED['image_verify'] = dict(EXPECTED['image_fetch'], truncate=r'no longer matches the digest recorded at upload.*: sha256 mismatch for ')
EXPECTED['release_status_info'] = EXPECTED['upstream_release']
VERIFY_STATUS = dict({fault: 'error' for fault in FAULTS}, truncate='unverifiable')


def fcos_release(mirror, server):
    info = mirror.releases['fedora-coreos', 'stable']
    return {'key': 'fedora-coreos-stable', 'version': info.version, 'checksum': 'sha256:' + info.sha256,
            'image_source': info.image_url, 'url': server.rewrite(info.image_url), 'filename': info.file_name,
            'image_signature_url': server.rewrite(info.image_signature_url), 'compression': 'xz', 'disk_format': 'qcow2',
            'trust': {'keyring': str(mirror.keyring.trusted_keyring), 'fingerprints': [mirror.keyring.trusted_fingerprint]}}


@pytest.fixture(scope='module')
def outcome(cloud, upstream, tmp_path_factory):
    """Run the playbook once; return ``(results by module, fault names, the playbook's output, the servers)``."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    work = tmp_path_factory.mktemp('faults')
    base = upstream.mirror
    keyring = str(work / 'vendor-keys.gpg')
    shutil.copyfile(base.keyring.trusted_keyring, keyring)
    mirrors = {'clean': base}
    for fault, mode in CONTENT.items():
        mirrors[fault] = base.copy(work / fault)
        mirrors[fault].inject('ubuntu', '24.04', 'bad_signature', mode=mode)
        mirrors[fault].inject('fedora-coreos', 'stable', 'bad_signature', mode=mode)
    servers = {name: MirrorServer(mirrors.get(name, base)).start() for name in ['clean'] + FAULTS}
    provider = 'faults-%s' % uuid.uuid4().hex[:8]
    conn = cloud.connect('admin', 'RegionOne')
    created = []
    try:
        ubuntu, fcos, cirros = base.releases['ubuntu', '24.04'], base.releases['fedora-coreos', 'stable'], base.releases['cirros', '0.6']
        for name, (kind, params) in TRANSPORT.items():
            for url in (ubuntu.checksum_signature_url, fcos.image_url):
                servers[name].set_fault(url, kind, **params)
        # In Glance: the FCOS build every fault hits, and CirrOS, which no fault touches.
        fcos_qcow2 = work / 'fcos.qcow2'
        fcos_qcow2.write_bytes(lzma.decompress(open(fcos.local_path, 'rb').read()))
        tag = 'managed_by_' + provider
        for path, info, key in ((fcos_qcow2, fcos, 'fedora-coreos-stable'), (cirros.local_path, cirros, None)):
            created.append(create_managed(conn, path, tag, 'public', **identity(info, key=key)).id)
        cases, statuses = [], []
        for name in ['clean'] + FAULTS:
            rewrites = {'https://': servers[name].url + '/'}
            cases.append({'fault': name, 'rewrites': rewrites, 'cache': str(work / 'cache' / name),
                          'fcos': fcos_release(mirrors.get(name, base), servers[name])})
            statuses.append({'discover': {'source': 'ubuntu', 'release': '24.04', 'url_rewrites': rewrites, 'keyring': keyring,
                                          'trusted_fingerprints': [base.keyring.trusted_fingerprint], 'retries': 1,
                                          'transfer_deadline': DEADLINE, 'cache_dir': str(work / 'cache' / name / 'status')},
                             'rotate': {'provider': provider, 'release_key': 'ubuntu-24.04-' + name, 'name': 'Ubuntu ' + name}})
        results_file = work / 'results.json'
        result = run_playbook('upstream_faults.yml', env=cloud.env(), timeout=900, extra_vars={
            'cases': cases, 'statuses': statuses, 'keyring': keyring, 'fingerprint': base.keyring.trusted_fingerprint,
            'deadline': DEADLINE, 'provider': provider, 'results_file': str(results_file)})
        assert result.rc == 0, result.output
        results = json.loads(results_file.read_text(encoding="utf-8"))
        yield results, ['clean'] + FAULTS, result.output, servers
    finally:
        for image_id in created:
            delete_image(conn, image_id)
        for server in servers.values():
            server.stop()
        for name in CONTENT:
            mirrors[name].close()


def _by_fault(results, module, faults):
    if module == 'release_status_info':
        return dict(zip(faults, results[module]['releases']))
    return {item['item']['fault']: item for item in results[module]}


def _no_traceback(result):
    # ansible-core 2.19 adds exception: '(traceback unavailable)' to every failed result without one.
    return 'Traceback' not in json.dumps(result) and result.get('exception') in (None, '(traceback unavailable)')


def test_no_traceback_anywhere(outcome):
    results, _faults, output, _servers = outcome
    assert 'Traceback' not in output and 'Traceback' not in json.dumps(results)


@pytest.mark.parametrize('fault', FAULTS)
@pytest.mark.parametrize('module', ['upstream_release', 'image_fetch'])
def test_a_fault_fails_the_module_with_a_specific_message(outcome, module, fault):
    results, faults, _output, _servers = outcome
    item = _by_fault(results, module, faults)[fault]
    assert item['failed'] and _no_traceback(item), item
    assert re.search(EXPECTED[module][fault], item['msg']), item['msg']


@pytest.mark.parametrize('fault', FAULTS)
def test_status_check_fails_that_release_alone(outcome, fault):
    results, faults, _output, _servers = outcome
    status = results['release_status_info']
    assert not status.get('failed') and _no_traceback(status)
    entries = _by_fault(results, 'release_status_info', faults)
    entry = entries[fault]
    assert entry['settled'] is False and entry['release'] is None and re.search(EXPECTED['release_status_info'][fault], entry['error'])
    clean = entries['clean']
    assert clean['error'] is None and clean['release']['version'] and clean['reason'].endswith('is not in this cloud yet')


@pytest.mark.parametrize('fault', FAULTS)
def test_image_verify_reports_that_image_alone(outcome, fault):
    results, faults, _output, _servers = outcome
    item = _by_fault(results, 'image_verify', faults)[fault]
    assert not item.get('failed') and _no_traceback(item), item
    entries = {entry['release_key']: entry for entry in item['images']}
    fcos = entries['fedora-coreos-stable']
    assert fcos['status'] == VERIFY_STATUS[fault] and re.search(EXPECTED['image_verify'][fault], fcos['reason']), fcos
    assert entries['cirros-0.6']['status'] == 'match'


def test_the_clean_server_serves_every_module(outcome):
    results, faults, _output, _servers = outcome
    assert not _by_fault(results, 'upstream_release', faults)['clean'].get('failed')
    assert not _by_fault(results, 'image_fetch', faults)['clean'].get('failed')
    verify = _by_fault(results, 'image_verify', faults)['clean']
    assert sorted(entry['status'] for entry in verify['images']) == ['match', 'match']


def test_dropped_and_5xx_transfers_were_retried(outcome):
    _results, _faults, _output, servers = outcome
    for name in ('drop', '5xx'):
        hits = [entry for entry in servers[name].requests if entry['fault']]
        signature = [entry for entry in hits if entry['path'].endswith('SHA256SUMS.gpg')]
        # upstream_release and release_status_info: each 1 request + 1 retry (retries: 1).
        assert len(signature) == 4, (name, signature)


def _task_result(output, name, host):
    """The result the default callback prints (as JSON) for ``host`` of the task ``name``."""
    task = output.index('TASK [%s]' % name)
    start = output.index('ok: [%s] => ' % host, task) + len('ok: [%s] => ' % host)
    return json.JSONDecoder().raw_decode(output[start:])[0]


def test_daily_sync_summary_fails_the_faulted_releases_alone(cloud, upstream, tmp_path):
    """The daily sync of one cloud: a scheme change on Ubuntu 24.04's signature (status check) and a redirect
    loop on CirrOS's image (fetch) fail those two releases; Ubuntu 22.04 is synced all the same."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    from sync_inventory import write_inventory  # pylint: disable=import-outside-toplevel
    mirror, provider = upstream.mirror, 'faultsync' + uuid.uuid4().hex[:8]
    try:
        with MirrorServer(mirror) as server:
            server.set_fault(mirror.releases['ubuntu', '24.04'].checksum_signature_url, 'scheme_change')
            server.set_fault(mirror.releases['cirros', '0.6'].image_url, 'redirect_loop')
            inventory = write_inventory(tmp_path / 'inventory.json', mirror, server, provider, tmp_path / 'cache', mirror.today,
                                        boot_test=False, region_one={'cloudimages_distributions': ['ubuntu', 'cirros']})
            result = run_playbook('cloudimages.openstack.daily_sync', env=dict(cloud.env(), ANSIBLE_CALLBACK_RESULT_FORMAT='json'),
                                  inventory=str(inventory), args=['--limit', 'region_one'], timeout=900)
    finally:
        delete_managed(cloud, provider)
    assert result.rc != 0 and 'Traceback' not in result.output, result.output  # the cloud fails, at the very end
    summary = _task_result(result.output, 'Summary of this cloud', 'region_one')['msg']
    synced = {entry['release']: entry for entry in summary['synced']}
    assert set(synced) == {'Ubuntu 26.04 Resolute Raccoon', 'Ubuntu 24.04 Noble Numbat', 'Ubuntu 22.04 Jammy Jellyfish',
                           'CirrOS 0.6'}, summary
    assert synced['Ubuntu 22.04 Jammy Jellyfish']['failed'] is None and synced['Ubuntu 22.04 Jammy Jellyfish']['uploaded'] is True
    assert re.fullmatch(r'Options and upstream discovery \| Ubuntu 24\.04 Noble Numbat: ' + SIG + r': request failed: \S+ '
                        r'redirected to https://\S+, which changes the scheme; refusing it', synced['Ubuntu 24.04 Noble Numbat']['failed'])
    assert re.fullmatch(r'Fetch, verify and inspect \| CirrOS 0\.6: download failed: downloading \S+ failed: too many redirects '
                        r'\(a redirect loop\?\) from \S+', synced['CirrOS 0.6']['failed'])
