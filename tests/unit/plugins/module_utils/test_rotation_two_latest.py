"""Two runs, each with its own new candidate, planning in the same gap: two Latest, settled at once.

The planner's part on the in-memory table (rotation_sim); settle_latest with Glance's PATCH and the
listing stood in for (no cloud in unit tests). tests/integration/test_promotion.py does it on a real Glance.
"""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate import _rotation_apply
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import (
    Policy, latest_clash, plan)
from rotation_sim import OWNERS, PROVIDER, RELEASE, apply, by_name, image

NAME = 'Debian 13'
LATEST = NAME + ' - Latest'
NOW = '2026-11-30T12:00:00Z'


def policy(**kwargs):
    return Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, demoted_grace_hours=0, **kwargs)


def raced(**kwargs):
    """The catalog after runs A and B planned on the same state and applied one after the other."""
    old = image('2026-11-22T08:00:00Z', name=LATEST)
    a = image('2026-11-23T08:00:00Z', visibility='private', name='candidate a')
    b = image('2026-11-23T09:00:00Z', visibility='private', name='candidate b')
    start = [old, a, b]
    one, two = (plan(start, policy(candidate=c['id'], **kwargs), NOW) for c in (a, b))
    return apply(apply(start, one.actions), two.actions), old, a, b


def settle(images, **kwargs):
    return plan(images, policy(**kwargs), NOW)


def test_two_runs_planning_in_the_same_gap_make_two_latest_which_the_check_finds():
    end, _old, a, b = raced()
    assert [i['id'] for i in end if i['name'] == LATEST] == [a['id'], b['id']]
    assert [i['id'] for i in latest_clash(end, policy())] == [a['id'], b['id']]  # oldest first, whatever the order
    assert [i['id'] for i in latest_clash(end[::-1], policy())] == [a['id'], b['id']]


@pytest.mark.parametrize('previous_visibility', ['community', 'public'])
def test_both_runs_settle_on_the_newest_and_demote_the_other_as_a_previous_version(previous_visibility):
    end, old, a, b = raced(previous_visibility=previous_visibility)
    # Each run lists the group in its own order: the same plan.
    first = settle(end, previous_visibility=previous_visibility)
    second = settle(end[::-1], previous_visibility=previous_visibility)
    assert first.actions == second.actions and first.latest == b['id']
    assert [(x['action'], x['id']) for x in first.actions if x['action'] != 'keep'] == [('demote', a['id'])]
    # Both apply it (the second one's PATCH finds nothing left to do): one Latest, then nothing to change.
    done = apply(apply(end, first.actions), second.actions)
    names = by_name(done)
    assert names[LATEST]['id'] == b['id'] and not latest_clash(done, policy())
    assert names[NAME + ' - 2026-11-23']['id'] == a['id']
    assert names[NAME + ' - 2026-11-23']['visibility'] == ('public' if previous_visibility == 'public' else 'community')
    assert names[NAME + ' - 2026-11-22']['id'] == old['id']
    assert not settle(done, previous_visibility=previous_visibility).changed
    assert not plan(done, policy(candidate=a['id'], previous_visibility=previous_visibility), NOW).changed


def test_a_demoted_loser_in_use_is_kept_not_deleted():
    end, _old, a, b = raced(keep=1, delete_unused=True)
    first = settle(end, keep=1, delete_unused=True)
    assert a['id'] in first.usage_needed
    server = {'id': 'srv', 'project_id': 'p', 'status': 'ACTIVE'}
    usage = {'complete': True, 'reason': None,
             'images': {i: {'servers': [server], 'volumes': []} for i in first.usage_needed}}
    again = plan(end, policy(keep=1, delete_unused=True), NOW, usage)
    assert not [x for x in again.actions if x['action'] == 'delete']
    assert again.latest == b['id'] and ('demote', a['id']) in [(x['action'], x['id']) for x in again.actions]


def test_a_foreign_or_hidden_image_with_the_latest_name_is_no_clash():
    ours = image('2026-11-23T08:00:00Z', name=LATEST)
    foreign = image('2026-11-24T08:00:00Z', name=LATEST, owner='someone-else')
    hidden = image('2026-11-21T08:00:00Z', name=LATEST, os_hidden=True)
    assert latest_clash([ours, foreign, hidden], policy()) == []


def test_settle_latest_lists_again_and_demotes_only_on_a_clash(monkeypatch):
    end, _old, a, b = raced()
    table = {i['id']: i for i in end}
    listed = []

    def list_group(_conn, provider, release_key, owners, extra_ids=()):
        listed.append((provider, release_key, owners))
        return list(table.values())

    def patch(_client, image_id, ops):
        table[image_id] = apply([table[image_id]], [{'action': 'x', 'id': image_id, 'patch': ops}])[0]
    monkeypatch.setattr(_rotation_apply, 'list_group', list_group)
    monkeypatch.setattr(Glance, 'patch', patch)
    result, outcomes = _rotation_apply.settle_latest(None, policy(candidate=a['id']), NOW)
    assert listed == [(PROVIDER, RELEASE, OWNERS)]  # owner-scoped, the candidate no longer special
    assert result.latest == b['id'] and outcomes[0] == 'done' and result.actions[0]['id'] == a['id']
    assert [i['id'] for i in table.values() if i['name'] == LATEST] == [b['id']]
    assert _rotation_apply.settle_latest(None, policy(candidate=b['id']), NOW) is None
