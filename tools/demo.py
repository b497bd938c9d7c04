"""The README's demo: the daily sync over two local clouds and a local upstream mirror, two days running.

Day 1 publishes every release the two clouds carry; overnight the mirror's vendors release new
builds; day 2 promotes them and turns the previous builds into community images named with the
date of their first upload. The two clouds are the two Glance regions of a local OpenStack
(RegionOne keeps qcow2 and boot-tests every candidate for real, Nova's libvirt driver on QEMU/TCG;
RegionTwo stores raw).
Everything started here is stopped at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from localcloud import LocalCloud, boots
from sync_inventory import write_inventory
from upstream_mirror import Mirror, MirrorServer

ROOT = Path(__file__).resolve().parent.parent
PROVIDER = 'demo'


def say(message):
    print('[demo] %s' % message, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--light', action='store_true', help='Keystone + Glance only (no Nova: boot tests are skipped)')
    parser.add_argument('--workdir', help='keep the stack, mirror, cache and logs here instead of a temp dir')
    args = parser.parse_args()
    started = time.monotonic()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix='cloudimages-demo-'))
    say('working in %s' % workdir)
    services = 'light' if args.light else 'full'
    # Bootable images exactly when the stack boots them (localcloud decides: libvirt unless CLOUDIMAGES_COMPUTE=fake).
    mirror = Mirror(workdir / 'mirror', bootable=boots(workdir / 'cloud', services)).build()
    say('upstream mirror built: %d releases of %d distributions' % (len(mirror.releases), len({d for d, r in mirror.releases})))
    try:
        with MirrorServer(mirror) as server, LocalCloud(workdir / 'cloud', services=services) as cloud:
            say('mirror serving at %s' % server.url)
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), ANSIBLE_NOCOLOR='1',
                       ANSIBLE_CALLBACK_RESULT_FORMAT='yaml', **cloud.env())
            inventory = workdir / 'inventory.json'
            for day in (1, 2):
                today = mirror.today
                write_inventory(inventory, mirror, server, PROVIDER, workdir / 'cache', today, boot_test=not args.light)
                say('day %d (%s): ansible-playbook -i %s cloudimages.openstack.daily_sync --forks 4' % (day, today, inventory))
                playbook(env, inventory, 'cloudimages.openstack.daily_sync', '--forks', '4')
                if day == 1:
                    mirror.advance()
                    say('overnight, every vendor published a new build (mirror advanced to %s)' % mirror.today)
            say('the catalog after two days: ansible-playbook -i %s cloudimages.openstack.image_catalog' % inventory)
            playbook(env, inventory, 'cloudimages.openstack.image_catalog', '-e', '{"image_catalog_tags": ["managed_by_%s"]}' % PROVIDER)
    finally:
        mirror.close()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    say('done in %.0f s; nothing left running' % (time.monotonic() - started))


def playbook(env, inventory, name, *args):
    subprocess.run([str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(inventory), name] + list(args), env=env, check=True)


def collections_path(workdir):
    """Run the working tree as the installed collection, through a symlink farm."""
    farm = workdir / 'collections'
    link = farm / 'ansible_collections' / 'cloudimages' / 'openstack'
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    return str(farm)


if __name__ == '__main__':
    main()
