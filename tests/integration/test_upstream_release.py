"""upstream_release discovery against the local vendor mirror: real HTTP, real gpgv, real layouts."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import sys
import time

import pytest
import yaml

from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._build_order import check_withdrawal
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._managed import release_key
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, EndOfLife)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    DISCOVER_SPEC, discover, discover_from, make_source, remember_published,
)
from playbook_runner import run_playbook

ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'roles')

pytestmark = pytest.mark.skipif(not shutil.which('gpgv'), reason='needs gpgv')

# (source, release, mirror distro) for every vendor layout the mirror publishes.
VENDORS = [
    ('ubuntu', '26.04', 'ubuntu'), ('ubuntu', '24.04', 'ubuntu'), ('ubuntu', '22.04', 'ubuntu'),
    ('ubuntu_minimal', '26.04', 'ubuntu-minimal'), ('ubuntu_minimal', '24.04', 'ubuntu-minimal'),
    ('ubuntu_minimal', '22.04', 'ubuntu-minimal'),
    ('debian', '13', 'debian'), ('debian', '12', 'debian'), ('debian', '11', 'debian'),
    ('rocky', '9', 'rocky'), ('rocky', '10', 'rocky'),
    ('almalinux', '9', 'almalinux'), ('almalinux', '10', 'almalinux'),
    ('fedora', '43', 'fedora'), ('fedora', '44', 'fedora'),
    ('fedora_coreos', 'stable', 'fedora-coreos'), ('flatcar', 'stable', 'flatcar'), ('cirros', '0.6', 'cirros'),
]
# One release per vendor and tree: its aarch64 build, from the vendor's aarch64 layout.
AARCH64 = [('ubuntu', '24.04', 'ubuntu'), ('ubuntu_minimal', '24.04', 'ubuntu-minimal'), ('debian', '13', 'debian'),
           ('rocky', '9', 'rocky'), ('rocky', '10', 'rocky'), ('almalinux', '9', 'almalinux'),
           ('almalinux', '10', 'almalinux'), ('fedora', '44', 'fedora'), ('fedora_coreos', 'stable', 'fedora-coreos'),
           ('flatcar', 'stable', 'flatcar'), ('cirros', '0.6', 'cirros')]
WINDOWS_PATTERN = r'windows-server-2022-datacenter-gui-([0-9]{8})\.qcow2'


class Runner:
    """Discovery with the mirror's test key pinned and every URL mapped onto one server."""

    def __init__(self, mirror, server, tmp_path):
        self.mirror, self.server = mirror, server
        self.cache = str(tmp_path / 'cache')
        # The mirror's public key copied to a file of our own, as an operator would ship it.
        self.keyring = str(tmp_path / 'vendor-keys.gpg')
        shutil.copyfile(mirror.keyring.trusted_keyring, self.keyring)
        self.fingerprints = [mirror.keyring.trusted_fingerprint]

    @property
    def rewrites(self):
        return {'https://': self.server.url + '/'}

    def __call__(self, source, release, options=None, arch='x86_64', **kwargs):
        kwargs.setdefault('rewrites', self.rewrites)
        kwargs.setdefault('keyring', self.keyring)
        kwargs.setdefault('trusted_fingerprints', self.fingerprints)
        kwargs.setdefault('allow_unsigned', True)
        kwargs.setdefault('cache_dir', self.cache)
        return discover(make_session(retries=1, backoff=0.01), make_source(source, release, arch, options), **kwargs)

    def windows_options(self, release='2022'):
        info = self.mirror.releases['windows', release]
        return {'url': info.image_url.rsplit('/', 1)[0] + '/', 'pattern': WINDOWS_PATTERN.replace('2022', release),
                'distro': 'windows', 'login_user': 'Admin', 'image_source': 'private'}


@pytest.fixture
def run(upstream, server, tmp_path):
    return Runner(upstream.mirror, server, tmp_path)


