"""What the daily sync writes in image_description (module_utils/_sync_report.py)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils._sync_report import ReportError, change_lines, compression_of, description


def test_boot_tested_or_not_is_said_as_it_is():
    assert 'boot-tested in this cloud before publication' in description('Debian 12', True)
    text = description('Debian 12', False)
    assert 'not boot-tested in this cloud' in text and 'boot-tested in this cloud before' not in text
    assert text.startswith('Debian 12: unmodified upstream image')
    assert 'compressed' not in text


@pytest.mark.parametrize('source, options, expected', [
    ('fedora_coreos', {}, 'xz'), ('flatcar', {}, 'bz2'), ('ubuntu', {}, 'none'), ('debian', {}, 'none'),
    ('checksum_file', {'compression': 'gz'}, 'gz'), ('checksum_file', {}, 'none'),
])
def test_compression_comes_from_the_source_or_its_options(source, options, expected):
    assert compression_of(source, options) == expected


def test_bad_source_or_compression_is_refused():
    with pytest.raises(ReportError, match='unknown source'):
        compression_of('nosuch')
    with pytest.raises(ReportError, match='compression must be one of'):
        compression_of('checksum_file', {'compression': 'zstd'})
    with pytest.raises(ReportError, match='compression must be one of'):
        description('X', True, 'zstd')


def test_compressed_upstream_says_how_to_reproduce_the_checksum():
    qcow = description('Fedora CoreOS stable', True, 'xz')
    assert 'xz-compressed' in qcow and 'decompress it first (xz -dk FILE)' in qcow and 'qemu-img' not in qcow
    raw = description('Flatcar stable', False, 'bz2', store_raw=True)
    assert raw.index('bzip2 -dk') < raw.index('qemu-img convert -O raw') < raw.index('md5sum')


def test_provider_builds_and_notes():
    text = description('Windows Server 2025 GUI', True, provider_built=True, note='Set the password with admin_pass.')
    assert 'built by the provider' in text and 'upstream' not in text
    assert text.endswith('Set the password with admin_pass.')


def test_change_lines_name_images_and_leave_out_keeps():
    actions = [
        {'action': 'promote', 'id': 'planned build 2', 'reason': "newest active version: 'D', public",
         'before': {'name': 'D (candidate 2)', 'visibility': 'private', 'os_hidden': False},
         'after': {'name': 'D', 'visibility': 'public', 'os_hidden': False, 'properties': {}}},
        {'action': 'demote', 'id': 'x', 'reason': 'previous version: dated name, hidden',
         'before': {'name': 'D', 'visibility': 'public', 'os_hidden': False},
         'after': {'name': 'D 20261116', 'visibility': 'public', 'os_hidden': True, 'properties': {'os_purpose': 'oldgeneric'}}},
        {'action': 'keep', 'id': 'y', 'reason': 'latest', 'before': {'name': 'E'}, 'after': {'name': 'E'}},
        {'action': 'delete', 'id': 'z', 'reason': 'beyond retention', 'before': {'name': 'D 20261001'}, 'after': None},
    ]
    assert change_lines(actions) == [
        'promote "D (candidate 2)" -> name "D"; public (newest active version: \'D\', public)',
        'demote "D" -> name "D 20261116"; hidden; properties os_purpose=oldgeneric (previous version: dated name, hidden)',
        'delete "D 20261001": beyond retention']
    assert change_lines([]) == []
