"""One cloud of 1, 5, 10 and 20 regions: what each more region costs the daily sync.

The local cloud runs one light Glance per region (tools/localcloud/regions.py: its own database and
stores; Keystone is one). For each region count the daily sync runs over every region (one
inventory host per region, one ansible-playbook, forks = regions): day 1 publishes (not
measured), then

- a no-op day (same day again: nothing new upstream);
- a new-build day, every region getting the file from the controller (method direct);
- a new-build day with web-download staging: the controller puts the verified file once into a
  directory a web server on 127.0.0.1 serves, every region's Glance imports it from there.

Figures: wall time, CPU time of ansible-playbook and its modules, bytes the controller sends to
the Glance APIs (a counting relay on 127.0.0.1 in front of each region's Glance, in the catalog
for the run) plus the bytes it writes into the staging directory, and Keystone and Glance
requests per region (the APIs' request logs; the services' token validations apart).

Goals (issue 23): a no-op day of 20 regions ≤ 2× one region; with staging, controller egress per
new build ≈ 1× the image, whatever the number of regions.

    PYTHONPATH=tools .venv/bin/python benchmarks/regions.py [--regions 1,5,10,20] [--stack DIR] [--no-op-only]
        [--smoke]

--stack DIR adds the regions to a light or full local cloud already running there (left running,
with its extra regions; the catalog is restored, this run's images removed).
--smoke (CI): one region, CirrOS only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
sys.path.insert(0, str(ROOT / 'tests' / 'integration'))

from demo import collections_path  # noqa: E402  pylint: disable=wrong-import-position
from localcloud import LocalCloud  # noqa: E402  pylint: disable=wrong-import-position
from localcloud.regions import names as region_names  # noqa: E402  pylint: disable=wrong-import-position
from sync_inventory import write_inventory  # noqa: E402  pylint: disable=wrong-import-position
from upload_support import StagingServer  # noqa: E402  pylint: disable=wrong-import-position
from upstream_mirror import Mirror, MirrorServer  # noqa: E402  pylint: disable=wrong-import-position

CATALOG = {'cloudimages_distributions': ['cirros', 'debian'], 'debian_enabled': ['13']}
SMOKE_CATALOG = {'cloudimages_distributions': ['cirros']}


class Relay:
    """A TCP relay on 127.0.0.1 that counts the bytes its clients send (the controller's egress)."""

    def __init__(self, port):
        self.port, self.sent = port, 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.url = 'http://127.0.0.1:%d' % self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(('127.0.0.1', self.port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source, target, count):
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                if count:
                    with self._lock:
                        self.sent += len(data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)

    def close(self):
        self._listener.close()


@contextlib.contextmanager
def relayed(cloud, regions):
    """{region: Relay}, each region's image endpoints in Keystone's catalog pointing at its relay meanwhile."""
    from openstack import config as occ, connection  # pylint: disable=import-outside-toplevel
    config = occ.OpenStackConfig(config_files=[cloud.clouds_yaml], load_envvars=False)
    ident = connection.Connection(config=config.get_one(cloud='admin', region_name='RegionOne')).identity
    glance = ident.find_service('glance')
    relays = {region: Relay(cloud.ports[name]) for region, name in regions.items()}
    endpoints = [ep for ep in ident.endpoints(service_id=glance.id) if ep.region_id in relays]
    try:
        for ep in endpoints:
            ident.update_endpoint(ep, url=relays[ep.region_id].url)
        yield relays
    finally:
        for ep in endpoints:
            ident.update_endpoint(ep, url='http://127.0.0.1:%d' % cloud.ports[regions[ep.region_id]])
        for relay in relays.values():
            relay.close()


def playbook(env, inventory, forks):
    """One daily sync: (seconds, CPU seconds of ansible-playbook and its children)."""
    cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(inventory), '--forks', str(forks),
           'cloudimages.openstack.daily_sync']
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        sys.exit('daily_sync failed (rc %d):\n%s%s' % (proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def requests(cloud, regions):
    """Request counts so far: keystone (without the services' token validations), validations, glance."""
    keystone = cloud.api_requests('keystone')
    validations = sum(1 for method, path, _status in keystone if method == 'GET' and path.startswith('/v3/auth/tokens'))
    return {'keystone': len(keystone) - validations, 'validations': validations,
            'glance': sum(len(cloud.api_requests(name)) for name in regions.values())}


def staged_bytes(directory):
    return sum(path.stat().st_size for path in Path(directory).iterdir() if not path.name.startswith('.'))


def day(label, cloud, regions, relays, run, staging=None):
    before, sent = requests(cloud, regions), sum(relay.sent for relay in relays.values())
    staged = staged_bytes(staging) if staging else 0
    seconds, cpu = run()
    after = requests(cloud, regions)
    count = len(regions)
    return {'label': label, 'regions': count, 'seconds': seconds, 'cpu': cpu,
            'sent': sum(relay.sent for relay in relays.values()) - sent,
            'staged': (staged_bytes(staging) - staged) if staging else 0,
            'keystone': (after['keystone'] - before['keystone']) / count,
            'glance': (after['glance'] - before['glance']) / count,
            'validations': after['validations'] - before['validations']}


def uploaded_bytes(cloud, region, provider, builds):
    """The size of one region's images of ``builds`` (what one region received of a new-build day)."""
    from openstack import config as occ, connection  # pylint: disable=import-outside-toplevel
    config = occ.OpenStackConfig(config_files=[cloud.clouds_yaml], load_envvars=False)
    conn = connection.Connection(config=config.get_one(cloud='admin', region_name=region))
    images = conn.image.images(tag=['managed_by_' + provider], visibility='all')
    return sum(image.size or 0 for image in images if image.properties.get('cloudimages_build') in builds)


def remove_images(cloud, regions, provider):
    from openstack import config as occ, connection  # pylint: disable=import-outside-toplevel
    config = occ.OpenStackConfig(config_files=[cloud.clouds_yaml], load_envvars=False)
    for region in regions:
        conn = connection.Connection(config=config.get_one(cloud='admin', region_name=region))
        for image in list(conn.image.images(tag=['managed_by_' + provider], visibility='all')):
            conn.image.delete_image(image, ignore_missing=True)


def measure(cloud, mirror, server, workdir, count, catalog, new_builds=True):
    """The three measured days for ``count`` regions (the no-op day alone without ``new_builds``)."""
    regions = dict(list(region_names(count + 2).items())[:count])   # Region3 ...: same Glance config each
    provider = 'regions%d%s' % (count, uuid.uuid4().hex[:6])
    staging = workdir / ('staging-%d' % count)
    staging.mkdir()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), **cloud.env())

    def inventory(stage=False):
        path = write_inventory(workdir / ('inventory-%d.json' % count), mirror, server, provider,
                               workdir / ('cache-%d' % count), mirror.today, boot_test=False,
                               region_one=dict(catalog, image_sync_min_age_days=0))
        content = json.loads(path.read_text(encoding='utf-8'))
        one = content['clouds']['hosts']['region_one']
        if stage:
            one.update(image_sync_staging_dir=str(staging), image_sync_staging_url=web.url)
        content['clouds']['hosts'] = {'region%d' % index: dict(one, region_name=region)
                                      for index, region in enumerate(regions, 1)}
        path.write_text(json.dumps(content), encoding='utf-8')
        return path

    rows = []
    with StagingServer(staging) as web, relayed(cloud, regions) as relays:
        try:
            playbook(env, inventory(), count)  # day 1: publish
            rows.append(day('no-op', cloud, regions, relays, lambda: playbook(env, inventory(), count)))
            for stage in (False, True) if new_builds else ():
                mirror.advance()
                builds = {info.version for info in mirror.releases.values()}
                row = day('new builds, ' + ('staging' if stage else 'direct'), cloud, regions, relays,
                          lambda: playbook(env, inventory(stage), count), staging if stage else None)  # noqa: B023
                row['image'] = uploaded_bytes(cloud, next(iter(regions)), provider, builds)
                rows.append(row)
        finally:
            remove_images(cloud, regions, provider)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--regions', default='1,5,10,20', help='region counts, comma-separated')
    parser.add_argument('--distributions', default='cirros,debian', help='the catalog (Debian: 13 only)')
    parser.add_argument('--workdir', help='keep everything here (default: a temp dir, removed)')
    parser.add_argument('--stack', help='a local cloud already running in this directory (default: a light one started here)')
    parser.add_argument('--no-op-only', action='store_true', help='measure the no-op day only')
    parser.add_argument('--smoke', action='store_true', help='one region, CirrOS only: proves the benchmark runs (CI)')
    args = parser.parse_args()
    counts = [1] if args.smoke else [int(n) for n in args.regions.split(',')]
    catalog = SMOKE_CATALOG if args.smoke else dict(CATALOG, cloudimages_distributions=args.distributions.split(','))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix='cloudimages-regions-'))
    mirror = Mirror(workdir / 'mirror', bootable=not args.smoke).build()  # smoke boots nothing: stand-ins
    stack = LocalCloud(args.stack or workdir / 'cloud', services='light')
    if args.stack:
        stack = LocalCloud(args.stack, services='full' if stack.layout.load_json(stack.layout.state_file, {})
                           .get('services') == 'full' else 'light')
    rows = []
    try:
        with MirrorServer(mirror) as server, (contextlib.nullcontext(stack.start()) if args.stack else stack) as cloud:
            started = time.monotonic()
            cloud.add_regions(max(counts) + 2)
            print('regions 3..%d started in %.0f s' % (max(counts) + 2, time.monotonic() - started), flush=True)
            for count in counts:
                rows += measure(cloud, mirror, server, workdir, count, catalog, not args.no_op_only)
                print('%d region(s) measured; load average %s' % (count, ' '.join('%.2f' % v for v in os.getloadavg())),
                      flush=True)
                report(rows)
    finally:
        mirror.close()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    report(rows)