@pytest.fixture
def own(upstream, tmp_path):
    """A private copy of the mirror on its own server, for tests that change upstream."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    mirror = upstream.mirror.copy(str(tmp_path / 'mirror'))
    try:
        with MirrorServer(mirror) as server:
            yield Runner(mirror, server, tmp_path)
    finally:
        mirror.close()


def assert_matches(release, info, server):
    algorithm, hexdigest = release['checksum'].split(':')
    assert release['version'] == info.version
    assert release['build_date'] == info.build_date
    assert release['url'] == server.rewrite(info.image_url)
    # Rocky/AlmaLinux: the release's own directory (/pub/rocky/9.6/...), not the major alias.
    assert release['image_source'] == info.extra.get('release_url', info.image_url)
    assert release['image_source'].startswith('https://')
    assert release['filename'] == info.file_name
    assert hexdigest == getattr(info, algorithm), release['checksum']
    assert release['compression'] == (info.compression or 'none')
    assert release['disk_format'] == info.disk_format
    if info.image_signature_url:
        assert release['image_signature_url'] == server.rewrite(info.image_signature_url)


def check_vendor(run, source, release, distro, arch='x86_64'):
    info = run.mirror.release(distro, release, arch)
    result, unchanged, requests = run(source, release, arch=arch)
    assert_matches(result, info, run.server)
    assert not unchanged and requests >= 1
    assert result['key'] == release_key(source, release, arch) and result['distro'] == distro
    if info.signature_kind:
        assert result['trust'] == {'keyring': run.keyring, 'fingerprints': run.fingerprints}
        if info.checksum_signature_url:
            assert result['signature']['fingerprint'] == run.fingerprints[0]
            assert result['signature']['url'] == run.server.rewrite(info.checksum_signature_url)
            assert result['signature']['kind'] == ('clearsigned' if distro in ('fedora', 'flatcar') else 'detached')
    else:
        assert result['signature'] == {'kind': 'none', 'url': None, 'fingerprint': None}
    with make_session().get(run.server.rewrite(result['image_source']), stream=True) as response:
        assert response.status_code == 200, result['image_source']
    return result


@pytest.mark.parametrize('source,release,distro', VENDORS, ids=['%s-%s' % v[:2] for v in VENDORS])
def test_every_vendor_layout(run, source, release, distro):
    result = check_vendor(run, source, release, distro)
    assert result['login_user'] in ('ubuntu', 'debian', 'rocky', 'almalinux', 'fedora', 'core', 'cirros')


@pytest.mark.parametrize('source,release,distro', AARCH64, ids=['%s-%s' % v[:2] for v in AARCH64])
def test_every_vendor_layout_aarch64(run, source, release, distro):
    result = check_vendor(run, source, release, distro, 'aarch64')
    x86_64 = run(source, release)[0]
    assert result['version'] == x86_64['version'] and result['checksum'] != x86_64['checksum']
    assert result['key'] == x86_64['key'] + '-aarch64'


def test_aarch64_missing_and_streams(run):
    """Fedora's current stream follows the aarch64 releases.json entries; a provider artifact built for
    x86_64 only (options.architectures, the Windows role data) is refused for aarch64 before any request."""
    params = {key: spec.get('default') for key, spec in DISCOVER_SPEC.items()}
    params.update(source='fedora', release='current', arch='aarch64', url_rewrites=run.rewrites, keyring=run.keyring,
                  trusted_fingerprints=run.fingerprints, cache_dir=run.cache)
    result, _unchanged, _requests = discover_from(params)
    assert (result['release'], result['key']) == ('44', 'fedora-44-aarch64')
    assert result['url'] == run.server.rewrite(run.mirror.release('fedora', '44', 'aarch64').image_url)
    options = dict(run.windows_options(), architectures=['x86_64'])
    assert run('checksum_file', '2022', options)[0]['key'] == 'windows-2022'
    run.server.reset_requests()
    with pytest.raises(DiscoveryError, match='builds it for x86_64 only .options.architectures., not for aarch64'):
        run('checksum_file', '2022', options, arch='aarch64')
    assert run.server.count() == 0


def test_windows_by_checksum_file_and_local_artifact(run):
    info = run.mirror.releases['windows', '2022']
    result, unchanged, requests = run('checksum_file', '2022', run.windows_options())
    assert_matches(dict(result, image_source=info.image_url), info, run.server)
    assert result['image_source'] == 'private' and result['login_user'] == 'Admin' and result['key'] == 'windows-2022'
    assert result['checksum_url'] == run.server.rewrite(info.checksum_url)
    assert not unchanged and requests == 1

    options = {'url': info.image_url, 'checksum': 'sha256:' + info.sha256, 'version': info.version, 'distro': 'windows'}
    run.server.reset_requests()
    result, unchanged, requests = run('local_artifact', '2022', options)
    assert_matches(dict(result, image_source=info.image_url), info, run.server)
    assert result['image_source'] == 'private' and requests == 0 and run.server.count() == 0

    by_path = dict(options, url=None, path=info.local_path)
    by_path.pop('url')
    result, _unchanged, requests = run('local_artifact', '2022', by_path)
    assert result['url'] == 'file://' + info.local_path and requests == 0
    assert result['checksum'] == 'sha256:' + info.sha256 and result['filename'] == info.file_name


def test_advance_noop_day_and_shared_index(own):
    run, server = own, own.server
    keys = VENDORS + [('checksum_file', '2022', 'windows')]

    def discover_all():
        found = {}
        for source, release, distro in keys:
            options = run.windows_options() if source == 'checksum_file' else None
            server.reset_requests()
            found[distro, release] = run(source, release, options) + (server.count(),)
        return found

    first = discover_all()
    run.mirror.advance(bump=('rocky', 'almalinux', 'flatcar'))
    changed = discover_all()
    for (distro, release), (result, unchanged, requests, served) in changed.items():
        info = run.mirror.releases[distro, release]
        assert_matches(dict(result, image_source=info.image_url) if distro == 'windows' else result, info, server)
        assert result['version'] != first[distro, release][0]['version']
        assert not unchanged and requests == served >= 1
    # A day without new builds: one conditional request per release, answered 304.
    quiet = discover_all()
    for key, (result, unchanged, requests, served) in quiet.items():
        assert unchanged and requests == served == 1, key
        assert result == changed[key][0]
    server.reset_requests()
    run('ubuntu', '24.04')
    assert [entry['status'] for entry in server.requests] == [304]
    # Only Fedora 44 moves: Fedora 43 reads the changed releases.json once and keeps its result.
    run.mirror.advance(only=[('fedora', '44')])
    server.reset_requests()
    result, unchanged, requests = run('fedora', '43')
    assert unchanged and requests == 1 and result == changed['fedora', '43'][0]
    result, unchanged, requests = run('fedora', '44')
    assert not unchanged and result['version'] == run.mirror.releases['fedora', '44'].version


def test_fedora_current_follows_the_vendor(own):
    """release: current is the newest Fedora release, found in releases.json by module code."""
    params = {key: spec.get('default') for key, spec in DISCOVER_SPEC.items()}
    params.update(source='fedora', release='current', url_rewrites=own.rewrites, keyring=own.keyring,
                  trusted_fingerprints=own.fingerprints, cache_dir=own.cache)
    result, _unchanged, requests = discover_from(params)
    assert (result['release'], result['key']) == ('44', 'fedora-44')
    assert requests == 3  # releases.json once (the release list and the release's index), CHECKSUM (+ its redirect)
    own.mirror.advance(new_releases=[('fedora', '45')])
    result, _unchanged, _requests = discover_from(params)
    assert (result['key'], result['version']) == ('fedora-45', own.mirror.releases['fedora', '45'].version)


def test_vendor_end_of_life_on_the_mirror(own):
    """Ubuntu keeps an end-of-life release in its streams (supported: false); Fedora drops it."""
    own.mirror.eol('ubuntu', '22.04').eol('fedora', '43')
    with pytest.raises(EndOfLife, match=r'ubuntu 22.04 has reached its end of life: Ubuntu marks it unsupported '
                                        r'\(supported: false, support_eol 2026-11-16\)') as caught:
        own('ubuntu', '22.04')
    assert caught.value.date == '2026-11-16'
    with pytest.raises(EndOfLife, match='Fedora 43 is no longer in .*, which lists 44'):
        own('fedora', '43')
    # The data's end_of_support stays a floor: a supported release past today's date is refused too.
    with pytest.raises(EndOfLife, match='end of support 2029-05-31'):
        own('ubuntu', '24.04', today='2029-06-01')


def test_checked_since_shares_one_check_per_run(own):
    """Clouds of one run check a release one after another: the first asks, the others reuse it."""
    run_started = time.time()
    own('debian', '12', checked_since=run_started)
    own.server.reset_requests()
    result, unchanged, requests = own('debian', '12', checked_since=run_started)
    assert unchanged and requests == 0 and own.server.count() == 0
    assert result['version'] == own.mirror.releases['debian', '12'].version
    own.mirror.advance(only=[('debian', '12')])
    next_run = time.time()
    result, unchanged, requests = own('debian', '12', checked_since=next_run)
    assert not unchanged and requests >= 1 and result['version'] == own.mirror.releases['debian', '12'].version


def test_check_mode_writes_no_state(run):
    run('debian', '12', check_mode=True)
    run('ubuntu', '24.04', check_mode=True)
    assert not os.path.exists(os.path.join(run.cache, 'state'))
    result, unchanged, requests = run('debian', '12', check_mode=True)
    assert not unchanged and requests == 2
    run('debian', '12')
    assert len(glob.glob(os.path.join(run.cache, 'state', 'debian-12-*.json'))) == 1
    # Check mode still reads what a real run remembered.
    assert run('debian', '12', check_mode=True)[1:] == (True, 1)


def test_changed_trust_settings_do_not_reuse_a_result(run):
    run('almalinux', '9')
    assert run('almalinux', '9')[1] is True
    other = os.path.join(run.cache, 'other.gpg')
    shutil.copyfile(run.keyring, other)
    result, unchanged, requests = run('almalinux', '9', keyring=other)
    assert not unchanged and requests == 2 and result['trust']['keyring'] == other


@pytest.mark.parametrize('distro,release,source,message', [
    ('ubuntu', '22.04', 'ubuntu', 'ubuntu 22.04 has reached its end of life: Ubuntu marks it unsupported'),
    ('debian', '11', 'debian', 'debian 11: .*404.*end of life'),
    ('rocky', '9', 'rocky', 'rocky 9: .*404.*end of life'),
    ('almalinux', '10', 'almalinux', 'almalinux 10: .*404.*end of life'),
    ('fedora', '43', 'fedora', 'Fedora 43 .* end of life'),
    ('fedora-coreos', 'stable', 'fedora_coreos', 'fedora_coreos stable: .*404.*end of life'),
])
def test_end_of_life(own, distro, release, source, message):
    own.mirror.eol(distro, release)
    with pytest.raises(DiscoveryError, match=message):
        own(source, release)


@pytest.mark.parametrize('source,release,distro', [
    ('ubuntu', '24.04', 'ubuntu'), ('almalinux', '9', 'almalinux'), ('fedora', '44', 'fedora'), ('flatcar', 'stable', 'flatcar')])
def test_signature_faults(own, source, release, distro):
    own.mirror.inject(distro, release, 'bad_signature', mode='untrusted')
    with pytest.raises(DiscoveryError, match=r'signing key is not in the keyring \(key [0-9A-F]+\) \[NO_PUBKEY\]'):
        own(source, release)
    # With the attacker's key in the keyring, the pins still refuse it.
    both = os.path.join(own.cache, 'both.gpg')
    os.makedirs(own.cache, exist_ok=True)
    with open(both, 'wb') as handle:
        for path in (own.mirror.keyring.trusted_keyring, own.mirror.keyring.untrusted_keyring):
            with open(path, 'rb') as key:
                handle.write(key.read())
    with pytest.raises(DiscoveryError, match='signed by %s, which is not in the trusted list' % own.mirror.keyring.untrusted_fingerprint):
        own(source, release, keyring=both)
    own.mirror.inject(distro, release, 'bad_signature', mode='tampered')
    with pytest.raises(DiscoveryError, match=r'BAD signature'):
        own(source, release)
    assert not os.path.exists(os.path.join(own.cache, 'state'))  # nothing remembered from a failed run


@pytest.mark.parametrize('source,release,distro', [('ubuntu', '24.04', 'ubuntu'), ('almalinux', '10', 'almalinux')])
def test_missing_signature(run, source, release, distro):
    signature = run.mirror.releases[distro, release].checksum_signature_url
    run.server.set_fault(run.server.rewrite(signature), 'not_found')
    with pytest.raises(DiscoveryError, match='signature .* is missing .*404.* refused'):
        run(source, release)


def test_fcos_trust_follows_the_build_major(run):
    keys = {'44': ['36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6'], '45': ['4F50A6114CD5C6976A7F1179655A4B02F577861E']}
    result, _unchanged, _requests = run('fedora_coreos', 'stable', trusted_fingerprints=None, keyring=run.keyring,
                                        signing_keys=keys)
    assert result['trust']['fingerprints'] == keys['44']  # the mirror's stream is at Fedora 44


@pytest.mark.parametrize('source,release,distro', [
    ('ubuntu', '24.04', 'ubuntu'), ('debian', '12', 'debian'), ('rocky', '10', 'rocky'), ('almalinux', '9', 'almalinux'),
    ('fedora', '44', 'fedora'), ('flatcar', 'stable', 'flatcar'), ('cirros', '0.6', 'cirros'),
    ('checksum_file', '2022', 'windows')])
def test_checksum_traversal_names_are_ignored_with_a_warning(own, source, release, distro):
    own.mirror.inject(distro, release, 'checksum_traversal')
    options = own.windows_options() if source == 'checksum_file' else None
    result, _unchanged, _requests = own(source, release, options)
    assert result['version'] == own.mirror.releases[distro, release].version
    ignored = r'file name contains "\.\.": \'\.\./\.\./.*the line is ignored'
    assert [w for w in result['warnings'] if re.search(ignored, w)]


@pytest.mark.parametrize('source,release', [('debian', '12'), ('rocky', '9'), ('cirros', '0.6'), ('checksum_file', '2022')])
def test_unsigned_needs_opt_in(run, source, release):
    options = run.windows_options() if source == 'checksum_file' else None
    with pytest.raises(DiscoveryError, match='publishes no signature.*allow_unsigned: true') as caught:
        run(source, release, options, allow_unsigned=False)
    assert caught.value.requests == 0 and run.server.count() == 0


def test_unsigned_metadata_needs_https(run):
    plain = {'https://': 'http://mirror.example.test:%d/' % run.server.port}
    with pytest.raises(DiscoveryError, match='must come over https'):
        run('debian', '12', rewrites=plain)
    assert run.server.count() == 0
    # Signed vendors do not care about the transport of their metadata.
    with pytest.raises(DiscoveryError, match='request failed'):
        run('ubuntu', '24.04', rewrites=plain)


def test_unknown_release_and_arch(run):
    with pytest.raises(DiscoveryError, match='unknown Debian release'):
        run('debian', '99')
    with pytest.raises(DiscoveryError, match='no pinned signing key for 2022; add its fingerprint to signing_keys'):
        run('checksum_file', '2022', dict(run.windows_options(), signature='detached'), trusted_fingerprints=None)
    with pytest.raises(DiscoveryError, match='ubuntu publishes no images for architecture s390x .it builds x86_64, '
                                             'aarch64.'):
        make_source('ubuntu', '24.04', 's390x')
    with pytest.raises(DiscoveryError, match=r'options\.pattern'):
        run('checksum_file', '1', {'url': 'https://example.test/'})


@pytest.mark.parametrize('process', ['worker', 'own'])
def test_playbook_runs_the_module(run, tmp_path, process):
    """The same playbook with the module in the task's worker process (the default on a local connection,
    plugin_utils/_in_process.py) and in a process of its own, as for any other Python: same results."""
    args = ['-vvv']
    if process == 'own':
        python = tmp_path / 'python'  # another path to the same Python
        python.write_text('#!/bin/sh\nexec %s "$@"\n' % sys.executable)
        python.chmod(0o755)
        args += ['-e', 'ansible_python_interpreter=%s' % python]
    info = run.mirror.releases['ubuntu', '24.04']
    extra = {'rewrites': run.rewrites, 'keyring': run.keyring, 'fingerprint': run.fingerprints[0],
             'cache': str(tmp_path / 'playbook-cache'), 'expected': {
                 'version': info.version, 'url': run.server.rewrite(info.image_url), 'image_source': info.image_url,
                 'checksum': 'sha256:' + info.sha256, 'debian': run.mirror.releases['debian', '12'].version}}
    checked = run_playbook('upstream_release.yml', extra_vars=extra, check=True, args=args)
    assert checked.rc == 0, checked.output
    # A module process of its own is run by a command, AnsiballZ's: none in the worker.
    assert ('AnsiballZ_upstream_release.py' in checked.output) == (process == 'own'), checked.output
    assert checked.changed() == 0
    assert not os.path.exists(os.path.join(extra['cache'], 'state'))
    result = run_playbook('upstream_release.yml', extra_vars=extra, args=args)
    assert result.rc == 0, result.output
    assert result.changed() == 0
    state = os.path.join(extra['cache'], 'state')
    assert len(glob.glob(os.path.join(state, '*.json'))) == 2  # per settings: validators and the result
    assert sorted(os.listdir(os.path.join(state, 'newest'))) == ['debian-12-x86_64.json', 'ubuntu-24.04-x86_64.json']


@pytest.fixture
def replay(own, tmp_path):
    """``own`` plus a snapshot of its mirror as it is now, to serve later as a replayed old upstream."""
    from upstream_mirror import MirrorServer  # pylint: disable=import-outside-toplevel
    frozen, servers = [], []

    def snapshot():
        frozen.append(own.mirror.copy(str(tmp_path / ('day%d' % len(frozen)))))
        return frozen[-1]

    def serve(mirror, cache=None):
        """A Runner on ``mirror`` (own server), with own's cache unless ``cache`` is given."""
        servers.append(MirrorServer(mirror))
        runner = Runner(mirror, servers[-1].__enter__(), tmp_path)
        runner.cache = cache or own.cache
        return runner

    own.snapshot, own.serve = snapshot, serve
    try:
        yield own
    finally:
        for server in servers:
            server.__exit__(None, None, None)
        for mirror in frozen:
            mirror.close()


