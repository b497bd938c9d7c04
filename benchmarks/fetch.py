"""image_fetch's download path against curl, and its memory at 1 GiB vs 4 GiB.

Prints, from one run on this machine:

* fetch+verify (``_verified_image.obtain``: download, md5/sha256/sha512 in the stream, digest check,
  format inspection) of a 1 GiB image vs ``curl -o`` alone and vs ``curl -o`` + ``sha256sum``
  (target: <= 1.15x curl alone, i.e. hashing hidden in the stream);
* the same two at a link speed the server limits (``--link-mib-s``, default 100 MiB/s, a fast
  internet download): on loopback the transfer outruns three digests on a small shared CPU,
  over a real link the digests hide in the stream;
* peak RSS of the fetch for a 1 GiB and a 4 GiB image (target: no growth).

Files are served by the upstream mirror's server (tools/upstream_mirror, its ``slow`` fault
limits the rate) on 127.0.0.1 from a temp dir, which is deleted at the end. Each fetch runs in
a child process that reports its own wall time and peak RSS (getrusage RUSAGE_SELF).
Usage: ``.venv/bin/python benchmarks/fetch.py [--small-mib 1024] [--large-mib 4096] [--link-mib-s 100] [--smoke]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tools'))
from upstream_mirror import MirrorServer  # noqa: E402  pylint: disable=wrong-import-position

MIB = 1 << 20

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import make_session
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._verified_image import obtain, resolve_source
source = resolve_source(url=sys.argv[2], checksum=sys.argv[3], compression='none', disk_format='raw')
started = time.perf_counter()
result = obtain(source, sys.argv[4], make_session())
elapsed = time.perf_counter() - started
print(json.dumps({'seconds': elapsed, 'peak_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  'size': result['size'], 'from_cache': result['from_cache']}))
"""


def make_image(path, mib):
    """``mib`` MiB of incompressible bytes (a random 1 MiB block, varied per MiB); returns its sha256."""
    block = bytearray(os.urandom(MIB))
    digest = hashlib.sha256()
    with open(path, 'wb') as handle:
        for index in range(mib):
            block[:8] = index.to_bytes(8, 'little')
            handle.write(block)
            digest.update(block)
    return digest.hexdigest()


def fetch_in_child(farm, url, sha256, cache_dir):
    shutil.rmtree(cache_dir, ignore_errors=True)
    out = subprocess.run([sys.executable, '-c', CHILD, str(farm), url, 'sha256:' + sha256, str(cache_dir)],
                         capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit('the fetch failed:\n' + out.stderr)
    result = json.loads(out.stdout)
    shutil.rmtree(cache_dir, ignore_errors=True)
    return result


def timed(argv):
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def hash_rate(path, algorithm, limit=256 * MIB):
    digest = hashlib.new(algorithm)
    started = time.perf_counter()
    with open(path, 'rb') as handle:
        digest.update(handle.read(limit))
    return limit / MIB / (time.perf_counter() - started)


def compare(farm, url, sha256, cache, target, curl):
    """Seconds of fetch+verify, curl alone, curl then sha256sum (None without curl), and the fetch's record."""
    fetched = fetch_in_child(farm, url, sha256, cache)
    if not curl:
        return fetched, None, None
    alone = timed([curl, '-sS', '-o', str(target), url])
    os.unlink(target)
    hashed = timed(['sh', '-c', '"$0" -sS -o "$1" "$2" && sha256sum "$1"', curl, str(target), url])
    os.unlink(target)
    return fetched, alone, hashed


def report(title, mib, fetched, alone, hashed):
    print('%s\n  fetch+verify (md5+sha256+sha512 in the stream, inspection): %.2f s, %.0f MiB/s'
          % (title, fetched['seconds'], mib / fetched['seconds']))
    if alone is None:
        print('  curl not found (Debian package curl): comparison with curl skipped')
        return
    print('  curl -o alone:           %.2f s -> fetch/curl          = %.2fx (target <= 1.15x)' % (alone, fetched['seconds'] / alone))
    print('  curl -o, then sha256sum: %.2f s -> fetch/(curl+sha256) = %.2fx' % (hashed, fetched['seconds'] / hashed))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--small-mib', type=int, default=1024)
    parser.add_argument('--large-mib', type=int, default=4096)
    parser.add_argument('--link-mib-s', type=int, default=100)
    parser.add_argument('--smoke', action='store_true', help='16 and 32 MiB: proves the benchmark runs (CI)')
    args = parser.parse_args()
    if args.smoke:
        args.small_mib, args.large_mib = 16, 32
    curl = shutil.which('curl')
    with tempfile.TemporaryDirectory(prefix='cloudimages-bench-') as tmp:
        tmp = Path(tmp)
        farm = tmp / 'farm'
        (farm / 'ansible_collections' / 'cloudimages').mkdir(parents=True)
        (farm / 'ansible_collections' / 'cloudimages' / 'openstack').symlink_to(ROOT)
        www = tmp / 'www'
        www.mkdir()
        print('making %d MiB and %d MiB test images in %s ...' % (args.small_mib, args.large_mib, tmp), flush=True)
        small_sha = make_image(www / 'small.img', args.small_mib)
        large_sha = make_image(www / 'large.img', args.large_mib)
        cache, target = tmp / 'cache', tmp / 'curl.img'
        with MirrorServer(str(tmp)) as server:  # a str: a Path's .root attribute would be taken for a Mirror's
            small_url, large_url = server.url + '/small.img', server.url + '/large.img'
            fetch_in_child(farm, small_url, small_sha, cache)  # warm the page cache and imports
            loopback = compare(farm, small_url, small_sha, cache, target, curl)
            server.set_fault('/small.img', 'slow', rate=args.link_mib_s * MIB)
            link = compare(farm, small_url, small_sha, cache, target, curl)
            server.clear_faults()
            small_rss = loopback[0]
            large = fetch_in_child(farm, large_url, large_sha, cache)
        rates = {name: hash_rate(www / 'small.img', name) for name in ('md5', 'sha256', 'sha512')}
    gib_small, gib_large = args.small_mib / 1024, args.large_mib / 1024
    print()
    report('%.2g GiB over loopback, unlimited:' % gib_small, args.small_mib, *loopback)
    report('%.2g GiB over a %d MiB/s link (server-side limit):' % (gib_small, args.link_mib_s), args.small_mib, *link)
    print('hash throughput of this machine, one core: %s'
          % ', '.join('%s %.0f MiB/s' % (name, rate) for name, rate in rates.items()))
    print('peak RSS of the fetch: %.2g GiB -> %.1f MiB, %.2g GiB -> %.1f MiB (growth %.1f MiB; target: none)'
          % (gib_small, small_rss['peak_rss_kib'] / 1024, gib_large, large['peak_rss_kib'] / 1024,
             (large['peak_rss_kib'] - small_rss['peak_rss_kib']) / 1024))
    print('load average at the end: %.2f %.2f %.2f on %d CPUs' % (os.getloadavg() + (os.cpu_count(),)))


if __name__ == '__main__':
    main()
