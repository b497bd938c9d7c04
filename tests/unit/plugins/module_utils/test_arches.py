"""One architecture name, each vendor's spelling, and the real aarch64 vendor files.

The collection says x86_64 and aarch64; _arches.SPELLINGS maps them to each vendor's word in
URLs and indexes. Every real aarch64/arm64 sample of tests/data/vendor_samples is read here by
the very source class that reads it upstream, so a sample added later must be listed too.
"""

from __future__ import annotations

import ast
import glob
import json
import os

import pytest
import yaml

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _checksums
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import (
    DEFAULT_ARCH, SPELLINGS)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    Context, DiscoveryError, Response, same_digest)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import make_source
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._registry import SOURCES
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._ubuntu import newest_version

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..')
SAMPLES = os.path.join(ROOT, 'tests', 'data', 'vendor_samples')


def sample(path):
    with open(os.path.join(SAMPLES, *path.split('/')), 'rb') as handle:
        return handle.read()


# (source, release, arch, entry URL or None, the vendor's word): where each vendor puts an arch.
MAPPING = [
    ('ubuntu', '24.04', 'aarch64', None, 'arm64'), ('ubuntu', '24.04', 'x86_64', None, 'amd64'),
    ('ubuntu_minimal', '24.04', 'aarch64', None, 'arm64'),
    ('debian', '13', 'aarch64', 'https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-arm64.json',
     'arm64'),
    ('debian', '13', 'x86_64', 'https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-amd64.json',
     'amd64'),
    ('rocky', '10', 'aarch64', 'https://dl.rockylinux.org/pub/rocky/10/images/aarch64/CHECKSUM', 'aarch64'),
    ('almalinux', '9', 'aarch64', 'https://repo.almalinux.org/almalinux/9/cloud/aarch64/images/CHECKSUM', 'aarch64'),
    ('fedora', '44', 'aarch64', 'https://fedoraproject.org/releases.json', 'aarch64'),
    ('fedora_coreos', 'stable', 'aarch64', 'https://builds.coreos.fedoraproject.org/streams/stable.json', 'aarch64'),
    ('flatcar', 'stable', 'aarch64', 'https://stable.release.flatcar-linux.net/arm64-usr/current/version.txt',
     'arm64-usr'),
    ('flatcar', 'stable', 'x86_64', 'https://stable.release.flatcar-linux.net/amd64-usr/current/version.txt',
     'amd64-usr'),
    ('cirros', '0.6', 'aarch64', 'https://download.cirros-cloud.net/version/released', 'aarch64'),
]


@pytest.mark.parametrize('source, release, arch, entry, word', MAPPING, ids=['%s-%s' % (m[0], m[2]) for m in MAPPING])
def test_each_vendor_spells_the_arch_its_way(source, release, arch, entry, word):
    found = make_source(source, release, arch)
    assert found.vendor_arch == word
    assert entry is None or found.entry_url() == entry
    assert found.key.endswith('-aarch64') == (arch == 'aarch64')


def test_every_source_has_a_row_with_both_arches():
    assert set(SPELLINGS) == set(SOURCES)
    assert all({'x86_64', 'aarch64'} <= set(row) for row in SPELLINGS.values())


def test_an_arch_the_vendor_does_not_build_is_refused_by_name():
    with pytest.raises(DiscoveryError, match=r'^flatcar publishes no images for architecture s390x '
                                             r'\(it builds x86_64, aarch64\)$'):
        make_source('flatcar', 'stable', 's390x')


def newest(source, release, path, arch='aarch64'):
    found = make_source(source, release, arch)
    return found, found.newest(Context(None), Response(found.entry_url(), 200, sample(path)))


def checks_directory(source, release, path):
    found, candidate = newest(source, release, path)
    assert candidate['filename'].endswith('.aarch64.qcow2')
    assert candidate['filename'].startswith('%s-%s-GenericCloud-' % (found.title.replace(' Linux', ''), release))


def checks_debian(path, sums):
    release = path.split('-')[1]
    found, candidate = newest('debian', release, path)
    assert '-genericcloud-arm64-' in candidate['filename']
    entry = _checksums.find(sample(sums).decode(), candidate['filename'])
    same_digest(entry, candidate['hint'], path)  # the JSON's base64 digest is the SHA512SUMS line


def checks_fcos(path):
    _found, candidate = newest('fedora_coreos', path.split('/')[1][:-len('.json')], path)
    assert candidate['location'].endswith('/aarch64/fedora-coreos-%s-openstack.aarch64.qcow2.xz' % candidate['version'])