@pytest.mark.parametrize('source,release,distro', [
    ('ubuntu', '24.04', 'ubuntu'), ('flatcar', 'stable', 'flatcar'), ('fedora', '44', 'fedora'),
    ('fedora_coreos', 'stable', 'fedora-coreos'), ('debian', '12', 'debian')])
def test_replayed_old_index_is_a_refused_rollback(replay, tmp_path, source, release, distro):
    """Day 2 verified, then the whole day-1 upstream served again: old, validly signed metadata."""
    day1 = replay.snapshot()
    old = replay(source, release)[0]
    replay.mirror.advance(only=[(distro, release)])
    new = replay(source, release)[0]
    assert new['version'] != old['version']
    attacker = replay.serve(day1)
    message = r'%s %s: upstream index went back from %s \(%s\) to %s \(%s\): refusing a rollback' % (
        source, release, re.escape(new['version']), new['build_date'], re.escape(old['version']), old['build_date'])
    with pytest.raises(DiscoveryError, match=message):
        attacker(source, release)
    # Other settings (another keyring file) do not reset the memory.
    other = os.path.join(str(tmp_path), 'other.gpg')
    shutil.copyfile(replay.keyring, other)
    with pytest.raises(DiscoveryError, match='refusing a rollback'):
        attacker(source, release, keyring=other)
    # The real upstream still gives day 2, from the state that was kept.
    assert replay(source, release)[0] == new
    # A fresh controller has no memory: only the Glance guard (image_rotate, release_status_info) is left.
    assert replay.serve(day1, cache=str(tmp_path / 'fresh'))(source, release)[0]['version'] == old['version']


