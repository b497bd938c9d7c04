# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""A requests session for upstream mirrors, with urllib3's retry and backoff.

urllib3 retries connection errors and the listed statuses before any body is read;
a transfer that breaks mid-body is resumed by the fetcher with a Range request.
"""

from __future__ import annotations

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


class UpstreamError(Exception):
    """An upstream request failed in a way retries did not cure."""


class TruncatedError(Exception):
    """The body ended before Content-Length bytes arrived."""


def transient_errors():
    """Exceptions after which a transfer is worth resuming: dropped, reset, stalled or short reads."""
    return (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError, Urllib3Error, TruncatedError)


def make_session(retries=5, backoff=0.5):
    """A session that retries idempotent requests with exponential backoff and honours Retry-After."""
    retry = Retry(
        total=retries, connect=retries, read=retries, status=retries, other=0,
        backoff_factor=backoff, backoff_max=30,
        status_forcelist=RETRY_STATUSES, allowed_methods=frozenset(['GET', 'HEAD']),
        respect_retry_after_header=True, raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount('http://', adapter)
    session.mount('https://', adapter)
    session.headers['User-Agent'] = USER_AGENT
    # Checked before each redirect is followed: an https->http hop must not even be requested,
    # and an http->https or ->ftp hop would otherwise end in a TLS or adapter error, not this one.
    session.hooks['response'].append(_refuse_scheme_change)
    return session


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
