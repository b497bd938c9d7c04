"""Command line: ``python -m upstream_mirror {build,serve,advance,eol,inject,catalog} DIR ...``."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import signal
import sys
import time

from .mirror import Mirror
from .server import MirrorServer


def _params(pairs):
    """``key=value`` pairs; integers are converted (``expanded_size=1073741824``)."""
    params = {}
    for pair in pairs:
        key, _sep, value = pair.partition('=')
        params[key] = int(value) if value.isdigit() else value
    return params


def _release(text):
    """``ubuntu-26.04`` -> ``('ubuntu', '26.04')``; ``ubuntu-minimal-26.04`` -> ``('ubuntu-minimal', '26.04')``."""
    distro, sep, release = text.rpartition('-')
    if not sep or not distro or not release:
        raise argparse.ArgumentTypeError('expected DISTRO-RELEASE such as ubuntu-26.04, not %r' % text)
    return distro, release


def _serve(args):
    mirror = Mirror(args.dir)
    if not os.path.exists(os.path.join(args.dir, 'state.json')):
        mirror.build()  # a demo needs just one command
    server = MirrorServer(args.dir, host=args.host, port=args.port)
    server.bind()
    pid_file = args.pid_file or os.path.join(args.dir, 'serve.pid')
    with open(pid_file, 'w', encoding='utf-8') as handle:
        handle.write('%d\n' % os.getpid())
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))  # `kill $(cat serve.pid)` stops it cleanly
    print('serving %s on %s/<vendor host>/... (pid %d in %s)' % (args.dir, server.url, os.getpid(), pid_file))
    print('inventory settings for a sync from this mirror (signed by its test key):')
    print(json.dumps(dict(mirror.sync_settings(server.url), image_sync_today=mirror.today.isoformat()), indent=2),
          flush=True)
    mirror.close()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pid_file)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog='upstream_mirror', description=__doc__)
    commands = parser.add_subparsers(dest='command', required=True)
    build = commands.add_parser('build', help='create the tree (three builds per release)')
    build.add_argument('dir')
    build.add_argument('--today', type=datetime.date.fromisoformat, help='simulated date of the newest builds')
    build.add_argument('--without', type=_release, action='append', default=[],
                       help='leave out a release (DISTRO-RELEASE, repeatable) to publish it later with advance --new-release')
    serve = commands.add_parser('serve', help='serve DIR over HTTP until interrupted or sent SIGTERM (builds it first '
                                              'if empty); prints the settings a sync needs and writes DIR/serve.pid')
    serve.add_argument('dir')
    serve.add_argument('--port', type=int, default=8080)
    serve.add_argument('--host', default='127.0.0.1')
    serve.add_argument('--pid-file', help='where to write the process id (default: DIR/serve.pid)')
    advance = commands.add_parser('advance', help='publish one new build of every live release')
    advance.add_argument('dir')
    advance.add_argument('--days', type=int, default=1)
    advance.add_argument('--bump', action='append', default=[], help='distro starting a new minor/major (repeatable)')
    advance.add_argument('--new-release', type=_release, action='append', default=[], dest='new_releases',
                         help='a release published for the first time (DISTRO-RELEASE such as ubuntu-26.04 or fedora-45)')
    eol = commands.add_parser('eol', help='end of life for one release')
    eol.add_argument('dir')
    eol.add_argument('distro')
    eol.add_argument('release')
    inject = commands.add_parser('inject', help='content fault on the newest build of a release')
    inject.add_argument('dir')
    inject.add_argument('distro')
    inject.add_argument('release')
    inject.add_argument('fault')
    inject.add_argument('params', nargs='*', help='key=value')
    catalog = commands.add_parser('catalog', help='print the newest build of every release as JSON')
    catalog.add_argument('dir')
    args = parser.parse_args(argv)

    if args.command == 'serve':
        return _serve(args)

    mirror = Mirror(args.dir, today=getattr(args, 'today', None))
    try:
        started = time.monotonic()
        if args.command == 'build':
            mirror.build(without=args.without)
        elif args.command == 'advance':
            mirror.advance(days=args.days, bump=tuple(args.bump), new_releases=args.new_releases)
        elif args.command == 'eol':
            mirror.eol(args.distro, args.release)
        elif args.command == 'inject':
            mirror.inject(args.distro, args.release, args.fault, **_params(args.params))
        if args.command == 'catalog':
            json.dump([info.to_dict() for info in mirror.releases.values()], sys.stdout, indent=1)
            print()
        else:
            print('%s: %s done in %.2f s (today=%s)' % (args.dir, args.command, time.monotonic() - started, mirror.today))
    finally:
        mirror.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