def test_accepting_a_withdrawn_build_takes_the_operator_s_pinned_override(replay):
    """The vendor withdrew day 2 and serves day 1 again: refused, until the operator accepts
    exactly that step back (accept_withdrawal). The memory keeps day 2, so the override accepts
    no other step back, and nothing older than day 1."""
    day0 = replay.snapshot()
    replay.mirror.advance(only=[('ubuntu', '24.04')])
    day1 = replay.snapshot()
    older = replay.serve(day0)('ubuntu', '24.04')[0]['version']
    back_to = replay('ubuntu', '24.04')[0]['version']
    replay.mirror.advance(only=[('ubuntu', '24.04')])
    withdrawn = replay('ubuntu', '24.04')[0]['version']
    vendor = replay.serve(day1)
    with pytest.raises(DiscoveryError, match=r'upstream withdrew %s: only then accept it with accept_withdrawal '
                                             r'\{withdrawn: %s, back_to: %s\}' % (withdrawn, withdrawn, back_to)):
        vendor('ubuntu', '24.04')
    accept = check_withdrawal({'withdrawn': withdrawn, 'back_to': back_to})
    with pytest.raises(DiscoveryError, match='refusing a rollback'):  # pinned to the build it goes back to
        vendor('ubuntu', '24.04', withdrawal=check_withdrawal({'withdrawn': withdrawn, 'back_to': older}))
    assert vendor('ubuntu', '24.04', withdrawal=accept)[0]['version'] == back_to
    with pytest.raises(DiscoveryError, match='went back from %s' % withdrawn):  # the memory still holds day 2
        vendor('ubuntu', '24.04')
    with pytest.raises(DiscoveryError, match='refusing a rollback'):  # and day 0 stays a rollback
        replay.serve(day0)('ubuntu', '24.04', withdrawal=accept)