def checks_fedora(path):
    _found, candidate = newest('fedora', '44', 'fedora/releases.reconstructed-f44.json')
    body = sample(path).decode().split('\n\n', 1)[1]
    entry = _checksums.find(body, candidate['filename'])
    assert candidate['filename'] == 'Fedora-Cloud-Base-Generic-44-1.7.aarch64.qcow2'
    same_digest(entry, candidate['hint'], path)  # releases.json and the clearsigned CHECKSUM agree


def checks_fedora_list(path):
    """The real 2024 list: 40 and 39 for aarch64 (the beta skipped); their names predate the
    Generic-<version>.<arch> grammar of Fedora 41 on and are refused by name (both are past their end of life)."""
    found = make_source('fedora', 'current', 'aarch64')
    assert [item['release'] for item in found.catalog(Response(found.entry_url(), 200, sample(path)))] == ['40', '39']
    for release in ('39', '40'):
        with pytest.raises(DiscoveryError, match='unexpected image link .*aarch64.* for Fedora %s' % release):
            newest('fedora', release, path)


def checks_ubuntu_minimal(path):
    _found, candidate = newest('ubuntu_minimal', '23.10', path)
    assert (candidate['version'], candidate['filename']) == ('20231025', 'ubuntu-23.10-minimal-cloudimg-arm64.img')


def checks_sums(path, name):
    entries = _checksums.parse(sample(path), source=path)
    assert _checksums.select(entries, name, source=path).name == name and not entries.problems


# Every vendor sample that names aarch64 or arm64, and how its vendor's source reads it.
AARCH64_SAMPLES = {
    'almalinux/CHECKSUM.almalinux10-aarch64': lambda p: checks_directory('almalinux', '10', p),
    'almalinux/CHECKSUM.almalinux9-aarch64': lambda p: checks_directory('almalinux', '9', p),
    'rocky/CHECKSUM.10.0-aarch64': lambda p: checks_directory('rocky', '10', p),
    'rocky/CHECKSUM.10.1-aarch64': lambda p: checks_directory('rocky', '10', p),
    'rocky/CHECKSUM.9.1-aarch64': lambda p: checks_directory('rocky', '9', p),
    'rocky/CHECKSUM.9.5-aarch64': lambda p: checks_directory('rocky', '9', p),
    'rocky/CHECKSUM.9.6-aarch64': lambda p: checks_directory('rocky', '9', p),
    'rocky/CHECKSUM.9.7-aarch64': lambda p: checks_directory('rocky', '9', p),
    # ISOs, no cloud image: the parser keeps the listed ISO (test_vendor_samples says which line it warns of).
    'rocky/CHECKSUM.8.7-aarch64-isos': lambda p: len(_checksums.parse(sample(p), source=p).problems) == 1,
    'debian/debian-11-genericcloud-arm64.json': lambda p: checks_debian(
        p, 'debian/SHA512SUMS.bullseye-20250303-2040.reconstructed'),
    'debian/debian-12-genericcloud-arm64.json': lambda p: checks_debian(
        p, 'debian/SHA512SUMS.bookworm-20250210-2019.reconstructed'),
    'debian/debian-13-genericcloud-arm64.json': lambda p: checks_debian(
        p, 'debian/SHA512SUMS.trixie-20250814-2204.reconstructed'),
    'debian/SHA512SUMS.trixie-daily-20260717-2542': lambda p: checks_sums(
        p, 'debian-13-genericcloud-arm64-daily-20260717-2542.qcow2'),
    'fcos/stable.json': checks_fcos, 'fcos/testing.json': checks_fcos, 'fcos/next.json': checks_fcos,
    'fedora/Fedora-Cloud-44-1.7-aarch64-CHECKSUM': checks_fedora,
    'fedora/releases.reconstructed-f44.json': lambda p: checks_fedora('fedora/Fedora-Cloud-44-1.7-aarch64-CHECKSUM'),
    'fedora/releases.json': checks_fedora_list,
    'ubuntu_minimal/minimal-released-download-excerpt-2023-11-02.json': checks_ubuntu_minimal,
    'ubuntu/SHA256SUMS': lambda p: checks_sums(p, 'ubuntu-24.04-server-cloudimg-arm64.img'),
    'ubuntu/SHA256SUMS.jammy-release.kubevirt': lambda p: checks_sums(p, 'ubuntu-22.04-server-cloudimg-arm64.img'),
    'ubuntu/SHA256SUMS.noble-daily-20260705.osism': lambda p: checks_sums(p, 'noble-server-cloudimg-arm64.img'),
    'cirros/SHA256SUMS.0.6.3.excerpt': lambda p: checks_sums(p, 'cirros-0.6.3-aarch64-disk.img'),
}


