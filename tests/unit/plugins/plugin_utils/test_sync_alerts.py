"""The metrics of the morning view against Prometheus's own promtool, with the documented alert rules.

promtool is the Debian package prometheus (tools/bootstrap.sh installs it): ``check metrics``
parses and lints the textfile, ``test rules`` evaluates the rules of docs/operations.md on its
series as a Prometheus server would.
"""

from __future__ import annotations

import datetime
import shutil

import pytest

from ansible_collections.cloudimages.openstack.plugins.plugin_utils._sync_report import build_report, render_metrics
from promtool_check import check_metrics, rules_fire, samples

pytestmark = pytest.mark.skipif(not shutil.which('promtool'), reason='needs promtool (Debian package prometheus)')

NOW = datetime.datetime(2026, 12, 7, 5, 0, tzinfo=datetime.timezone.utc)


def _day(days):
    return (NOW + datetime.timedelta(days=days)).strftime('%Y-%m-%dT%H:%M:%SZ')


def _release(key, name, eos, latest_days, build_days, failed=None, retired=False):
    job = {'rotate': {'release_key': key, 'name': name, 'retired': retired}, 'end_of_support': eos}
    status = {'key': key, 'settled': not failed, 'error': None, 'retired': retired,
              'release': None if retired else {'version': 'b%d' % build_days, 'build_date': _day(-build_days)[:10]},
              'existing': None if failed or retired else {'created_at': _day(-latest_days)},
              'latest_since': None if retired else _day(-latest_days)}
    result = {'release': name, 'key': key, 'failed': failed, 'changes': []} if failed else None
    return job, status, result


def report():
    """Ubuntu ends in 400 days, Debian 12 in 20; CirrOS fails today with a Latest 10 days older than upstream."""
    rows = [_release('ubuntu-24.04', 'Ubuntu 24.04', _day(400)[:10], 1, 1),
            _release('debian-12', 'Debian 12', _day(20)[:10], 2, 2),
            _release('cirros-0.6', 'CirrOS 0.6', 'none', 11, 1, failed='Upload as a private candidate | HTTP 500'),
            _release('debian-11', 'Debian 11', _day(-93)[:10], 0, 0, retired=True)]
    return build_report('prod1', [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows if r[2]], NOW)


def labels(key, name):
    return {'cloud': 'prod1', 'release': key, 'name': name, 'architecture': 'x86_64'}


def test_metrics_pass_promtool_and_are_in_seconds():
    text = render_metrics(report())
    check_metrics(text)
    values = {(name, found['release']): value for name, found, value in samples(text) if 'release' in found}
    assert values['cloudimages_end_of_support_seconds', 'ubuntu-24.04'] == 400 * 86400.0
    assert values['cloudimages_end_of_support_seconds', 'debian-11'] == -93 * 86400.0
    # The failed release's Latest is still published: its age is still measured.
    assert values['cloudimages_latest_age_seconds', 'cirros-0.6'] == 11 * 86400.0


def test_documented_alerts_fire_for_what_they_say_and_nothing_else():
    rules_fire(render_metrics(report()), {
        'CloudImageEndOfSupportSoon': [labels('debian-12', 'Debian 12')],  # 20 days: yes; 400 days, ended: no
        'CloudImageBehindUpstream': [labels('cirros-0.6', 'CirrOS 0.6')],  # failing, 10 days behind the vendor
        'CloudImageSyncStale': []})
    # A day and a half without a run: the run is stale.
    rules_fire(render_metrics(report()), {'CloudImageSyncStale': [{'cloud': 'prod1'}]}, at='37h')


def test_a_wrong_expectation_fails():
    """The check itself can fail: claiming Ubuntu's 400 days alert is refused by promtool."""
    with pytest.raises(AssertionError, match='CloudImageEndOfSupportSoon'):
        rules_fire(render_metrics(report()), {'CloudImageEndOfSupportSoon': [labels('ubuntu-24.04', 'Ubuntu 24.04')]})
