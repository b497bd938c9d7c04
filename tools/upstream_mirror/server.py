"""Threaded HTTP server for a mirror tree: ``http://127.0.0.1:<port>/<vendor host>/<path>``.

Semantics a real download client meets: GET/HEAD, one byte range (206/416, ``If-Range``),
``ETag`` (Apache-style size-mtime) and ``Last-Modified`` (simulated publish time) with
``If-None-Match``/``If-Modified-Since`` -> 304, 301 to add a directory's trailing slash, 302 for
redirector prefixes, vendor-styled directory listings, runtime faults (:mod:`.faults`) and a
request log for counting upstream traffic.
"""

from __future__ import annotations

import email.utils
import http.server
import json
import mimetypes
import os
import posixpath
import socket
import threading
import time
import urllib.parse

from . import listing
from .faults import FaultTable, normalize

CHUNK = 64 * 1024
TYPES = {'.img': 'application/octet-stream', '.qcow2': 'application/octet-stream', '.xz': 'application/x-xz',
         '.bz2': 'application/x-bzip2', '.json': 'application/json', '.sjson': 'text/plain', '.gpg': 'application/pgp-signature',
         '.asc': 'text/plain', '.sig': 'application/pgp-signature', '.txt': 'text/plain', '.manifest': 'text/plain'}


def content_type(path):
    ext = os.path.splitext(path)[1]
    if ext in TYPES:
        return TYPES[ext]
    return mimetypes.guess_type(path)[0] or 'text/plain'