def test_the_daily_sync_remembers_only_published_builds(replay):
    """The vendor publishes day 2, which the sync refuses after verification (not published), then
    withdraws it: the day-1 build comes back and is no rollback. Once day 2 is published
    (remember_published, after promotion), going back is refused again."""
    day1 = replay.snapshot()
    first = replay('ubuntu', '24.04', remember=False)[0]
    remember_published(PARAMS | {'cache_dir': replay.cache}, first)  # day 1 promoted
    replay.mirror.advance(only=[('ubuntu', '24.04')])
    second = replay('ubuntu', '24.04', remember=False)[0]  # verified, then refused: not remembered
    withdrawn = replay.serve(day1)
    assert withdrawn('ubuntu', '24.04', remember=False)[0]['version'] == first['version']
    remember_published(PARAMS | {'cache_dir': replay.cache}, second)  # had day 2 been published
    with pytest.raises(DiscoveryError, match='refusing a rollback'):
        withdrawn('ubuntu', '24.04', remember=False)


PARAMS = {'source': 'ubuntu', 'release': '24.04', 'arch': 'x86_64', 'options': {}}


def rewrite_stream(mirror, change):
    path = os.path.join(mirror.www, 'builds.coreos.fedoraproject.org', 'streams', 'stable.json')
    with open(path, encoding='utf-8') as handle:
        stream = json.load(handle)
    change(stream['architectures']['x86_64']['artifacts']['openstack'])
    # A new file, as every write to a mirror: a copy's published files are hard links (Mirror.copy).
    with open(path + '.new', 'w', encoding='utf-8') as handle:
        json.dump(stream, handle)
    os.replace(path + '.new', path)


