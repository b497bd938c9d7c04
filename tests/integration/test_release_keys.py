"""One release key: what the daily sync writes into Glance is what upstream_release returns.

image_verify matches releases by that key, so a drift silently skipped its vendor checks
(``ubuntu_minimal-24.04`` written, ``ubuntu-minimal-24.04`` discovered). The queue comes from the
real distribution roles run by ansible-playbook; the key from the very source classes
upstream_release runs. No cloud and no network: nothing is discovered.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils import _lifecycle
from ansible_collections.cloudimages.openstack.plugins.module_utils._sources._base import DiscoveryError
from ansible_collections.cloudimages.openstack.plugins.module_utils._sources._registry import SOURCES
from playbook_runner import run_playbook

DISTRIBUTIONS = ['ubuntu', 'ubuntu_minimal', 'debian', 'rocky', 'almalinux', 'fedora', 'fedora_coreos', 'flatcar',
                 'cirros', 'windows']


@pytest.mark.parametrize('arch', ['x86_64', 'aarch64'])
def test_daily_sync_key_is_upstream_release_key(tmp_path, arch):
    queue_file = tmp_path / 'queue.json'
    result = run_playbook('release_keys.yml', extra_vars={
        'distributions': DISTRIBUTIONS, 'queue_file': str(queue_file), 'image_sync_arch': arch})
    assert result.rc == 0, result.output
    queue = json.loads(queue_file.read_text())
    assert {job['rotate']['release_key'].split('-')[0] for job in queue} == set(DISTRIBUTIONS)
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
    assert checked >= len(DISTRIBUTIONS) and streams
