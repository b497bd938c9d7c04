"""The rollback guard's memory (state/newest/): what the daily sync remembers is only what it published."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import RETRIES
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    DISCOVER_SPEC, remember_published, validated)


def params(cache):
    return {'source': 'ubuntu', 'release': '24.04', 'arch': 'x86_64', 'options': {}, 'cache_dir': str(cache)}


def build(version, date):
    return {'release': '24.04', 'version': version, 'build_date': date, 'checksum': 'sha256:' + version}


def test_a_published_build_is_remembered_and_never_replaced_by_an_older_one(tmp_path):
    memory = tmp_path / 'state' / 'newest' / 'ubuntu-24.04-x86_64.json'
    assert remember_published(params(tmp_path), build('20261201', '2026-12-01'))
    assert json.loads(memory.read_text())['version'] == '20261201'
    assert set(json.loads(memory.read_text())) == {'version', 'build_date', 'checksum', 'mac'}  # see test_state_key.py
    assert not remember_published(params(tmp_path), build('20261130', '2026-11-30'))  # older: the newer stays
    assert not remember_published(params(tmp_path), build('20261201', '2026-12-01'))  # the same
    assert remember_published(params(tmp_path), build('20261202', '2026-12-02'))
    record = json.loads(memory.read_text())
    del record['mac']  # the record's MAC under this user's state key
    assert record == {'version': '20261202', 'build_date': '2026-12-02', 'checksum': 'sha256:20261202'}


def test_check_mode_and_no_cache_write_nothing(tmp_path):
    assert remember_published(params(tmp_path), build('20261201', '2026-12-01'), check_mode=True)
    assert not (tmp_path / 'state').exists()
    assert not remember_published(dict(params(tmp_path), cache_dir=None), build('20261201', '2026-12-01'))


def test_remembers_discover_options_are_checked_as_release_status_infos_with_defaults_and_errors():
    """image_rotate's remember.discover and release_status_info's discover share one check (_engine.validated)."""
    found = validated(DISCOVER_SPEC, {'source': 'ubuntu', 'release': '24.04'}, 'remember.discover')
    assert (found['arch'], found['retries'], found['cache_dir']) == ('x86_64', RETRIES, os.path.expanduser('~/.cache/cloudimages'))
    with pytest.raises(ValueError, match=r'^remember\.discover: .*source') as bad:
        validated(DISCOVER_SPEC, {'source': 'nosuch', 'release': '24.04'}, 'remember.discover')
    assert 'nosuch' in str(bad.value)
    with pytest.raises(ValueError, match='remember.discover must be a dict of options'):
        validated(DISCOVER_SPEC, 'ubuntu', 'remember.discover')