def etag_for(stat):
    return '"%x-%x"' % (stat.st_size, stat.st_mtime_ns // 1000)


def parse_range(header, size):
    """``(start, end)`` inclusive for one satisfiable range, 'invalid' for 416, None to ignore."""
    if not header or not header.startswith('bytes=') or ',' in header:
        return None  # absent, other unit or multi-range: RFC 9110 lets us send the whole file
    first, sep, last = header[6:].strip().partition('-')
    if not sep:
        return None
    try:
        if first == '':
            length = int(last)
            if length <= 0:
                return 'invalid'
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return 'invalid'
    return start, min(end, size - 1)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'Apache/2.4.62'
    sys_version = ''

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: tests read ``MirrorServer.requests`` instead."""

    def do_GET(self):  # pylint: disable=invalid-name
        self._handle(head=False)

    def do_HEAD(self):  # pylint: disable=invalid-name
        self._handle(head=True)

    # -- plumbing ---------------------------------------------------------------------------------
    def _handle(self, head):
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        record = {'method': self.command, 'path': path, 'status': None, 'bytes': 0,
                  'range': self.headers.get('Range'), 'fault': None, 'time': time.time()}
        owner = self.server.mirror_server
        owner.begin()
        try:
            self._serve(path, head, record)
        except (ConnectionError, socket.timeout):
            self.close_connection = True
        finally:
            owner.log(record)

    def end_headers(self):
        cut = getattr(self, 'cut_after', None)
        if cut is None:
            return super().end_headers()
        self._headers_buffer.append(b'\r\n')
        data = b''.join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(data[:len(data) // 2 if cut == 'half' else int(cut)])
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionError('cut_headers fault')  # ends this request (_handle closes the connection)

    def _simple(self, record, status, body=b'', headers=None, head=False):
        record['status'] = status
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status >= 300 and status != 304:
            body = body or ('%d %s\n' % (status, self.responses.get(status, ('',))[0])).encode()
        if status != 304:
            self.send_header('Content-Length', str(len(body)))
            if 'Content-Type' not in (headers or {}):
                self.send_header('Content-Type', 'text/plain; charset=utf-8')
        self.end_headers()
        if body and not head and status != 304:
            self.wfile.write(body)
            record['bytes'] = len(body)

    def _serve(self, path, head, record):
        owner = self.server.mirror_server
        fault = owner.faults.take(path)
        self.cut_after = None
        if fault:
            record['fault'] = fault.kind
            if fault.kind == 'cut_headers':
                self.cut_after = 'half' if fault.params['after'] is None else fault.params['after']
            if fault.kind == 'not_found':
                return self._simple(record, 404, head=head)
            if fault.kind == 'error':
                return self._simple(record, int(fault.params['status']), head=head)
            if fault.kind == 'slow' and fault.params['delay']:
                time.sleep(float(fault.params['delay']))
            if fault.kind in ('redirect_loop', 'scheme_change'):
                scheme = fault.params['scheme'] if fault.kind == 'scheme_change' else 'http'
                location = '%s://%s:%d%s' % (scheme, owner.host, owner.port, self.path)
                return self._simple(record, 302, headers={'Location': location}, head=head)
        rel = path.lstrip('/')
        for source, target in owner.redirects:
            if rel.startswith(source):
                query = urllib.parse.urlsplit(self.path).query
                location = '%s/%s%s%s' % (owner.url, target, rel[len(source):], '?' + query if query else '')
                return self._simple(record, 302, headers={'Location': location}, head=head)
        local = owner.resolve(rel)
        if local is None:
            return self._simple(record, 404, head=head)
        if os.path.isdir(local):
            if not path.endswith('/'):
                return self._simple(record, 301, headers={'Location': owner.url + urllib.parse.quote(path) + '/'}, head=head)
            host, _sep, vendor_path = rel.partition('/')
            body = listing.render(host, '/' + vendor_path, local)
            return self._simple(record, 200, body, {'Content-Type': 'text/html;charset=UTF-8'}, head=head)
        return self._file(local, head, record, fault)

    def _not_modified(self, stat, etag):
        match = self.headers.get('If-None-Match')
        if match is not None:
            return match.strip() == '*' or etag in [tag.strip() for tag in match.split(',')]
        since = self.headers.get('If-Modified-Since')
        if since:
            try:
                return int(stat.st_mtime) <= email.utils.parsedate_to_datetime(since).timestamp()
            except (TypeError, ValueError):
                return False
        return False

    def _file(self, local, head, record, fault):
        stat = os.stat(local)
        etag = etag_for(stat)
        headers = {'ETag': etag, 'Last-Modified': email.utils.formatdate(stat.st_mtime, usegmt=True), 'Accept-Ranges': 'bytes'}
        if self._not_modified(stat, etag):
            return self._simple(record, 304, headers=headers, head=head)
        size = stat.st_size
        if fault and fault.kind == 'truncate':
            size = min(size, int(fault.params['size']) if fault.params['size'] is not None else size // 2)
        wanted = parse_range(self.headers.get('Range'), size)
        if_range = self.headers.get('If-Range')
        if wanted and if_range and if_range != etag and if_range != headers['Last-Modified']:
            wanted = None  # resource changed since the client's partial copy: send it whole
        if wanted == 'invalid':
            return self._simple(record, 416, headers=dict(headers, **{'Content-Range': 'bytes */%d' % size}), head=head)
        status, start, end = 200, 0, size - 1
        if wanted:
            status, (start, end) = 206, wanted
            headers['Content-Range'] = 'bytes %d-%d/%d' % (start, end, size)
        record['status'] = status
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Type', content_type(local))
        self.send_header('Content-Length', str(end - start + 1))
        self.end_headers()
        if head:
            return None
        return self._body(local, start, end, record, fault)

    def _body(self, local, start, end, record, fault):
        kind = fault.kind if fault else None
        params = fault.params if fault else {}
        limit = int(params['after']) if kind == 'drop' else None
        flip = params.get('offset') if kind == 'corrupt' else None
        if kind == 'corrupt' and flip is None:
            flip = os.path.getsize(local) // 2
        chunk = min(CHUNK, max(1, int(params['rate']) // 10)) if kind == 'slow' else CHUNK
        with open(local, 'rb') as handle:
            handle.seek(start)
            position = start
            while position <= end:
                data = bytearray(handle.read(min(chunk, end - position + 1)))
                if not data:
                    break
                if flip is not None and position <= flip < position + len(data):
                    data[flip - position] ^= 0xFF
                if limit is not None and record['bytes'] + len(data) >= limit:
                    data = data[:limit - record['bytes']]
                    self.wfile.write(data)
                    record['bytes'] += len(data)
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)  # the peer sees a truncated body
                    self.close_connection = True
                    return None
                self.wfile.write(data)
                record['bytes'] += len(data)
                position += len(data)
                if kind == 'slow':
                    self.wfile.flush()
                    time.sleep(len(data) / float(params['rate']))
        return None


class _ThreadingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class MirrorServer:
    """Serve a :class:`~upstream_mirror.Mirror` (or a mirror root path) on 127.0.0.1.

    ``with MirrorServer(mirror) as server: requests.get(server.rewrite(info.image_url))``
    """

    def __init__(self, mirror_or_root, host='127.0.0.1', port=0):
        root = getattr(mirror_or_root, 'root', mirror_or_root)
        self.root = os.path.abspath(root)
        self.www = os.path.realpath(os.path.join(self.root, 'www'))
        self.host = host
        self.port = port
        self.faults = FaultTable()
        self._log = []
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._httpd = None
        self._thread = None
        redirects = os.path.join(self.root, 'redirects.json')
        self.redirects = []
        if os.path.exists(redirects):
            with open(redirects, encoding='utf-8') as handle:
                self.redirects = [tuple(pair) for pair in json.load(handle)]

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self):
        self._httpd = _ThreadingServer((self.host, self.port), Handler)
        self._httpd.mirror_server = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name='upstream-mirror', daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def bind(self):
        """Open the listening socket (port 0: any free one, then known in ``port``)."""
        if self._httpd is None:
            self._httpd = _ThreadingServer((self.host, self.port), Handler)
            self._httpd.mirror_server = self
            self.port = self._httpd.server_address[1]
        return self

    def serve_forever(self):
        """Foreground serving for the CLI (Ctrl-C stops)."""
        self.bind()
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- URLs -------------------------------------------------------------------------------------
    @property
    def url(self):
        return 'http://%s:%d' % (self.host, self.port)

    def base_for(self, host):
        """Mirror prefix replacing ``https://<host>/``."""
        return '%s/%s/' % (self.url, host)

    def rewrite(self, canonical_url):
        """``https://cloud-images.ubuntu.com/x`` -> ``http://127.0.0.1:PORT/cloud-images.ubuntu.com/x``."""
        parts = urllib.parse.urlsplit(canonical_url)
        return '%s/%s%s%s' % (self.url, parts.netloc, parts.path, '?' + parts.query if parts.query else '')

    def resolve(self, rel):
        """Local path for a mirror-relative path, or None (missing, or escaping ``www``)."""
        clean = posixpath.normpath('/' + rel).lstrip('/')
        if any(part == '..' for part in rel.split('/')):
            return None
        local = os.path.realpath(os.path.join(self.www, clean))
        if local != self.www and not local.startswith(self.www + os.sep):
            return None
        return local if os.path.exists(local) else None

    # -- faults and log ---------------------------------------------------------------------------
    def set_fault(self, path, kind, **params):
        """Inject a transport fault for a path/glob/URL; see :mod:`upstream_mirror.faults`."""
        self.faults.set(path, kind, **params)

    def clear_faults(self, path=None):
        self.faults.clear(path)

    def begin(self):
        with self._idle:
            self._in_flight += 1

    def log(self, record):
        with self._idle:
            self._log.append(record)
            self._in_flight -= 1
            self._idle.notify_all()

    @property
    def requests(self):
        """Copy of the request log: dicts with method, path, status, bytes, range, fault, time.

        Waits (up to 2 s) for requests still being answered, so a client that just got its
        response reliably finds it logged.
        """
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=2)
            return list(self._log)

    def reset_requests(self):
        """Empty the log, once requests still being answered are in it (they belong before)."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=2)
            self._log.clear()

    def count(self, path_prefix='', method=None):
        """Requests whose path starts with ``path_prefix`` (mirror path or canonical URL)."""
        prefix = normalize(path_prefix) if path_prefix else ''
        return sum(1 for entry in self.requests if entry['path'].startswith(prefix) and method in (None, entry['method']))