def report(rows):
    print('%-22s %7s %8s %8s %12s %10s %9s %9s %s' % ('day', 'regions', 'wall s', 'CPU s', 'sent bytes', 'staged',
                                                      'keystone', 'glance', 'per region: requests; egress / image'))
    for row in rows:
        egress = row['sent'] + row['staged']
        ratio = ' %.2fx image' % (egress / row['image']) if row.get('image') else ''
        print('%-22s %7d %8.1f %8.1f %12d %10d %9.1f %9.1f%s' % (row['label'], row['regions'], row['seconds'], row['cpu'],
                                                                 row['sent'], row['staged'], row['keystone'],
                                                                 row['glance'], ratio))
    noop = {row['regions']: row for row in rows if row['label'] == 'no-op'}
    one, most = noop[min(noop)], noop[max(noop)]
    print('no-op, %d regions / %d: %.2fx wall time, %.2fx CPU (goal for 20 / 1: <= 2x wall time)'
          % (most['regions'], one['regions'], most['seconds'] / one['seconds'], most['cpu'] / one['cpu']))
    for count in sorted(noop):
        new_days = [row for row in rows if row['regions'] == count and row['label'].startswith('new')]
        if len(new_days) < 2:
            continue
        direct, staged = new_days
        if direct.get('image') and staged.get('image'):
            print('new builds, %d region(s): controller egress %.2fx the image direct, %.2fx with staging (goal ~1x)'
                  % (count, (direct['sent'] + direct['staged']) / direct['image'],
                     (staged['sent'] + staged['staged']) / staged['image']))


if __name__ == '__main__':
    main()
