# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Every upstream transfer goes through here: one error type, one retry policy, one deadline.

* Errors: whatever requests or urllib3 raise (dropped, reset, timed out, redirect loop, scheme
  change, bad URL) becomes :class:`UpstreamError`; ``transient`` says whether another attempt
  may cure it. Callers catch that one type and fail one release, never the run.
* Retries: urllib3's ``Retry`` (:func:`make_session`) retries connection errors and the
  RETRY_STATUSES before any body is read; :func:`retrying` repeats a transfer that broke
  mid-body (the image fetcher resumes with a Range request, documents start again). Both take
  the same ``retries``/``backoff``.
* Deadline: each transfer, all its attempts included, ends after ``transfer_deadline`` seconds
  (TRANSFER_DEADLINE), so a server dripping bytes cannot hold a release for hours; read
  timeouts alone never fire while bytes keep trickling in.
* Counting: every request sent (the adapter's retries and each redirect hop included) adds one
  to the session's ``sent`` (:func:`requests_sent`), so results report what the server saw.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from urllib.parse import urljoin

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import HTTPError as Urllib3Error
    from urllib3.util.retry import Retry
except ImportError:
    requests = Urllib3Error = None
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    REQUESTS_IMPORT_ERROR = None

USER_AGENT = 'cloudimages.openstack (+https://github.com/cloudimages/openstack)'
RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
RETRIES = 5
BACKOFF = 0.5
# Seconds one transfer (a document, signature, key or image, every attempt included) may take:
# a 2 GiB image at 1.2 MB/s. Modules expose it as the option transfer_deadline.
TRANSFER_DEADLINE = 1800
CHUNK = 1024 * 1024


class UpstreamError(Exception):
    """An upstream transfer failed; ``transient``: a dropped, reset, stalled or short transfer worth retrying."""

    def __init__(self, message, transient=False):
        super().__init__(message)
        self.transient = transient
        self.attempts = 1


class TruncatedError(UpstreamError):
    """The body ended before Content-Length bytes arrived."""

    def __init__(self, message):
        super().__init__(message, transient=True)


class DeadlineError(UpstreamError):
    """The transfer did not complete within its deadline (what arrived may be resumed later)."""


def make_session(retries=RETRIES, backoff=BACKOFF):
    """A session that retries idempotent requests with exponential backoff and honours Retry-After."""
    retry = _Retry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        backoff_factor=backoff, backoff_max=30,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset(['GET', 'HEAD']),
        respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    retry.sent = _Sent()
    adapter = _CountingAdapter(max_retries=retry)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    session.headers['User-Agent'] = USER_AGENT
    session.retries, session.backoff = retries, backoff  # for retrying(): one policy per session
    session.sent = retry.sent
    # Checked before each redirect is followed: an https->http hop must not even be requested,
    # and an http->https or ->ftp hop would otherwise end in a TLS or adapter error, not this one.
    session.hooks['response'].append(_refuse_scheme_change)
    return session


def requests_sent(session):
    """How many requests ``session`` has sent so far (None for a session not made here)."""
    sent = getattr(session, 'sent', None)
    return sent.count if isinstance(sent, _Sent) else None


class _Sent:
    count = 0


class _CountingAdapter(HTTPAdapter if REQUESTS_IMPORT_ERROR is None else object):
    """Counts each send (one per redirect hop); the adapter's own retries count in _Retry."""

    def send(self, request, *args, **kwargs):  # pylint: disable=arguments-differ
        self.max_retries.sent.count += 1
        return super().send(request, *args, **kwargs)  # pylint: disable=no-member


class _Retry(Retry if REQUESTS_IMPORT_ERROR is None else object):
    """urllib3's Retry, but a server's Retry-After cannot make us wait more than 30 s; counts retries."""

    sent = None  # the session's _Sent, handed on to each copy urllib3 makes

    def new(self, **kw):
        copy = super().new(**kw)  # pylint: disable=no-member
        copy.sent = self.sent
        return copy

    def increment(self, *args, **kwargs):
        copy = super().increment(*args, **kwargs)  # pylint: disable=no-member
        # Raising (exhausted) means no retry follows: that last request was counted by its send.
        if self.sent is not None:
            self.sent.count += 1
        return copy

    def get_retry_after(self, response):
        value = super().get_retry_after(response)  # pylint: disable=no-member
        return None if value is None else min(value, 30.0)


def _refuse_scheme_change(response, *args, **kwargs):  # pylint: disable=unused-argument
    if response.is_redirect:
        target = urljoin(response.url, response.headers['Location'])
        if target.split(':', 1)[0].lower() != response.url.split(':', 1)[0].lower():
            response.close()
            raise UpstreamError('%s redirected to %s, which changes the scheme; refusing it' % (response.url, target))
    return response


def check_redirects(response, url):
    """Refuse a redirect chain that changes scheme (an https URL must never end up on http)."""
    scheme = url.split(':', 1)[0].lower()
    for hop in list(response.history) + [response]:
        hop_scheme = hop.url.split(':', 1)[0].lower()
        if hop_scheme != scheme:
            raise UpstreamError('%s redirected to %s, which changes the scheme from %s to %s; refusing it'
                                % (url, hop.url, scheme, hop_scheme))


def as_upstream_error(exc, url):
    """The UpstreamError for an exception requests or urllib3 raised about ``url``."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, requests.TooManyRedirects):
        return UpstreamError('too many redirects (a redirect loop?) from %s' % url)
    transient = isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                                 requests.exceptions.ContentDecodingError, Urllib3Error)) \
        or not isinstance(exc, requests.RequestException)  # a bare socket error (reset, timed out)
    return UpstreamError(_describe(exc), transient=transient)


def attempts(count):
    """``1 attempt``, ``3 attempts``."""
    return '%d attempt%s' % (count, '' if count == 1 else 's')


def check_framed(response, received):
    """Refuse an empty body that nothing delimits: the connection was cut inside the headers.

    http.client takes the end of the connection for the end of the headers, so headers cut
    before ``Content-Length`` read as a complete response with an empty body.
    """
    if received or response.status_code not in (200, 206) or 'Content-Length' in response.headers \
            or 'chunked' in response.headers.get('Transfer-Encoding', '').lower():
        return
    raise TruncatedError('the connection ended inside the response headers (no Content-Length, no body)')


def _describe(exc):
    # urllib3's ProtocolError('Connection broken: ...', cause) prints as a tuple; its first argument says it all.
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + '...'


def _errors():
    return (requests.RequestException, Urllib3Error, OSError)


class Deadline:
    """The end of one transfer (all its attempts): ``seconds`` from now."""

    def __init__(self, seconds=TRANSFER_DEADLINE, clock=time.monotonic):
        self.seconds, self.clock = seconds, clock
        self.end = clock() + seconds

    def remaining(self):
        return self.end - self.clock()

    def check(self, url):
        if self.remaining() <= 0:
            raise DeadlineError('not complete within the transfer deadline of %s s (transfer_deadline): '
                                'the server at %s is too slow or stalled' % (self.seconds, url.split('/')[2]))

    def timeout(self, timeout):
        """``timeout`` (seconds or (connect, read)) shortened so that no wait outlasts the deadline."""
        left = max(self.remaining(), 0.05)
        if isinstance(timeout, (tuple, list)):
            return tuple(min(value, left) for value in timeout)
        return min(timeout, left)


@contextlib.contextmanager
def get(session, url, deadline, headers=None, timeout=(15, 120)):
    """A streamed GET response of ``url`` (redirects checked); any transport failure is an UpstreamError."""
    deadline.check(url)
    try:
        response = session.get(url, headers=headers or {}, stream=True, timeout=deadline.timeout(timeout))
    except _errors() as exc:
        raise as_upstream_error(exc, url) from None
    try:
        check_redirects(response, url)
        yield response
    finally:
        response.close()


def body(response, url, deadline, chunk=CHUNK, decode=False):
    """The body's bytes as they arrive (read1, so a dropped transfer keeps what came), within ``deadline``."""
    while True:
        deadline.check(url)
        try:
            data = response.raw.read1(chunk, decode_content=decode)
        except _errors() as exc:
            raise as_upstream_error(exc, url) from None
        if not data:
            return
        yield data


def retrying(action, url, deadline, retries=RETRIES, backoff=BACKOFF, sleep=time.sleep):
    """``action()``, repeated after a transient UpstreamError up to ``retries`` times with exponential backoff.

    The error that ends it carries ``attempts``. No attempt starts past ``deadline``.
    """
    attempt = 0
    while True:
        try:
            return action()
        except UpstreamError as exc:
            attempt += 1
            exc.attempts = attempt
            if not exc.transient or attempt > retries:
                raise
            wait = min(backoff * 2 ** (attempt - 1), 30)
            if deadline.remaining() <= wait:
                raise DeadlineError('%s; no time left for another attempt within the transfer deadline of %s s '
                                    '(transfer_deadline)' % (exc, deadline.seconds)) from None
            sleep(wait)
