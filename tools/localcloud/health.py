"""Health checks that recognise each API by its version document, not by any HTTP 200.

A port answered by some other program (another stack, a stray server) must not pass as our service.
"""

import http.client
import json
import socket
import time

from .process import StepFailed, alive, tail


def _versions(doc):
    return [str(v.get('id', '')) for v in doc.get('versions', [])] if isinstance(doc, dict) else []


# service -> (path, predicate on the decoded JSON body)
CHECKS = {
    'keystone': ('/v3', lambda d: str(d.get('version', {}).get('id', '')).startswith('v3')),
    'glance': ('/', lambda d: any(v.startswith('v2.') for v in _versions(d))),
    'glance2': ('/', lambda d: any(v.startswith('v2.') for v in _versions(d))),
    'placement': ('/', lambda d: 'v1.0' in _versions(d)),
    'neutron': ('/', lambda d: 'v2.0' in _versions(d)),
    'nova': ('/', lambda d: 'v2.1' in _versions(d)),
    'cinder': ('/', lambda d: any(v.startswith('v3.') for v in _versions(d))),
}


def probe(service, port, timeout=3.0):
    """True if the port serves this service's version document."""
    path, predicate = CHECKS.get(service) or CHECKS[service.rstrip('0123456789')]  # glance3, ...: a glance
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path, headers={'Accept': 'application/json'})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status not in (200, 300):
            return False
        return bool(predicate(json.loads(body)))
    except (OSError, http.client.HTTPException, ValueError, AttributeError):
        return False
    finally:
        conn.close()


def mysql_greeting(port, timeout=1.0):
    """MariaDB speaks first: its handshake packet names the server."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as sock:
            return b'MariaDB' in sock.recv(256)
    except OSError:
        return False


def wait_until(name, check, daemons, procs=(), timeout=120.0, interval=0.25, logs=()):
    """Poll check() until it is true; fail at once if one of the named daemons died meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        for proc in procs:
            entry = daemons.read(proc)
            if not entry or not alive(*entry):
                raise StepFailed('%s exited during start-up; tail of %s:\n%s%s' % (
                    proc, daemons.logfile(proc), tail(daemons.logfile(proc)), _more(logs)))
        if time.monotonic() > deadline:
            log = daemons.logfile(procs[0]) if procs else None
            raise StepFailed('%s not healthy after %.0f s%s%s' % (
                name, timeout, ('; tail of %s:\n%s' % (log, tail(log))) if log else '', _more(logs)))
        time.sleep(interval)


def _more(logs):
    return ''.join('\n--- tail of %s:\n%s' % (log, tail(log, 20)) for log in logs)


def amqp_greeting(port, timeout=1.0):
    """RabbitMQ answers an AMQP 0-9-1 header with Connection.Start, which names the product. Its
    listeners open when the broker has booted. (rabbitmqctl wait was the check, but under load its
    Erlang CLI alone took over 100 s to start.)"""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout) as sock:
            sock.sendall(b'AMQP\x00\x00\x09\x01')
            return b'RabbitMQ' in sock.recv(1024)
    except OSError:
        return False
