from __future__ import annotations

import os
import signal

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance, GlanceError
from ansible_collections.cloudimages.openstack.plugins.module_utils._process import Cancelled, Guard
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation_apply import _refit, execute
from rotation_sim import OWNERS, PROVIDER, RELEASE, apply, image


def test_refit_keeps_only_what_is_still_needed():
    ops = [{'op': 'replace', 'path': '/name', 'value': 'D - Latest'},
           {'op': 'replace', 'path': '/visibility', 'value': 'public'},
           {'op': 'replace', 'path': '/os_hidden', 'value': False},
           {'op': 'remove', 'path': '/gone'},
           {'op': 'remove', 'path': '/still~1here'},
           {'op': 'replace', 'path': '/vanished', 'value': 'x'},
           {'op': 'add', 'path': '/done', 'value': 'True'}]
    image = {'name': 'D - Latest', 'visibility': 'private', 'os_hidden': None,
             'properties': {'still/here': '1', 'done': True}}
    # Another run renamed it and removed "gone" and "vanished" meanwhile.
    assert _refit(ops, image) == [{'op': 'replace', 'path': '/visibility', 'value': 'public'},
                                  {'op': 'remove', 'path': '/still~1here'},
                                  {'op': 'add', 'path': '/vanished', 'value': 'x'}]


def test_refit_of_a_finished_patch_is_empty():
    ops = [{'op': 'replace', 'path': '/name', 'value': 'x'}, {'op': 'add', 'path': '/a', 'value': '1'}]
    assert _refit(ops, {'name': 'x', 'properties': {'a': '1'}}) == []


class _Glance:
    """Stands in for Glance's PATCH (no cloud in unit tests): applies JSON patches to a table,
    fails the PATCH of ``fail`` with ``error``; tests/integration/test_promotion.py does it for real."""

    def __init__(self, images, fail=None, error=None):
        self.table, self.fail, self.error, self.calls = {i['id']: i for i in images}, fail, error, []

    def patch(self, image_id, ops):
        self.calls.append(image_id)
        if image_id == self.fail:
            raise self.error
        self.table[image_id] = apply([self.table[image_id]], [{'action': 'x', 'id': image_id, 'patch': ops}])[0]


def _promotion():
    old = image('2026-11-22T08:00:00Z', name='D - Latest')
    cand = image('2026-11-23T08:00:00Z', visibility='private', name='candidate')
    pol = Policy(PROVIDER, RELEASE, 'D', candidate=cand['id'], owners=OWNERS)
    return old, cand, plan([old, cand], pol, '2026-11-30T12:00:00Z').actions


@pytest.mark.parametrize('error, outcome', [
    (GlanceError('HTTP 403 Forbidden', 403), None),
    (GlanceError('HTTP 404 Not Found', 404), 'gone'),
])
def test_a_failed_promotion_undoes_the_demotion_before_it(monkeypatch, error, outcome):
    old, cand, actions = _promotion()
    glance = _Glance([old, cand], fail=cand['id'], error=error)
    monkeypatch.setattr(Glance, 'patch', lambda _client, image_id, ops: glance.patch(image_id, ops))
    if outcome is None:
        with pytest.raises(GlanceError, match='403'):
            execute(None, actions)
    else:
        assert execute(None, actions)[:2] == ['undone: the candidate to promote is gone', 'gone']
    assert glance.calls == [old['id'], cand['id'], old['id']]
    assert glance.table[old['id']] == old  # the latest again, as it was


def test_a_signal_between_demotion_and_promotion_waits_for_the_promotion(monkeypatch):
    old, cand, actions = _promotion()
    glance = _Glance([old, cand])

    def patch_then_signal(_client, image_id, ops):
        glance.patch(image_id, ops)
        if image_id == old['id']:
            os.kill(os.getpid(), signal.SIGTERM)  # AWX cancels the job right after the demotion

    monkeypatch.setattr(Glance, 'patch', patch_then_signal)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        guard = Guard().install(watch=False)
        with pytest.raises(Cancelled, match='SIGTERM'):
            execute(None, actions, guard=guard)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert glance.calls == [old['id'], cand['id']]
    assert glance.table[cand['id']]['name'] == 'D - Latest' and glance.table[old['id']]['name'] != 'D - Latest'
