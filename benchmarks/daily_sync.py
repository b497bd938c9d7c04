"""A no-op daily sync: wall time and upstream / Glance / Keystone request counts, parallel vs one at a time.

Starts the light local cloud (Keystone + two Glance regions) and the upstream mirror, runs the
daily sync over three clouds once to publish everything, then measures a second run on the same
day, when nothing changed upstream. The third cloud is RegionOne again under another provider
tag: an independent set of managed images, as the light cloud has two Glance regions.

- all clouds at once (one ansible-playbook, forks = number of clouds): the way to run it;
- one cloud at a time (one ansible-playbook per cloud, --limit): the baseline.

Targets (issues 6, 12): no-op ≤ 15 s, ≤ 1 upstream request per release, ≤ 2 Keystone requests
per cloud (the services' token validations are counted apart). Boot tests are off (no Nova in the
light cloud; a no-op run boots nothing anyway).

    PYTHONPATH=tools .venv/bin/python benchmarks/daily_sync.py [--workdir DIR] [--stack DIR] [--smoke]

--stack DIR uses a local cloud already running there (left running; its images of this run removed).
--smoke (CI): two distributions, so CI proves in about a minute that the benchmark still runs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))

from demo import collections_path  # noqa: E402  pylint: disable=wrong-import-position
from localcloud import LocalCloud  # noqa: E402  pylint: disable=wrong-import-position
from sync_inventory import write_inventory  # noqa: E402  pylint: disable=wrong-import-position
from upstream_mirror import Mirror, MirrorServer  # noqa: E402  pylint: disable=wrong-import-position

GLANCES = ('glance', 'glance2')
# The no-op figure before one login per cloud (issue 12): 6.7 s all clouds at once, measured
# 2026-11-23 on this kind of machine. Another run, another load: the ratio is indicative only.
PREVIOUS_NOOP_SECONDS = 6.7
SUMMARY = re.compile(r'"unchanged": \[(?P<names>[^\]]*)\]')
# --smoke: a catalog small enough for CI, still two clouds plus RegionOne under another tag.
SMOKE = {'region_one': {'cloudimages_distributions': ['cirros', 'debian'], 'debian_enabled': ['13']},
         'region_two': {'cloudimages_distributions': ['cirros']}}


def run(env, inventory, *args):
    """One ansible-playbook run: (seconds, release syncs its summaries list as up to date)."""
    cmd = [str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(inventory), 'cloudimages.openstack.daily_sync'] + list(args)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit('daily_sync failed (rc %d):\n%s%s' % (proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
    return time.monotonic() - started, sum(match['names'].count('"') // 2 for match in SUMMARY.finditer(proc.stdout))


def measure(label, cloud, server, action):
    """``action`` makes one or more runs and returns their results."""
    server.reset_requests()
    glance_before = {name: len(cloud.api_requests(name)) for name in GLANCES}
    keystone_before = len(cloud.api_requests('keystone'))
    runs = action()
    log = server.requests
    upstream = len(log)
    asked = {}
    for entry in log:
        asked[entry['path']] = asked.get(entry['path'], 0) + 1
    glance = sum(len(cloud.api_requests(name)) - glance_before[name] for name in GLANCES)
    keystone = cloud.api_requests('keystone')[keystone_before:]
    validations = sum(1 for method, path, _status in keystone if method == 'GET' and path.startswith('/v3/auth/tokens'))
    logins = sum(1 for method, path, _status in keystone if method == 'POST' and path.startswith('/v3/auth/tokens'))
    return {'label': label, 'seconds': round(sum(seconds for seconds, _up_to_date in runs), 1), 'upstream_requests': upstream,
            'glance_requests': glance, 'keystone_requests': len(keystone) - validations, 'logins': logins,
            'validations': validations, 'up_to_date': sum(up_to_date for _seconds, up_to_date in runs),
            'repeated': sorted(path for path, count in asked.items() if count > 1),
            'full': sorted({entry['path'] for entry in log if entry['status'] == 200})}


def remove_images(cloud, providers):
    """Remove the images this run published in a stack it did not start (--stack)."""
    from openstack import config as occ, connection  # pylint: disable=import-outside-toplevel
    config = occ.OpenStackConfig(config_files=[cloud.clouds_yaml], load_envvars=False)
    for region in ('RegionOne', 'RegionTwo'):
        conn = connection.Connection(config=config.get_one(cloud='admin', region_name=region))
        for provider in providers:
            for visibility in ('public', 'community', 'private', 'shared'):
                for image in conn.image.images(tag=['managed_by_' + provider], visibility=visibility):
                    conn.image.delete_image(image, ignore_missing=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--workdir', help='keep everything here (default: a temp dir, removed)')
    parser.add_argument('--stack', help='a local cloud already running in this directory (default: a light one started here)')
    parser.add_argument('--services', choices=('full', 'light'), default='light', help="the --stack's services")
    parser.add_argument('--smoke', action='store_true', help='two distributions only: proves the benchmark runs (CI)')
    args = parser.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix='cloudimages-bench-'))
    mirror = Mirror(workdir / 'mirror', bootable=not args.smoke).build()  # smoke boots nothing: stand-ins
    provider = 'bench' + uuid.uuid4().hex[:8] if args.stack else 'bench'
    stack = LocalCloud(args.stack or workdir / 'cloud', services=args.services if args.stack else 'light')
    try:
        with MirrorServer(mirror) as server, (contextlib.nullcontext(stack.start()) if args.stack else stack) as cloud:
            inventory = write_inventory(workdir / 'inventory.json', mirror, server, provider, workdir / 'cache', mirror.today,
                                        boot_test=False, **(SMOKE if args.smoke else {}))
            content = json.loads(inventory.read_text())
            hosts = content['clouds']['hosts']
            hosts['region_one_again'] = dict(hosts['region_one'], image_sync_provider=provider + '-again')
            inventory.write_text(json.dumps(content), encoding='utf-8')
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), **cloud.env())
            # Publishing writes to Glance; the two clouds on RegionOne's SQLite database would fail
            # each other's writes ("database is locked"), so the first run goes one cloud at a time.
            first = measure('first run (uploads), serial', cloud, server, lambda: [run(env, inventory, '--limit', host) for host in hosts])
            parallel = measure('no-op, all clouds at once', cloud, server, lambda: [run(env, inventory, '--forks', str(len(hosts)))])
            serial = measure('no-op, one cloud at a time', cloud, server,
                             lambda: [run(env, inventory, '--limit', host) for host in hosts])
            # One state file per upstream release checked.
            releases = len([name for name in os.listdir(workdir / 'cache' / 'state') if name.endswith('.json')])
    finally:
        mirror.close()
        if args.stack:
            remove_images(stack, (provider, provider + '-again'))
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    print('clouds: %d, distinct upstream releases: %d, release syncs found up to date in the no-op run: %d'
          % (len(hosts), releases, parallel['up_to_date']))
    for row in (first, parallel, serial):
        print('%-28s %6.1f s  upstream requests %4d  glance requests %4d' % (row['label'], row['seconds'], row['upstream_requests'], row['glance_requests']))
        print('%-28s keystone requests per cloud %.1f (logins %.1f), token validations by services %d'
              % ('', row['keystone_requests'] / len(hosts), row['logins'] / len(hosts), row['validations']))
        if row is not first:  # a no-op day: every upstream document once, conditional
            print('%-28s upstream documents asked more than once: %s; answered in full (200): %s'
                  % ('', ', '.join(row['repeated']) or 'none', ', '.join(row['full']) or 'none'))
    print('no-op parallel / one-at-a-time: %.2fx wall time' % (parallel['seconds'] / serial['seconds']))
    print('no-op parallel / previous figure (%.1f s, before one login per cloud): %.2fx'
          % (PREVIOUS_NOOP_SECONDS, parallel['seconds'] / PREVIOUS_NOOP_SECONDS))


if __name__ == '__main__':
    main()
