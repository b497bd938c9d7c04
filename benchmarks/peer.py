"""The daily sync against openstack-image-manager (OIM) 0.20261007.0: same local cloud, same mirror, alternating.

Both publish the same five releases (Ubuntu 22.04 and 24.04, Debian 12 and 13, CirrOS 0.6) into
RegionOne of the light local cloud from the local upstream mirror. OIM runs from its own cached
venv (tests/integration/oim_support.py: Python >= 3.12, its shipped definition files pointed at
the mirror), as admin, each contender under a tag of its own. Days, each contender in turn, the
order swapped from one pair to the next:

- day 1: empty to five releases (a fresh tag, and a fresh download cache for the collection, each pair);
- a no-op day: nothing new upstream;
- a new-build day: the mirror publishes one more build of every release (OIM's definitions get it).

OIM's default verifies nothing it imports (Glance web-downloads the URL); with --verify-checksum
it downloads each new image with aria2c and imports it by glance-direct once its checksum matches,
which is closer to what the collection does (signature, checksum and format checks before upload,
Glance's stored hash after). That contender runs when aria2c is installed (Debian: aria2).
Printed: wall and CPU time (the process and its children) per run, the ratio collection / OIM per
pair and its median, and the load average at each run.

    PYTHONPATH=tools .venv/bin/python benchmarks/peer.py [--pairs N] [--stack DIR] [--smoke]

--stack DIR uses a local cloud already running there (left running; this run's images removed).
--smoke (CI): CirrOS only, one pair per day.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
sys.path.insert(0, str(ROOT / 'tests' / 'integration'))

from demo import collections_path  # noqa: E402  pylint: disable=wrong-import-position
from localcloud import LocalCloud  # noqa: E402  pylint: disable=wrong-import-position
from oim_support import OIM_VERSION, ensure_venv, pick, pointed_at, shipped_definitions, write  # noqa: E402  pylint: disable=wrong-import-position
from sync_inventory import write_inventory  # noqa: E402  pylint: disable=wrong-import-position
from upstream_mirror import Mirror, MirrorServer  # noqa: E402  pylint: disable=wrong-import-position

# (OIM file, OIM name, mirror distro, release, digest OIM's definition names)
RELEASES = [('ubuntu.yml', 'Ubuntu 22.04', 'ubuntu', '22.04', 'sha256'),
            ('ubuntu.yml', 'Ubuntu 24.04', 'ubuntu', '24.04', 'sha256'),
            ('debian.yml', 'Debian 12', 'debian', '12', 'sha512'),
            ('debian.yml', 'Debian 13', 'debian', '13', 'sha512'),
            ('cirros.yml', 'Cirros', 'cirros', '0.6', 'sha256')]
CATALOG = {'cloudimages_distributions': ['ubuntu', 'debian', 'cirros'], 'ubuntu_enabled': ['22.04', '24.04'],
           'debian_enabled': ['12', '13'], 'cirros_enabled': ['0.6']}
SMOKE_CATALOG = {'cloudimages_distributions': ['cirros'], 'cirros_enabled': ['0.6']}


def timed(argv, env):
    """(wall seconds, CPU seconds of the process and its children); exits on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=3600)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        errors = [line for line in (proc.stdout + proc.stderr).splitlines() if 'ERROR' in line or 'rror:' in line]
        sys.exit('%s failed (rc %d):\n%s\n...\n%s' % (argv[0], proc.returncode, '\n'.join(errors[:20]),
                                                      proc.stderr[-3000:] + proc.stdout[-3000:]))
    return seconds, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


class Contenders:
    """The collection and OIM (default, and --verify-checksum when aria2c is there) on one cloud and mirror."""

    def __init__(self, cloud, mirror, server, workdir, smoke):
        self.cloud, self.mirror, self.server, self.workdir = cloud, mirror, server, workdir
        self.releases = [entry for entry in RELEASES if entry[2] == 'cirros'] if smoke else RELEASES
        self.catalog = SMOKE_CATALOG if smoke else CATALOG
        self.venv = ensure_venv()
        self.shipped = shipped_definitions(self.venv)
        self.env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), **cloud.env())
        self.names = ['collection', 'OIM'] + (['OIM --verify-checksum'] if shutil.which('aria2c') else [])
        self.tags = []      # every tag used, for the clean-up
        self.fresh()

    def fresh(self):
        """New tags (and a new download cache): the next runs start from an empty cloud."""
        self.remove_images()  # OIM finds its images by name too: the previous pair's are in the way
        suffix = uuid.uuid4().hex[:8]
        self.provider, self.cache = 'peer' + suffix, self.workdir / ('cache-' + suffix)
        self.oim_tags = {name: 'managed_by_peer%s_%d' % (suffix, index) for index, name in enumerate(self.names[1:])}
        self.tags += ['managed_by_' + self.provider] + list(self.oim_tags.values())

    def run(self, name):
        if name == 'collection':
            inventory = write_inventory(self.workdir / 'inventory.json', self.mirror, self.server, self.provider,
                                        self.cache, self.mirror.today, boot_test=False,
                                        region_one=dict(self.catalog, image_sync_min_age_days=0))
            content = json.loads(inventory.read_text(encoding='utf-8'))
            del content['clouds']['hosts']['region_two']
            inventory.write_text(json.dumps(content), encoding='utf-8')
            argv = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(inventory),
                    'cloudimages.openstack.daily_sync']
            return timed(argv, self.env)
        definitions = [pointed_at(pick(self.shipped, oim_file, oim_name), self.mirror.history(distro, release)[-1:],
                                  self.server, algorithm)
                       for oim_file, oim_name, distro, release, algorithm in self.releases]
        images = write(self.workdir / ('oim-%s' % uuid.uuid4().hex[:8]), definitions)
        argv = [str(self.venv / 'bin' / 'openstack-image-manager'), '--cloud', 'admin', '--images', str(images),
                '--tag', self.oim_tags[name]] + (['--verify-checksum'] if 'verify' in name else [])
        return timed(argv, dict(self.env, PYTHONPATH=''))

    def remove_images(self):
        from openstack import config as occ, connection  # pylint: disable=import-outside-toplevel
        config = occ.OpenStackConfig(config_files=[self.cloud.clouds_yaml], load_envvars=False)
        conn = connection.Connection(config=config.get_one(cloud='admin', region_name='RegionOne'))
        for tag in self.tags:
            for image in list(conn.image.images(tag=[tag], visibility='all')):
                conn.image.delete_image(image, ignore_missing=True)


