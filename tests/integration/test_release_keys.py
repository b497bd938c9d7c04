"""One release key: what the daily sync writes into Glance is what upstream_release returns.

image_verify matches releases by that key, so a drift silently skipped its vendor checks
(``ubuntu_minimal-24.04`` written, ``ubuntu-minimal-24.04`` discovered). The queue comes from the
real distribution roles run by ansible-playbook; the key from the very source classes
upstream_release runs. No cloud and no network. A stream (Fedora ``current``) is also expanded
end to end, for both architectures: upstream_release discovers its newest release from the local
mirror and returns the key the queue's expansion (``_lifecycle.concrete``) gives that release.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _lifecycle
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import release_key
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import DiscoveryError
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._registry import SOURCES
from playbook_runner import run_playbook

DISTRIBUTIONS = ['ubuntu', 'ubuntu_minimal', 'debian', 'rocky', 'almalinux', 'fedora', 'fedora_coreos', 'flatcar',
                 'cirros', 'windows']


@pytest.fixture(scope='module')
def queues(tmp_path_factory):
    """The queue of every distribution per architecture, each built once by ansible-playbook."""
    found = {}
    for arch in ('x86_64', 'aarch64'):
        queue_file = tmp_path_factory.mktemp('queue') / 'queue.json'
        result = run_playbook('release_keys.yml', extra_vars={
            'distributions': DISTRIBUTIONS, 'queue_file': str(queue_file), 'image_sync_arch': arch})
        assert result.rc == 0, result.output
        # The provider builds Windows for x86_64 only: an aarch64 cloud leaves it out, and says so.
        said = ' '.join(result.output.split())  # a warning may be wrapped
        assert ('Windows Server 2025 GUI is built for x86_64 only' in said) == (arch == 'aarch64'), said
        found[arch] = json.loads(queue_file.read_text())
    return found


@pytest.mark.parametrize('arch', ['x86_64', 'aarch64'])
def test_daily_sync_key_is_upstream_release_key(queues, arch):
    queue = queues[arch]
    built = set(DISTRIBUTIONS) - ({'windows'} if arch == 'aarch64' else set())
    assert {job['rotate']['release_key'].split('-')[0] for job in queue} == built
    # Nova's properties for the architecture, and the description names it (whether it boots here is
    # image_sync_boot_architectures': test_jobs.py, test_sync_report.py).
    for job in queue:
        properties = job['rotate']['properties']
        assert properties['architecture'] == arch, job
        assert 'in this cloud as %s' % arch in properties['image_description'], job
        if arch == 'aarch64':
            assert properties['hw_firmware_type'] == 'uefi' and properties['hw_machine_type'] == 'virt', job
    checked = streams = 0
    for job in queue:
        discover = job['discover']
        try:
            source = SOURCES[discover['source']](discover['release'], discover['arch'], discover['options'])
        except DiscoveryError:
            continue  # the vendor publishes no image for this architecture: upstream_release refuses it
        assert source.key == job['rotate']['release_key'], job
        assert source.key.endswith('-aarch64') == (arch == 'aarch64')
        checked += 1
        if discover['release'] in SOURCES[discover['source']].streams:  # Fedora's current: its releases too
            found = _lifecycle.concrete(job, '45', '2026-12-07')
            expanded = SOURCES[discover['source']]('45', discover['arch'], discover['options'])
            assert found['rotate']['release_key'] == expanded.key, found
            streams += 1
    assert checked >= len(built) and streams


def test_streams_expand_through_the_module_for_both_architectures(queues, tmp_path, upstream, server):
    jobs = [job for queue in queues.values() for job in queue
            if job['discover']['release'] in SOURCES[job['discover']['source']].streams]
    assert sorted(job['rotate']['release_key'] for job in jobs) == ['fedora-current', 'fedora-current-aarch64']
    out_file = tmp_path / 'found.json'
    result = run_playbook('release_keys_streams.yml', extra_vars={
        'jobs': [job['discover'] for job in jobs], 'rewrites': {'https://': server.url + '/'},
        'keyring': upstream.mirror.keyring.trusted_keyring, 'fingerprint': upstream.mirror.keyring.trusted_fingerprint,
        'cache': str(tmp_path / 'cache'), 'out_file': str(out_file)})
    assert result.rc == 0, result.output
    found = json.loads(out_file.read_text())
    for job, release in zip(jobs, found):
        arch = job['discover']['arch']
        info = upstream.mirror.release('fedora', release['release'], arch)
        assert (release['release'], release['version']) == ('44', info.version)
        assert release['url'] == server.rewrite(info.image_url) and release['filename'] == info.file_name
        assert release['key'] == _lifecycle.concrete(job, release['release'], '2026-11-16')['rotate']['release_key']
        assert release['key'] == release_key('fedora', '44', arch)
