"""The one retry policy and deadline of upstream transfers (_http), without a network."""

from __future__ import annotations

import pytest
import requests
import urllib3

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    Deadline, DeadlineError, TruncatedError, UpstreamError, as_upstream_error, attempts, make_session, requests_sent,
    retrying)
from fake_clock import Clock

URL = 'https://example.org/SHA256SUMS'


def test_transient_errors_are_retried_with_backoff_then_reported_with_the_count():
    clock, calls = Clock(), []

    def action():
        calls.append(clock.now)
        raise TruncatedError('short read')

    with pytest.raises(UpstreamError, match='short read') as caught:
        retrying(action, URL, Deadline(100, clock), retries=3, backoff=1, sleep=clock.sleep)
    assert calls == [0, 1, 3, 7] and caught.value.attempts == 4


def test_a_permanent_error_is_not_retried():
    calls = []

    def action():
        calls.append(1)
        raise UpstreamError('redirected to http://x, which changes the scheme')

    with pytest.raises(UpstreamError, match='changes the scheme'):
        retrying(action, URL, Deadline(100), retries=5, backoff=0)
    assert calls == [1]


def test_success_after_a_drop():
    answers = iter([TruncatedError('dropped'), 'body'])

    def action():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert retrying(action, URL, Deadline(100), retries=1, backoff=0) == 'body'


def test_no_retry_starts_past_the_deadline():
    clock = Clock()

    def action():
        clock.now += 8  # a slow attempt
        raise TruncatedError('dropped')

    with pytest.raises(DeadlineError, match=r'dropped; no time left for another attempt within the transfer deadline of 10 s'):
        retrying(action, URL, Deadline(10, clock), retries=5, backoff=4, sleep=clock.sleep)


def test_deadline_check_and_shortened_timeouts():
    clock = Clock()
    deadline = Deadline(30, clock)
    assert deadline.timeout((15, 120)) == (15, 30) and deadline.timeout(60) == 30
    clock.now = 31
    with pytest.raises(DeadlineError, match=r'transfer deadline of 30 s \(transfer_deadline\): the server at example\.org'):
        deadline.check(URL)


@pytest.mark.parametrize('exc, transient, message', [
    (requests.TooManyRedirects('Exceeded 30 redirects.'), False, 'too many redirects (a redirect loop?) from ' + URL),
    (requests.ConnectionError('refused'), True, 'refused'),
    (requests.exceptions.ChunkedEncodingError(urllib3.exceptions.ProtocolError('Connection broken: IncompleteRead(1)', None)),
     True, None),
    (urllib3.exceptions.ProtocolError('Connection broken: IncompleteRead(100 bytes read)', None), True,
     'Connection broken: IncompleteRead(100 bytes read)'),
    (requests.exceptions.InvalidURL('bad'), False, 'bad'),
    (ConnectionResetError(104, 'Connection reset by peer'), True, None),
])
def test_every_transport_exception_becomes_one_upstream_error(exc, transient, message):
    error = as_upstream_error(exc, URL)
    assert isinstance(error, UpstreamError) and error.transient is transient
    if message:
        assert str(error) == message


def test_session_carries_the_retry_policy():
    session = make_session(retries=2, backoff=0.1)
    retry = session.get_adapter('https://x').max_retries
    assert (session.retries, session.backoff, retry.total, retry.backoff_factor) == (2, 0.1, 2, 0.1)


def test_attempts_are_counted_in_english():
    assert (attempts(1), attempts(2)) == ('1 attempt', '2 attempts')


def test_a_session_made_here_counts_what_it_sends():
    """The count itself is checked against the mirror's request log (test_upstream_release)."""
    assert requests_sent(make_session()) == 0 and requests_sent(requests.Session()) is None
