"""A small HTTP proxy on 127.0.0.1 in front of Glance, owned by the upload tests.

It stands in for the network between the controller and Glance: it counts the requests that
reach Glance, and can inject network faults into chosen requests (a 5xx after part of the body,
a dropped connection, a request that is never answered, a barrier that holds requests until
several have arrived). Glance itself is real; only the faults are simulated here.
"""

from __future__ import annotations

import http.client
import http.server
import re
import socket
import threading
import time
import urllib.parse


class GlanceProxy:
    """``with GlanceProxy(glance_url) as proxy:`` then point ``image_endpoint_override`` at ``proxy.url``."""

    def __init__(self, target):
        parts = urllib.parse.urlsplit(target)
        self.target_host, self.target_port = parts.hostname, parts.port or 80
        self.requests = []            # (method, path) of every request received
        self.faults = []              # [(method, path regex, kind, params)]
        self._lock = threading.Lock()
        self._barrier = None
        self._release = threading.Event()   # set on stop: frees every held request
        handler = type('Handler', (_Handler,), {'proxy': self})
        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self._server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def fail(self, method, path_regex, kind, **params):
        """kind: ``error`` (read ``after`` body bytes, answer 503), ``drop`` (read ``after`` bytes,
        close the connection), ``hang`` (never answer until the proxy stops),
        ``barrier`` (hold until ``parties`` matching requests arrived, then forward them ``stagger`` s apart)."""
        if kind == 'barrier':
            self._barrier = threading.Barrier(params['parties'], timeout=params.get('timeout', 60))
        self.faults.append((method, re.compile(path_regex), kind, params))

    def count(self, method=None, path_regex=None):
        with self._lock:
            return sum(1 for m, p in self.requests
                       if (method is None or m == method) and (path_regex is None or re.search(path_regex, p)))

    def writes(self):
        with self._lock:
            return [(m, p) for m, p in self.requests if m not in ('GET', 'HEAD')]

    def _fault_for(self, method, path):
        for fault_method, regex, kind, params in self.faults:
            if fault_method == method and regex.search(path):
                return kind, params
        return None, {}


class _Handler(http.server.BaseHTTPRequestHandler):
    proxy = None
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass

    def _any(self):
        proxy = self.proxy
        with proxy._lock:  # pylint: disable=protected-access
            proxy.requests.append((self.command, self.path))
        kind, params = proxy._fault_for(self.command, self.path)  # pylint: disable=protected-access
        length = int(self.headers.get('Content-Length') or 0)
        if kind in ('error', 'drop'):
            self.rfile.read(min(length, params.get('after', 0)))
            if kind == 'drop':
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            body = b'{"message": "injected by the test proxy: 503 mid-upload"}'
            self.send_response(503)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Connection', 'close')
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        if kind == 'hang':
            proxy._release.wait()  # pylint: disable=protected-access
            self.close_connection = True
            return
        if kind == 'barrier':
            try:
                # Released in turn, ``stagger`` seconds apart: all were sent before any got its answer.
                time.sleep(proxy._barrier.wait() * params.get('stagger', 0))  # pylint: disable=protected-access
            except threading.BrokenBarrierError:
                pass
        self._forward(length)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    def _forward(self, length):
        conn = http.client.HTTPConnection(self.proxy.target_host, self.proxy.target_port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ('host', 'connection', 'transfer-encoding')}
        chunked = 'chunked' in (self.headers.get('Transfer-Encoding') or '').lower()
        conn.putrequest(self.command, self.path, skip_accept_encoding=True)
        for key, value in headers.items():
            conn.putheader(key, value)
        if chunked:
            conn.putheader('Transfer-Encoding', 'chunked')
        conn.endheaders()
        if chunked:
            while True:
                size = int(self.rfile.readline().strip().split(b';')[0], 16)
                data = self.rfile.read(size) if size else b''
                self.rfile.readline()
                conn.send(b'%x\r\n%s\r\n' % (size, data))
                if not size:
                    break
        else:
            remaining = length
            while remaining:
                data = self.rfile.read(min(remaining, 1 << 16))
                if not data:
                    break
                conn.send(data)
                remaining -= len(data)
        response = conn.getresponse()
        # Glance's version document and redirects name its own address: point them back here.
        own = ('http://%s:%d' % (self.proxy.target_host, self.proxy.target_port)).encode()
        body = response.read().replace(own, self.proxy.url.encode())
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                self.send_header(key, value.replace(own.decode(), self.proxy.url))
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        conn.close()