def test_every_aarch64_sample_is_read_here():
    found = set()
    for vendor in os.listdir(SAMPLES):
        for name in os.listdir(os.path.join(SAMPLES, vendor)) if vendor not in ('keys', 'SOURCES.md') else ():
            path = '%s/%s' % (vendor, name)
            if not name.endswith('.md') and (b'aarch64' in sample(path) or b'arm64' in sample(path)):
                found.add(path)
    # Checksum files that list arm64 builds of other releases than those read above.
    found -= {'debian/SHA512SUMS.%s.reconstructed' % build for build in (
        'bookworm-20250210-2019', 'bullseye-20250303-2040', 'trixie-20250814-2204')}
    assert found == set(AARCH64_SAMPLES)


@pytest.mark.parametrize('path', sorted(AARCH64_SAMPLES))
def test_real_aarch64_sample_parses(path):
    assert AARCH64_SAMPLES[path](path) is not False


def test_a_release_the_vendor_never_built_for_arm64_says_so():
    """Real: Ubuntu 12.04 was built for amd64, i386 and armhf (the excerpt keeps armhf and i386); arm64 came later."""
    doc = Response('u', 200, sample('ubuntu/released-download-2024-08-22.json')).json()
    with pytest.raises(DiscoveryError, match=r'^Ubuntu 12\.04 is not built for arm64: u lists it for armhf, '
                                             r'i386 only$'):
        newest_version(doc, '12.04', 'arm64', 'u')


def test_fedora_without_an_aarch64_compose_says_so():
    real = Response('r', 200, sample('fedora/releases.reconstructed-f44.json')).json()
    entries = [dict(entry, arch='x86_64') for entry in real]
    found = make_source('fedora', '44', 'aarch64')
    with pytest.raises(DiscoveryError, match=r'^Fedora 44 is not built for aarch64: .* lists its Cloud_Base qcow2 for '
                                             r'x86_64 only$'):
        found.newest(Context(None), Response(found.entry_url(), 200, json.dumps(entries).encode()))


@pytest.mark.parametrize('source', ['checksum_file', 'local_artifact'])
def test_a_provider_artifact_built_for_x86_64_only(source):
    """The Windows role data says what the provider's pipeline builds; another arch is refused before any request."""
    with open(os.path.join(ROOT, 'roles', 'windows', 'defaults', 'main.yml'), encoding='utf-8') as handle:
        data = yaml.safe_load(handle)
    options = dict(data['windows_releases'][0]['options'], url='https://artifacts.example.com/windows/2025/')
    if source == 'local_artifact':
        options = {'url': options['url'] + 'w.qcow2', 'checksum': 'sha256:' + 'ab' * 32, 'version': '20261116',
                   'distro': 'windows', 'architectures': options['architectures']}
    assert make_source(source, '2025', 'x86_64', options).arch == 'x86_64'
    with pytest.raises(DiscoveryError, match=r'^windows 2025: the provider builds it for x86_64 only '
                                             r'\(options\.architectures\), not for aarch64'):
        make_source(source, '2025', 'aarch64', options)


def _code_strings(path):
    """The string constants of a Python file's code: not its docstrings, nor DOCUMENTATION, EXAMPLES, RETURN."""
    with open(path, encoding='utf-8') as handle:
        tree = ast.parse(handle.read())
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, 'body', None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', '') in ('DOCUMENTATION', 'EXAMPLES', 'RETURN')
                                                for t in node.targets):
            skip.update(id(n) for n in ast.walk(node.value))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in skip]


def test_the_default_architecture_is_spelled_once():
    """One concept, one place: every default of an architecture in the code is _arches.DEFAULT_ARCH.
    The spelling tables of _arches and SCS-0102's list of its values (_scs) say the word as data."""
    tables = {os.path.join('upstream', 'sources', '_arches.py'), os.path.join('glance', '_scs.py')}
    spelled = sorted(os.path.relpath(path, os.path.join(ROOT, 'plugins'))
                     for path in glob.glob(os.path.join(ROOT, 'plugins', '**', '*.py'), recursive=True)
                     if DEFAULT_ARCH in _code_strings(path)
                     and os.path.relpath(path, os.path.join(ROOT, 'plugins', 'module_utils')) not in tables)
    assert spelled == []
    # The role's default, written as data, is that architecture.
    with open(os.path.join(ROOT, 'roles', 'image_sync', 'defaults', 'main.yml'), encoding='utf-8') as handle:
        assert yaml.safe_load(handle)['image_sync_arch'] == DEFAULT_ARCH