def fcos_disk(artifact):
    return artifact['formats']['qcow2.xz']['disk']


FCOS_FILE = 'fedora-coreos-{v}-openstack.x86_64.qcow2.xz'


@pytest.mark.parametrize('location', [
    'https://evil.example.test/prod/streams/stable/builds/{v}/x86_64/' + FCOS_FILE,
    'http://builds.coreos.fedoraproject.org/prod/streams/stable/builds/{v}/x86_64/' + FCOS_FILE,
])
def test_fcos_artifact_from_another_host_or_plain_http_is_refused(own, location):
    version = own.mirror.releases['fedora-coreos', 'stable'].version

    def change(artifact):
        fcos_disk(artifact)['location'] = location.format(v=version)
        fcos_disk(artifact)['signature'] = location.format(v=version) + '.sig'
    rewrite_stream(own.mirror, change)
    with pytest.raises(DiscoveryError, match='is not in https://builds.coreos.fedoraproject.org/prod/streams/stable/'
                       'builds/%s/x86_64/: Fedora CoreOS artifacts come only from that host over https'
                       % re.escape(version)):
        own('fedora_coreos', 'stable')


def test_fcos_artifact_rewritten_to_plain_http_off_loopback_is_refused(run):
    prod = 'https://builds.coreos.fedoraproject.org/prod/'
    rewrites = dict(run.rewrites, **{prod: 'http://mirror.example.test/prod/'})
    with pytest.raises(DiscoveryError, match='the artifact would come from http://mirror.example.test/prod/streams/'
                       'stable/.*only https, or plain http from a loopback mirror'):
        run('fedora_coreos', 'stable', rewrites=rewrites)
    # The same mirror on loopback (the tests' server) is fine: url_rewrites keep working.
    url = run('fedora_coreos', 'stable')[0]['url']
    assert url.startswith(run.server.url + '/builds.coreos.fedoraproject.org/prod/')