def pair(contenders, day, index, rows):
    """Every contender once, in an order that rotates with ``index``."""
    names = contenders.names[index % len(contenders.names):] + contenders.names[:index % len(contenders.names)]
    for name in names:
        seconds, cpu = contenders.run(name)
        rows.append({'day': day, 'pair': index, 'who': name, 'seconds': seconds, 'cpu': cpu,
                     'load': os.getloadavg()[0]})
        print('%-9s pair %d %-22s %6.1f s wall %6.1f s CPU  load %.2f' % (day, index, name, seconds, cpu,
                                                                          rows[-1]['load']), flush=True)


def report(rows, names):
    print('\n%-9s %-22s %9s %9s %s' % ('day', 'contender', 'wall s', 'CPU s', 'collection / contender, median of pairs (wall; CPU)'))
    for day in ('day 1', 'no-op', 'new build'):
        mine = {row['pair']: row for row in rows if row['day'] == day and row['who'] == 'collection'}
        for name in names:
            theirs = [row for row in rows if row['day'] == day and row['who'] == name]
            if not theirs:
                continue
            wall = statistics.median(row['seconds'] for row in theirs)
            cpu = statistics.median(row['cpu'] for row in theirs)
            ratio = ''
            if name != 'collection':
                ratio = '%.2fx; %.2fx' % (statistics.median(mine[row['pair']]['seconds'] / row['seconds'] for row in theirs),
                                          statistics.median(mine[row['pair']]['cpu'] / max(row['cpu'], 0.01) for row in theirs))
            print('%-9s %-22s %9.1f %9.1f %s' % (day, name, wall, cpu, ratio))
    loads = [row['load'] for row in rows]
    print('load average (1 min) during the runs: %.2f to %.2f, median %.2f (%d cores)'
          % (min(loads), max(loads), statistics.median(loads), os.cpu_count()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--pairs', type=int, default=2, help='pairs per day (default 2)')
    parser.add_argument('--workdir', help='keep everything here (default: a temp dir, removed)')
    parser.add_argument('--stack', help='a local cloud already running in this directory (default: a light one started here)')
    parser.add_argument('--smoke', action='store_true', help='CirrOS only, one pair per day: proves the benchmark runs (CI)')
    args = parser.parse_args()
    pairs = 1 if args.smoke else args.pairs
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix='cloudimages-peer-'))
    mirror = Mirror(workdir / 'mirror', bootable=not args.smoke).build()  # smoke boots nothing: stand-ins
    stack = LocalCloud(args.stack or workdir / 'cloud', services='light')
    if args.stack:
        state = stack.layout.load_json(stack.layout.state_file, {})
        stack = LocalCloud(args.stack, services=state.get('services', 'light'))
    rows = []
    print('openstack-image-manager %s against the collection, %s' % (OIM_VERSION, datetime.date.today()), flush=True)
    try:
        with MirrorServer(mirror) as server, (contextlib.nullcontext(stack.start()) if args.stack else stack) as cloud:
            contenders = Contenders(cloud, mirror, server, workdir, args.smoke)
            try:
                for index in range(pairs):
                    if index:
                        contenders.fresh()
                    pair(contenders, 'day 1', index, rows)
                for index in range(pairs):
                    pair(contenders, 'no-op', index, rows)
                for index in range(pairs):
                    mirror.advance()
                    pair(contenders, 'new build', index, rows)
            finally:
                contenders.remove_images()
            report(rows, contenders.names)
            if 'OIM --verify-checksum' not in contenders.names:
                print('OIM --verify-checksum not measured: it needs aria2c (Debian package aria2)')
    finally:
        mirror.close()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
