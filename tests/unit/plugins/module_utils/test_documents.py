"""Documents: each upstream entry document once per run (a status check over many releases).

The reader stands in for discovery's Context (only its URL rewriting, scheme check and GET are used);
the answers are those of a server honouring If-None-Match.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, Response)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import Documents

URL = 'https://cloud-images.ubuntu.com/releases/streams/v1/com.ubuntu.cloud:released:download.json'


class Reader:
    """A Context: the server holds ``etag`` and ``body``; every GET is recorded."""

    def __init__(self, etag='"v2"', body=b'{"products": {}}', https_only=False):
        self.etag, self.body, self.https_only, self.asked = etag, body, https_only, []

    def url(self, canonical):
        return canonical.replace('https://', 'http://127.0.0.1:8080/')

    def check_scheme(self, url):
        if self.https_only and not url.startswith('https://'):
            raise DiscoveryError('%s: not https' % url)

    def get(self, canonical, validators=None, what='document'):
        self.asked.append((canonical, (validators or {}).get('etag')))
        if validators and validators.get('etag') == self.etag:
            return Response(self.url(canonical), 304, etag=self.etag, last_modified='Mon, 07 Dec 2026 06:00:00 GMT')
        return Response(self.url(canonical), 200, self.body, self.etag, 'Mon, 07 Dec 2026 06:00:00 GMT')


def validators(etag):
    return {'etag': etag, 'last_modified': 'Mon, 07 Dec 2026 06:00:00 GMT'}


def test_a_day_without_news_asks_once_for_the_catalog_and_every_release():
    reader, documents = Reader(), Documents()
    # Ubuntu 24.04, 22.04 and the vendor's list: three readers of one document, each remembering "v2".
    answers = [documents.get(reader, URL, validators('"v2"')) for _reader in range(3)]
    assert [answer.status for answer in answers] == [304, 304, 304]
    assert reader.asked == [(URL, '"v2"')]


def test_new_builds_the_body_is_read_once_and_given_to_every_reader():
    reader, documents = Reader(), Documents()
    first = documents.get(reader, URL, validators('"v1"'))
    assert (first.status, first.body) == (200, reader.body)
    # A reader that remembers the old version, one that remembers nothing, one already current.
    again = [documents.get(reader, URL, v) for v in (validators('"v1"'), None, validators('"v2"'))]
    assert [(answer.status, answer.body) for answer in again] == [(200, reader.body), (200, reader.body), (304, b'')]
    assert reader.asked == [(URL, '"v1"')]


def test_a_reader_with_older_validators_than_a_304_proved_asks_the_server():
    reader, documents = Reader(), Documents()
    assert documents.get(reader, URL, validators('"v2"')).status == 304
    # The 304 gave no body: a release remembered under "v1" needs the document itself.
    stale = documents.get(reader, URL, validators('"v1"'))
    assert (stale.status, stale.body) == (200, reader.body)
    assert documents.get(reader, URL, None).body == reader.body
    assert reader.asked == [(URL, '"v2"'), (URL, '"v1"')]


def test_no_validators_from_the_server_still_one_request():
    """A directory listing without ETag or Last-Modified: not conditional, but read once per run."""
    reader, documents = Reader(etag=None, body=b'<a href="10/">10/</a>'), Documents()
    assert documents.get(reader, URL).body == documents.get(reader, URL).body == reader.body
    assert reader.asked == [(URL, None)]


def test_each_reader_checks_the_transport_it_requires():
    """A document read for a signed source is not handed to an unsigned one over plain http."""
    documents = Documents()
    documents.get(Reader(), URL, None)
    with pytest.raises(DiscoveryError, match='not https'):
        documents.get(Reader(https_only=True), URL, None)


def test_threads_sharing_a_runs_documents_ask_each_url_once():
    """The clouds' threads share one Documents: the readers of one URL wait for its one request."""
    reader, documents = Reader(), Documents()
    get = reader.get

    def slow_get(canonical, validators=None, what='document'):
        time.sleep(0.2)  # the request is in flight while the other readers come
        return get(canonical, validators, what)
    reader.get = slow_get
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _reader: documents.get(reader, URL), range(4)))
    assert [answer.status for answer in answers] == [200] * 4
    assert reader.asked == [(URL, None)]