def test_fcos_forged_major_cannot_pick_another_key(own):
    """The major leads the version and picks the key: a forged one is refused, or cannot validate."""
    with open(os.path.join(ROLES, 'fedora_coreos', 'defaults', 'main.yml'), encoding='utf-8') as handle:
        keys = yaml.safe_load(handle)['fedora_coreos_signing_keys']  # the pins the role ships
    genuine = own('fedora_coreos', 'stable', trusted_fingerprints=None, signing_keys=keys)[0]
    assert genuine['trust']['fingerprints'] == ['36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6']  # Fedora 44
    tail = genuine['version'].split('.', 1)[1]

    def relabel(major, move=False):
        def change(artifact):
            artifact['release'] = '%s.%s' % (major, tail)
            disk = fcos_disk(artifact)
            # move: the artifact path follows the forged release; else it stays the genuine build's
            disk['location'] = genuine['image_source'].replace(
                genuine['version'], artifact['release'] if move else genuine['version'])
            disk['signature'] = disk['location'] + '.sig'
        return change

    # 45's key for the 44 build's artifact: its directory names another release.
    rewrite_stream(own.mirror, relabel(45))
    with pytest.raises(DiscoveryError, match='is not in .*/builds/45%s/x86_64/' % re.escape('.' + tail)):
        own('fedora_coreos', 'stable', trusted_fingerprints=None, signing_keys=keys)
    # An older major (43's key, for an old artifact signed with it): a rollback.
    rewrite_stream(own.mirror, relabel(43, move=True))
    with pytest.raises(DiscoveryError, match=r'went back from %s .* to 43\.%s .*refusing a rollback' % (
            re.escape(genuine['version']), re.escape(tail))):
        own('fedora_coreos', 'stable', trusted_fingerprints=None, signing_keys=keys)
    # A major with no pinned key picks none.
    rewrite_stream(own.mirror, relabel(99, move=True))
    with pytest.raises(DiscoveryError, match='no pinned signing key for 99'):
        own('fedora_coreos', 'stable', trusted_fingerprints=None, signing_keys=keys)


