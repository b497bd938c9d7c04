"""The AWX execution environment, built and run the way AWX runs it.

examples/execution-environment.yml is built for real by ansible-builder with podman
(tools/execution_environment: the same definition on a base made here from Debian packages,
cached by a hash of its inputs). Jobs then run as AWX runs them: ``ansible-runner transmit`` of a
private data directory (the project with the documented one-line playbook and its inventory, the
OpenStack credential as AWX injects it: a clouds.yaml with cloud ``devstack`` named by
OS_CLIENT_CONFIG_FILE) into ``ansible-runner worker`` inside the EE, as an arbitrary uid with gid
0 (OpenShift) and with the download cache a group-writable volume (as Kubernetes mounts an
``fsGroup`` volume), then ``ansible-runner process`` writes the artifacts AWX reads. Host network
reaches the local cloud and mirror on 127.0.0.1.
"""

from __future__ import annotations

import collections
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

import execution_environment as ee
from sync_inventory import write_inventory
from sync_support import delete_managed, managed_images, served

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUILDER = str(BIN / 'ansible-builder')
PLAYBOOK = '- ansible.builtin.import_playbook: cloudimages.openstack.daily_sync\n'  # docs/operations.md, AWX step 4
UID, FS_GROUP = 12345, 4242  # OpenShift's arbitrary uid (gid 0); the volume's fsGroup
CACHE = '/runner/.cache/cloudimages'  # the EE's cache directory (image_sync_cache_dir's default there)
IMAGE_FILE = re.compile(r'\.(img|qcow2|raw|xz)$')
ANSI = re.compile(r'\x1b\[[0-9;]*m')  # the worker's output is coloured
RELEASES = {'region_one': ['cirros-0.6', 'debian-13'], 'region_two': ['cirros-0.6']}
PUBLISHED = {'region_one': ['CirrOS 0.6 - Latest', 'Debian 13 Trixie - Latest'], 'region_two': ['CirrOS 0.6 - Latest']}


