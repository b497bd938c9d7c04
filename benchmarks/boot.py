"""Real boots through Nova: seconds from upload to ACTIVE to console marker, per mirror image.

Needs a full local cloud whose Nova runs the libvirt driver (QEMU/TCG):

    cd tools && CLOUDIMAGES_COMPUTE=libvirt ../.venv/bin/python -m localcloud start /tmp/boot-bench
    OS_CLIENT_CONFIG_FILE=/tmp/boot-bench/clouds.yaml PYTHONPATH=tools .venv/bin/python benchmarks/boot.py -n 3

Each boot uploads the image (private, demo project), boots it with m1.boot and no network, polls the
console every 0.5 s until the marker (``login:``) or ``Kernel panic``, deletes server and image. Prints
median and worst per image and phase. ``--smoke`` (CI): one boot of one image, proving the benchmark runs.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openstack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))

from upstream_mirror import Mirror  # noqa: E402  pylint: disable=wrong-import-position

IMAGES = (('ubuntu', '24.04'), ('debian', '12'), ('cirros', '0.6'))


def boot_once(conn, path, marker, timeout):
    t0 = time.monotonic()
    image = conn.image.create_image(name='bench-boot', filename=path, disk_format='qcow2', container_format='bare',
                                    visibility='private', wait=True)
    t1 = time.monotonic()
    server = conn.compute.create_server(name='bench-boot', image_id=image.id, networks='none',
                                        flavor_id=conn.compute.find_flavor('m1.boot').id)
    try:
        server = conn.compute.wait_for_server(server, wait=timeout, interval=0.5)
        t2 = time.monotonic()
        text = ''
        while time.monotonic() - t2 < timeout and marker not in text and 'Kernel panic' not in text:
            time.sleep(0.5)
            text = conn.compute.get_server_console_output(server)['output'] or ''
        if marker not in text:
            raise RuntimeError('no %r on the console of %s: %s' % (marker, path, text[-500:]))
        t3 = time.monotonic()
    finally:
        conn.compute.delete_server(server, ignore_missing=True)
        # A cloud with reclaim_instance_interval (the local one) only soft-deletes: then force it.
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            found = conn.compute.find_server(server.id, ignore_missing=True)
            if found is None:
                break
            if found.status == 'SOFT_DELETED':
                conn.compute.delete_server(found, force=True)
            time.sleep(0.5)
        conn.image.delete_image(image, ignore_missing=True)
    return t1 - t0, t2 - t1, t3 - t2


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-n', type=int, default=3, help='boots per image')
    parser.add_argument('--cloud', default='demo')
    parser.add_argument('--timeout', type=int, default=300)
    parser.add_argument('--smoke', action='store_true', help='one boot of one image (CI)')
    args = parser.parse_args()
    images = IMAGES[:1] if args.smoke else IMAGES
    if args.smoke:
        args.n = 1
    conn = openstack.connect(cloud=args.cloud, region_name='RegionOne')
    conn.compute.default_microversion = '2.37'  # networks: none
    with tempfile.TemporaryDirectory() as tmp:
        start = time.monotonic()
        mirror = Mirror(Path(tmp) / 'mirror', today=datetime.date(2026, 11, 16)).build()
        print('mirror built in %.1f s' % (time.monotonic() - start))
        try:
            print('%-16s %-8s %9s %9s %9s   (median / worst of %d, seconds)'
                  % ('image', '', 'upload', 'ACTIVE', 'marker', args.n))
            for key in images:
                info = mirror.releases[key]
                runs = [boot_once(conn, info.local_path, 'login:', args.timeout) for _index in range(args.n)]
                for label, pick in (('median', statistics.median), ('worst', max)):
                    phases = [pick(r[i] for r in runs) for i in range(3)]
                    print('%-16s %-8s %9.1f %9.1f %9.1f' % (' '.join(key), label, *phases))
        finally:
            mirror.close()


if __name__ == '__main__':
    main()
