"""Storage stays bounded: six months of daily builds of one release through the pure planner.

Each day a new build is uploaded as candidate and the plan (with a usage lookup, as the module
does) is applied to the in-memory Glance table of rotation_sim. Every build carries its release's
end-of-support date (``provided_until``), as image_sync sets it: that date promises the image
series, so it must not keep any old build. A few builds stay in use by servers and volumes.
"""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from rotation_sim import OWNER, PROVIDER, RELEASE, apply, image

NAME = 'Rocky Linux 9'
START = datetime.datetime(2026, 6, 1, 8, 0, tzinfo=datetime.timezone.utc)
DAYS = 180


def _usage(ids, users):
    return {'complete': True, 'reason': None,
            'images': {i: {'servers': [{'id': 's-' + i, 'name': 'vm', 'project_id': 'p', 'status': 'ACTIVE'}] if users.get(i) == 'server' else [],
                           'volumes': [{'id': 'v-' + i, 'project_id': 'p'}] if users.get(i) == 'volume' else []}
                       for i in ids}}


@pytest.mark.parametrize('keep, min_age_days', [(1, 0), (2, 0), (3, 7)])
def test_180_daily_builds_keep_only_keep_plus_in_use(keep, min_age_days):
    # demoted_grace_hours=0: the grace period is test_rotation_grace.py's.
    policy_args = dict(keep=keep, min_age_days=min_age_days, delete_unused=True, owners=[OWNER], demoted_grace_hours=0,
                       properties={'provided_until': '2032-05-31', 'uuid_validity': 'none'})
    table, users = [], {}
    for day in range(DAYS):
        now = START + datetime.timedelta(days=day)
        build = image(now.strftime('%Y-%m-%dT%H:%M:%SZ'), visibility='private', name=NAME + ' candidate',
                      provided_until='2032-05-31', image_id='build-%03d' % day)
        table.append(build)
        # Day 10 is booted by a server, day 50 backs a volume: both stay as long as they are used.
        if day in (10, 50):
            users[build['id']] = 'server' if day == 10 else 'volume'
        if day == 120:
            users.pop('build-010')  # the server was deleted: its image may go now
        pol = Policy(PROVIDER, RELEASE, NAME, candidate=build['id'], **policy_args)
        result = plan(table, pol, now)
        if result.usage_needed:
            result = plan(table, pol, now, _usage(result.usage_needed, users))
        table = apply(table, result.actions)
        assert not plan(table, Policy(PROVIDER, RELEASE, NAME, **policy_args), now,
                        _usage([i['id'] for i in table], users)).changed
        # Builds younger than min_age_days (ages 0 .. min_age_days - 1) stay too.
        assert len(table) <= max(keep, min_age_days) + len(users), (day, sorted(i['id'] for i in table))
    ids = sorted(i['id'] for i in table)
    newest = ['build-%03d' % d for d in range(DAYS - max(keep, min_age_days), DAYS)]
    assert ids == sorted(['build-050'] + newest)
    assert [i['name'] for i in table if i['id'] == 'build-%03d' % (DAYS - 1)] == [NAME + ' - Latest']