@pytest.mark.parametrize('fault, params', [('drop', {'after': 10, 'times': 1}), ('error', {'status': 502, 'times': 1})])
def test_a_dropped_or_failed_document_is_retried(own, fault, params):
    """One dropped transfer of a discovery document or signature no longer fails the release."""
    info = own.mirror.releases['ubuntu', '24.04']
    for url in (info.checksum_url, info.checksum_signature_url):
        own.server.set_fault(url, fault, **params)
    release, _unchanged, _count = own('ubuntu', '24.04')
    assert release['version'] == info.version
    for url in (info.checksum_url, info.checksum_signature_url):
        path = '/' + url.split('://', 1)[1]
        assert [entry['fault'] for entry in own.server.requests if entry['path'] == path] == [fault, None], url


def test_cut_headers_are_a_short_transfer(own):
    """Headers cut before Content-Length: retried, and never read as a complete empty document."""
    info = own.mirror.releases['ubuntu', '24.04']
    own.server.set_fault(info.checksum_url, 'cut_headers', times=1)
    release, _unchanged, _count = own('ubuntu', '24.04')
    path = '/' + info.checksum_url.split('://', 1)[1]
    assert release['version'] == info.version
    assert [entry['fault'] for entry in own.server.requests if entry['path'] == path] == ['cut_headers', None]
    own.server.set_fault(info.checksum_url, 'cut_headers')
    with pytest.raises(DiscoveryError, match=r'checksum file \S+/SHA256SUMS: request failed \(after 2 attempts\): '
                                             r'the connection ended inside the response headers'):
        own('ubuntu', '24.04', cache_dir=own.cache + '-2')


def test_requests_count_what_the_server_saw(own):
    """Retries inside the HTTP adapter and every redirect hop count, as the server's log does."""
    info = own.mirror.releases['ubuntu', '24.04']
    own.server.set_fault(info.checksum_url, 'error', status=503, times=1)  # the adapter retries it
    own.server.reset_requests()
    _release, _unchanged, count = own('ubuntu', '24.04')
    assert count == own.server.count() == 4  # the stream, a 503 and SHA256SUMS, its signature
    own.server.set_fault(info.checksum_url, 'redirect_loop')
    own.server.reset_requests()
    with pytest.raises(DiscoveryError, match='too many redirects') as caught:
        own('ubuntu', '24.04', cache_dir=own.cache + '-2')
    looped = own.server.count('/' + info.checksum_url.split('://', 1)[1])
    assert looped == 31 and caught.value.requests == own.server.count() == looped + 1


def test_flatcar_takes_the_format_flatcar_offers(own):
    """Flatcar documents the uncompressed .img and may drop the .bz2: discovery takes what is published."""
    info = own.mirror.releases['flatcar', 'stable']
    for path in glob.glob(info.local_path + '*'):  # the .bz2 and its DIGESTS, DIGESTS.asc, sig
        os.unlink(path)
    result, _unchanged, _count = own('flatcar', 'stable')
    assert (result['filename'], result['compression']) == ('flatcar_production_openstack_image.img', 'none')
    assert result['url'] == own.server.rewrite(info.extra['uncompressed_url'])
    assert result['checksum'].startswith('sha512:')
    for path in glob.glob(info.local_path[:-len('.bz2')] + '*'):
        os.unlink(path)
    with pytest.raises(DiscoveryError, match=r'Flatcar stable %s offers none of the image formats this collection '
                                             r'reads \(.*\.img\.bz2, .*\.img, .*\.img\.gz: ' % re.escape(info.version)):
        own('flatcar', 'stable', cache_dir=own.cache + '-2')


def test_a_rocky_checksum_rebuilt_after_it_was_signed_says_so(own):
    """Rocky 10 regenerates CHECKSUM and serves it with the older CHECKSUM.asc: a BAD signature, named as such."""
    from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._signatures import (  # pylint: disable=import-outside-toplevel
        signature_created)
    info = own.mirror.releases['rocky', '10']
    local = own.server.resolve(info.extra['dir_checksum_url'].split('://', 1)[1])
    with open(own.server.resolve(info.checksum_signature_url.split('://', 1)[1]), 'rb') as handle:
        signed = signature_created(handle.read())
    assert signed
    with open(local, 'a', encoding='utf-8') as handle:
        handle.write('# rebuilt\n')
    os.utime(local, (signed + 7200, signed + 7200))
    with pytest.raises(DiscoveryError, match=r'BAD signature .*\[BADSIG\]; the file was rebuilt after it was signed '
                                             r'\(signature made .*, file last modified .*\): the vendor changed it '
                                             r'without signing it again'):
        own('rocky', '10')
    os.utime(local, (signed - 7200, signed - 7200))  # older than its signature: altered, nothing more is known
    with pytest.raises(DiscoveryError, match=r'\[BADSIG\]$'):
        own('rocky', '10', cache_dir=own.cache + '-2')
