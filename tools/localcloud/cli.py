"""Command line: python -m localcloud start|stop|status BASE."""

import argparse
import sys

from .cloud import LocalCloud, LocalCloudError


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m localcloud', description=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)
    start = sub.add_parser('start', help='install if needed, start and bootstrap a stack')
    start.add_argument('base', help='base directory (state, configs, logs, clouds.yaml)')
    start.add_argument('--light', action='store_true', help='Keystone + Glance only (no MariaDB/RabbitMQ)')
    start.add_argument('--keep-on-fail', action='store_true', help='leave services running if start fails')
    start.add_argument('--port-base', type=int, default=None, help='first of 11 consecutive ports (default: auto)')
    more = sub.add_parser('regions', help='regions 3..TOTAL on a running stack, a light Glance each')
    more.add_argument('base')
    more.add_argument('total', type=int)
    for name, text in (('stop', 'stop every process of the stack'), ('status', 'processes, RSS and API health')):
        sub.add_parser(name, help=text).add_argument('base')
    args = parser.parse_args(argv)
    try:
        if args.command == 'start':
            cloud = LocalCloud(args.base, services='light' if args.light else 'full', port_base=args.port_base,
                               keep_on_fail=args.keep_on_fail)
            cloud.start()
            print('export OS_CLIENT_CONFIG_FILE=%s' % cloud.clouds_yaml)
        elif args.command == 'regions':
            for region, url in LocalCloud(args.base).add_regions(args.total).items():
                print('%s %s' % (region, url))
        elif args.command == 'stop':
            LocalCloud(args.base).stop()
        else:
            return status(LocalCloud(args.base))
    except LocalCloudError as exc:
        print('localcloud: %s' % exc, file=sys.stderr)
        return 1
    return 0


def status(cloud):
    rows, health = cloud.status()
    if not rows:
        print('nothing running under %s' % cloud.layout.base)
        return 3
    total = 0.0
    print('%-18s %8s %8s %10s' % ('service', 'pid', 'state', 'RSS MB'))
    for name, pid, running, rss in rows:
        total += rss or 0.0
        print('%-18s %8s %8s %10s' % (name, pid, 'running' if running else 'DEAD', '%.0f' % rss if rss else '-'))
    print('%-18s %8s %8s %10.0f' % ('total', '', '', total))
    for name, ok in health.items():
        print('api %-14s %s' % (name, 'healthy' if ok else 'NOT HEALTHY'))
    return 0 if all(running for _n, _p, running, _r in rows) and all(health.values()) else 1