def run(*args, cwd=None):
    proc = subprocess.run([BUILDER] + list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_builder_finds_the_collection_requirements(tmp_path):
    farm = tmp_path / 'collections'
    (farm / 'ansible_collections' / 'cloudimages').mkdir(parents=True)
    (farm / 'ansible_collections' / 'cloudimages' / 'openstack').symlink_to(ROOT)
    found = run('introspect', '--sanitize', str(farm))
    for requirement in ('openstacksdk>=4', 'requests>=', 'oslo.utils>=', 'qemu-img [platform:rpm]', 'gnupg2 [platform:rpm]',
                        'qemu-utils [platform:dpkg]', 'gpgv [platform:dpkg]'):
        assert requirement in found, found
    # The browser is for the report's test only (bindep profile "test"), not for the image.
    assert 'chromium [platform:dpkg test]' in found


def test_builder_accepts_the_example_definition(tmp_path):
    context = tmp_path / 'context'
    # ansible-builder names the file Containerfile where podman is installed, Dockerfile elsewhere.
    run('create', '-f', 'execution-environment.yml', '--context', str(context), '--output-filename', 'Containerfile',
        cwd=ROOT / 'examples')
    containerfile = (context / 'Containerfile').read_text()
    assert 'ansible-core>=2.19,<2.20' in containerfile
    assert 'ansible-galaxy collection install' in containerfile and 'requirements.yml' in containerfile
    assert 'mkdir -p /runner/.cache/cloudimages' in containerfile
    assert (context / '_build' / 'requirements.yml').read_text() == (ROOT / 'examples' / 'requirements.yml').read_text()


@pytest.fixture(scope='module')
def ee_image(tmp_path_factory):
    """The EE of this working tree, built for real (or found in podman's storage by its inputs' hash)."""
    log = tmp_path_factory.mktemp('ee') / 'build.log'
    try:
        tag, times = ee.build(log=print, build_log=log)
    except RuntimeError as exc:
        pytest.fail('%s\n%s' % (exc, log.read_text()[-6000:]))
    print('execution environment %s: %s' % (tag, ', '.join('%s %.0f s' % item for item in times.items())))
    return tag


class Jobs:
    """AWX jobs of one provider: a private data directory per job, run through the EE's own ansible-runner."""

    def __init__(self, cloud, mirror, server, tmp_path, image, provider):
        self.cloud, self.mirror, self.server, self.tmp, self.image = cloud, mirror, server, tmp_path, image
        self.provider = provider
        # A persistent volume as Kubernetes mounts one with fsGroup: the group owns it, setgid, g+rwx.
        self.volume = tmp_path / 'volume'
        self.volume.mkdir()
        os.chown(self.volume, 0, FS_GROUP)
        self.volume.chmod(0o2775)
        admin = yaml.safe_load(Path(cloud.clouds_yaml).read_text())['clouds']['admin']
        self.credential = yaml.safe_dump({'clouds': {'devstack': admin}})  # AWX's OpenStack credential

    def private_dir(self, name, hosts, today, provider=None):
        private = self.tmp / name
        project = private / 'project'
        (project / 'inventory').mkdir(parents=True)
        (project / 'daily_sync.yml').write_text('---\n' + PLAYBOOK)
        shutil.copyfile(self.mirror.keyring.trusted_keyring, project / 'upstream-keyring.gpg')
        # Two clouds: the local cloud's two Glance regions through the one credential (cloud devstack).
        # Both carry CirrOS (RegionTwo as raw: qemu-img); Debian's signed sums need gpgv.
        path = write_inventory(project / 'inventory' / 'hosts.json', self.mirror, self.server, provider or self.provider, CACHE,
                               today, boot_test=False, region_two={'cloudimages_distributions': ['cirros']},
                               region_one={'cloudimages_distributions': ['cirros', 'debian'], 'debian_enabled': ['13']})
        inventory = json.loads(path.read_text())
        common = inventory['clouds']['vars']
        del common['image_sync_cache_dir']  # the EE's own default, where the volume is mounted
        common.update(cloud='devstack', ansible_python_interpreter='{{ ansible_playbook_python }}',
                      image_sync_keyring='/runner/project/upstream-keyring.gpg')
        inventory['clouds']['hosts'] = {host: inventory['clouds']['hosts'][host] for host in hosts}
        path.write_text(json.dumps(inventory, indent=2))
        # AWX syncs the project's inventory source and hands the job its hosts in <private>/inventory.
        (private / 'inventory').mkdir()
        shutil.copyfile(path, private / 'inventory' / 'hosts.json')
        # The credential as AWX injects it: a file in the private data directory, its path in the env.
        (private / 'env').mkdir()
        (private / 'env' / 'openstack.yaml').write_text(self.credential)
        (private / 'env' / 'envvars').write_text(json.dumps({'OS_CLIENT_CONFIG_FILE': '/runner/env/openstack.yaml'}))
        return private

    def start(self, name, hosts, today, provider=None):
        """Start a job: transmit | podman run ... ansible-runner worker | process (receptor's work unit)."""
        private = self.private_dir(name, hosts, today, provider)
        runner = str(BIN / 'ansible-runner')
        worker = ['podman', 'run', '--rm', '-i', '--network', 'host', '--user', '%d:0' % UID, '--group-add', str(FS_GROUP),
                  '--volume', '%s:%s' % (self.volume, CACHE), self.image, 'ansible-runner', 'worker', '--private-data-dir', '/runner']
        command = '%s transmit %s -p daily_sync.yml | %s | %s process %s' % (
            runner, private, ' '.join(worker), runner, private)
        proc = subprocess.Popen(['bash', '-o', 'pipefail', '-c', command], env=ee.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        return private, proc

    def finish(self, job):
        private, proc = job
        output = proc.communicate(timeout=1200)[0]
        artifact = private / 'artifacts'  # where ansible-runner process puts what the worker streamed
        events = [json.loads(path.read_text()) for path in sorted((artifact / 'job_events').glob('*.json'))]
        stdout = (artifact / 'stdout').read_text() if (artifact / 'stdout').exists() else output
        assert proc.returncode == 0 and (artifact / 'rc').read_text() == '0', output[-4000:] + stdout[-8000:]
        (stats,) = [event['event_data'] for event in events if event['event'] == 'playbook_on_stats']
        return stdout, stats

    def job(self, name, hosts, today, provider=None):
        return self.finish(self.start(name, hosts, today, provider))

    def latest(self, region, provider=None):
        images = managed_images(self.cloud.connect('admin', region), provider or self.provider)
        return {image.name: image for image in images}

    def image_gets(self):
        """{path: GETs} of image files on the mirror since the last reset."""
        gets = collections.Counter(entry['path'] for entry in self.server.requests
                                   if entry['method'] == 'GET' and IMAGE_FILE.search(entry['path']))
        self.server.reset_requests()
        return gets


def outcome(stats, host):
    """The status JSON of ``host`` as AWX keeps it (set_stats -> the job's artifacts)."""
    return {release['key']: release for release in stats['artifact_data']['cloudimages_sync'][host]['releases']}


def test_daily_sync_in_the_execution_environment(cloud, upstream, ee_image, tmp_path):
    mirror = upstream.mirror.copy(tmp_path / 'mirror')  # advanced on day 3
    provider, other = 'awx' + uuid.uuid4().hex[:8], 'awx2' + uuid.uuid4().hex[:8]
    hosts = ['region_one', 'region_two']
    try:
        with served(cloud, mirror, provider) as server:
            jobs = Jobs(cloud, mirror, server, tmp_path, ee_image, provider)
            day1 = mirror.today

            # Day 1 publishes: each file downloaded once for both clouds.
            _stdout, stats = jobs.job('day1', hosts, day1)
            gets = jobs.image_gets()
            assert len(gets) == 2 and set(gets.values()) == {1}, gets
            for region, host in (('RegionOne', 'region_one'), ('RegionTwo', 'region_two')):
                images = jobs.latest(region)
                assert sorted(images) == sorted(PUBLISHED[host]), (region, images)
                assert all(image.visibility == 'public' for image in images.values())
                assert {key: record['outcome'] for key, record in outcome(stats, host).items()} == dict.fromkeys(RELEASES[host], 'updated')
            assert jobs.latest('RegionTwo')['CirrOS 0.6 - Latest'].disk_format == 'raw'  # qemu-img from bindep
            # Files the uid of the EE wrote into the volume, readable by the group.
            assert any(path.stat().st_uid == UID for path in (jobs.volume / 'files').iterdir())

            # A second job (another provider's catalog) on the same volume reuses the downloads.
            _stdout, stats = jobs.job('second-job', ['region_one'], day1, provider=other)
            assert jobs.image_gets() == {}
            assert sorted(jobs.latest('RegionOne', other)) == ['CirrOS 0.6 - Latest', 'Debian 13 Trixie - Latest']

            # Day 2: nothing new upstream, nothing to do.
            stdout, stats = jobs.job('day2', hosts, day1 + datetime.timedelta(days=1))
            assert jobs.image_gets() == {}
            assert stdout.count('"synced": []') == 2, stdout[-6000:]
            assert stats['changed'] == {} or not any(stats['changed'].values()), stats['changed']
            assert outcome(stats, 'region_one')['cirros-0.6']['outcome'] == 'up to date'

            # Day 3: new builds, and the job template is sliced: two slices at once on the same volume.
            mirror.advance()
            day3 = day1 + datetime.timedelta(days=2)
            slices = [jobs.start('day3-slice%d' % number, [host], day3) for number, host in enumerate(hosts, 1)]
            results = [jobs.finish(job) for job in slices]
            gets = jobs.image_gets()
            assert len(gets) == 2 and set(gets.values()) == {1}, gets  # one download per file for both slices
            for (stdout, stats), host, region in zip(results, hosts, ('RegionOne', 'RegionTwo')):
                lines = ANSI.sub('', stdout).splitlines()
                complaints = [line for line in lines if line.startswith(('fatal:', 'failed:', '[WARNING]', '[ERROR]'))]
                assert not [line for line in complaints if 'lock' in line.lower()], complaints
                status = outcome(stats, host)
                assert {key: record['outcome'] for key, record in status.items()} == dict.fromkeys(RELEASES[host], 'updated')
                images = jobs.latest(region)
                latest = {name: image for name, image in images.items() if image.visibility == 'public'}
                assert sorted(latest) == sorted(PUBLISHED[host]), images
                assert latest['CirrOS 0.6 - Latest'].properties['cloudimages_build'] == status['cirros-0.6']['build']
                assert sum(image.visibility == 'community' for image in images.values()) == len(PUBLISHED[host]), images
    finally:
        delete_managed(cloud, other)
