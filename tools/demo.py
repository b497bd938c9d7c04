"""The README's demo: a local OpenStack (two Glance regions) and a local upstream mirror, with the collection run against them.

Until the daily-sync playbook exists, the demo seeds both regions the way a sync would
(Glance web-download straight from the mirror; stored md5 compared with the published file's) and then
runs the collection's ``image_catalog`` playbook over an inventory with one host per cloud.
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

from localcloud import LocalCloud
from upstream_mirror import Mirror, MirrorServer

ROOT = Path(__file__).resolve().parent.parent
SEED = (('cirros', '0.6', 'CirrOS 0.6'), ('debian', '12', 'Debian 12 Bookworm'))
INVENTORY = """\
clouds:
  hosts:
    region_one: {cloud: admin, region_name: RegionOne}
    region_two: {cloud: admin, region_name: RegionTwo}
  vars:
    ansible_connection: local
    ansible_python_interpreter: "%s"
"""


def say(message):
    print('[demo] %s' % message, flush=True)


def seed(cloud, mirror, server):
    """Publish the newest build of a few releases in both regions, as the daily sync will."""
    from openstack import config as occ, connection  # pylint: disable=import-outside-toplevel
    config = occ.OpenStackConfig(config_files=[cloud.clouds_yaml], load_envvars=False)
    for region in ('RegionOne', 'RegionTwo'):
        conn = connection.Connection(config=config.get_one(cloud='admin', region_name=region))
        for distro, release, name in SEED:
            info = mirror.releases[distro, release]
            image = conn.image.create_image(
                name='%s - Latest' % name, disk_format='qcow2', container_format='bare', visibility='public',
                tags=['managed_by_demo', 'os:%s' % distro], allow_duplicates=True,
                os_distro=distro, os_version=release, image_source=info.image_url, image_build_date=info.build_date)
            response = conn.image.import_image(image, method='web-download', uri=server.rewrite(info.image_url))
            if response.status_code != 202:  # openstacksdk returns the response instead of raising
                raise RuntimeError('web-download of %s refused: HTTP %s %s' % (name, response.status_code, response.text))
            image = conn.image.wait_for_status(image, 'active', failures=['killed'], wait=120)
            stored = 'the vendor\'s bytes' if image.checksum == info.md5 else 'converted to %s' % image.disk_format
            say('%s: %s is active (%s, md5 %s)' % (region, image.name, stored, image.checksum))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--full', action='store_true', help='start Nova, Cinder and friends too (about 70 s instead of 20 s)')
    parser.add_argument('--workdir', help='keep the stack, mirror and logs here instead of a temp dir')
    args = parser.parse_args()
    started = time.monotonic()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix='cloudimages-demo-'))
    say('working in %s' % workdir)
    mirror = Mirror(workdir / 'mirror').build()
    say('upstream mirror built: %d releases of %d distributions' % (len(mirror.releases), len({d for d, r in mirror.releases})))
    try:
        with MirrorServer(mirror) as server, LocalCloud(workdir / 'cloud', services='full' if args.full else 'light') as cloud:
            say('mirror serving at %s' % server.url)
            seed(cloud, mirror, server)
            inventory = workdir / 'inventory.yml'
            inventory.write_text(INVENTORY % sys.executable, encoding='utf-8')
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(workdir), ANSIBLE_NOCOLOR='1', **cloud.env())
            say('running: ansible-playbook -i %s cloudimages.openstack.image_catalog' % inventory)
            subprocess.run([str(Path(sys.executable).parent / 'ansible-playbook'), '-i', str(inventory),
                            'cloudimages.openstack.image_catalog', '-e', '{"image_catalog_tags": ["managed_by_demo"]}'],
                           env=env, check=True)
    finally:
        mirror.close()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    say('done in %.0f s; nothing left running' % (time.monotonic() - started))


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
