"""Transport faults the server injects per path at runtime (content faults: ``Mirror.inject``).

Kinds and parameters (every kind also takes ``times``: how many matching requests it hits,
``None`` = all of them):

* ``drop``      ``after=0``: send headers and ``after`` body bytes, then cut the connection
* ``error``     ``status=503``, ``times=1``: answer 5xx for the first ``times`` requests
* ``slow``      ``rate=65536`` bytes/s, ``delay=0`` s before the headers
* ``corrupt``   ``offset=None`` (middle of the file): flip one byte in flight
* ``not_found`` 404 although the file exists
* ``redirect_loop``  302 to the same URL, forever
* ``scheme_change``  302 to the same path with another scheme (``scheme='https'``)
* ``truncate``  ``size=None`` (half the file): serve a shorter file, consistently (Content-Length agrees)
* ``cut_headers``  ``after=None`` (half of them): send that many bytes of the response headers, then
  cut the connection (a client must not read the rest as a complete, empty response)

Content faults (wrong signing key, bad signature, bombs, ...) are ``Mirror.inject``'s.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
import urllib.parse

KINDS = {
    'drop': {'after': 0},
    'error': {'status': 503, 'times': 1},
    'slow': {'rate': 65536, 'delay': 0.0},
    'corrupt': {'offset': None},
    'not_found': {},
    'redirect_loop': {},
    'scheme_change': {'scheme': 'https'},
    'truncate': {'size': None},
    'cut_headers': {'after': None},
}


@dataclasses.dataclass
class Fault:
    kind: str
    pattern: str
    params: dict
    times: int | None = None
    hits: int = 0


def normalize(path):
    """Accept a mirror path, a mirror URL or a canonical ``https://<host>/...`` URL."""
    parts = urllib.parse.urlsplit(path)
    if parts.scheme in ('http', 'https'):
        if parts.hostname in ('127.0.0.1', 'localhost', '::1'):
            path = parts.path
        else:
            path = '/%s%s' % (parts.netloc, parts.path)
    return path if path.startswith('/') else '/' + path


class FaultTable:
    """Thread-safe ``pattern -> Fault``; patterns are exact paths or ``fnmatch`` globs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = {}

    def set(self, path, kind, **params):
        if kind not in KINDS:
            raise ValueError('unknown fault kind %r (known: %s)' % (kind, ', '.join(KINDS)))
        merged = dict(KINDS[kind], **params)
        unknown = set(merged) - set(KINDS[kind]) - {'times'}
        if unknown:
            raise ValueError('unknown parameter(s) for %s: %s' % (kind, ', '.join(sorted(unknown))))
        times = merged.pop('times', None)
        pattern = normalize(path)
        with self._lock:
            self._faults[pattern] = Fault(kind, pattern, merged, times)

    def clear(self, path=None):
        with self._lock:
            if path is None:
                self._faults.clear()
            else:
                self._faults.pop(normalize(path), None)

    def take(self, path):
        """The fault for ``path`` if it still has hits left (and count this one), else None."""
        with self._lock:
            for pattern, fault in self._faults.items():
                if pattern == path or fnmatch.fnmatchcase(path, pattern):
                    if fault.times is not None and fault.hits >= fault.times:
                        return None
                    fault.hits += 1
                    return fault
        return None
