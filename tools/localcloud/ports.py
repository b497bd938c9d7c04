"""Port planning: every service binds 127.0.0.1 only, ports are port_base + a fixed offset."""

import random
import socket

from .layout import PORT_NAMES


class PortInUse(RuntimeError):
    pass


def port_free(port):
    # SO_REUSEADDR like uwsgi/mysqld do, so a TIME_WAIT left by a previous stack does not count as taken.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('127.0.0.1', port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def plan(port_base):
    return {name: port_base + offset for offset, name in enumerate(PORT_NAMES)}


def auto_base(attempts=200):
    """Pick a base whose whole block is free, below the kernel's ephemeral range (32768+)."""
    rng = random.Random()
    for _attempt in range(attempts):
        base = rng.randrange(20000, 32000 - len(PORT_NAMES), 20)
        if all(port_free(port) for port in plan(base).values()):
            return base
    raise PortInUse('could not find %d free consecutive ports on 127.0.0.1' % len(PORT_NAMES))


def check_free(ports, names):
    taken = ['%s=%d' % (name, ports[name]) for name in names if not port_free(ports[name])]
    if taken:
        raise PortInUse('port(s) already in use on 127.0.0.1: %s. Another stack or program is listening there; '
                        'stop it or pick another port_base (--port-base).' % ', '.join(taken))
