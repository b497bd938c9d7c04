"""Web-download staging: the verified file once in the staging directory, named by its content."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _staging

SHA = hashlib.sha256(b'x').hexdigest()


def test_name_is_the_content_and_format():
    assert _staging.staged_name(SHA, 'qcow2') == SHA + '.qcow2'
    for bad in (None, '', 'sha256:' + SHA, SHA[:-1], '../' + SHA[3:]):
        with pytest.raises(ValueError, match='sha256'):
            _staging.staged_name(bad, 'raw')


def test_url_joins_the_base_url():
    assert _staging.url_of('https://images.example.com/stage/', 'a.raw') == 'https://images.example.com/stage/a.raw'
    assert _staging.url_of('http://127.0.0.1:8080', 'a.raw') == 'http://127.0.0.1:8080/a.raw'
    with pytest.raises(ValueError, match='http'):
        _staging.url_of('file:///srv/www', 'a.raw')


def test_put_copies_once_and_reuses(tmp_path):
    source = tmp_path / 'verified.qcow2'
    source.write_bytes(b'verified bytes')
    stage = tmp_path / 'stage'
    stage.mkdir()
    assert _staging.put(str(source), str(stage), 'n.qcow2') == len(b'verified bytes')
    assert (stage / 'n.qcow2').read_bytes() == b'verified bytes'
    assert oct((stage / 'n.qcow2').stat().st_mode & 0o777) == oct(0o644)
    assert _staging.put(str(source), str(stage), 'n.qcow2') == 0  # another region: already there
    (stage / 'n.qcow2').write_bytes(b'short')  # another size: put anew
    assert _staging.put(str(source), str(stage), 'n.qcow2') == len(b'verified bytes')
    assert sorted(os.listdir(stage)) == ['.staging.lock', 'n.qcow2']


def test_concurrent_regions_copy_once(tmp_path):
    source = tmp_path / 'verified.raw'
    source.write_bytes(os.urandom(1 << 20))
    stage = tmp_path / 'stage'
    stage.mkdir()
    written = []
    threads = [threading.Thread(target=lambda: written.append(_staging.put(str(source), str(stage), 'n.raw')))
               for _index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(written) == [0] * 7 + [1 << 20]
    assert (stage / 'n.raw').read_bytes() == source.read_bytes()


def test_discard_removes_a_refused_file(tmp_path):
    (tmp_path / 'n.raw').write_bytes(b'tampered')
    _staging.discard(str(tmp_path), 'n.raw')
    _staging.discard(str(tmp_path), 'n.raw')  # gone already: fine
    assert not (tmp_path / 'n.raw').exists()
