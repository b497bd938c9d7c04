"""Property-based checks of the planner over random groups (hypothesis)."""

from __future__ import annotations

import os

from hypothesis import given, settings, strategies as st

from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import Policy, plan
from rotation_sim import OWNERS, PROVIDER, RELEASE, apply, image

NAME = 'Debian 12'
NOW = '2026-11-30T12:00:00Z'
NAMES = [NAME + ' - Latest', NAME, NAME + ' - 2026-11-03', NAME + ' 20261103', 'candidate', 'other']


@st.composite
def groups(draw):
    images = []
    for index in range(draw(st.integers(0, 9))):
        kind = draw(st.sampled_from(['version', 'version', 'version', 'candidate', 'stale', 'foreign']))
        created = '2026-11-%02dT%02d:00:00Z' % (draw(st.integers(1, 30)), draw(st.integers(0, 11)))
        common = dict(created_at=created, name=draw(st.sampled_from(NAMES)), protected=draw(st.booleans()) and draw(st.booleans()),
                      image_id='i%02d' % index)
        if kind == 'version':
            images.append(image(visibility=draw(st.sampled_from(['public', 'community'])), os_hidden=draw(st.booleans()),
                                status=draw(st.sampled_from(['active', 'active', 'deactivated'])), **common))
        elif kind == 'candidate':
            images.append(image(visibility='private', **common))
        elif kind == 'stale':
            images.append(image(visibility='private', status=draw(st.sampled_from(['queued', 'saving', 'killed'])), **common))
        else:
            images.append(image(visibility='public', tags=(), release=None, **common))
    return images


@st.composite
def policies(draw, images):
    candidates = [i['id'] for i in images if i['visibility'] == 'private' and i['status'] == 'active' and not i['protected']]
    retired = draw(st.booleans()) and draw(st.booleans())
    return Policy(PROVIDER, RELEASE, NAME, owners=OWNERS, naming=draw(st.sampled_from(['latest_suffix', 'scs'])),
                  candidate=None if retired or not candidates else draw(st.sampled_from([None] + candidates)),
                  previous_visibility=draw(st.sampled_from(['community', 'hidden'])), keep=draw(st.integers(1, 4)),
                  min_age_days=draw(st.integers(0, 10)), delete_unused=draw(st.booleans()), deactivate_expired=draw(st.booleans()),
                  retired=retired, retired_state=draw(st.sampled_from(['community', 'hidden', 'delete_unused'])),
                  properties=draw(st.sampled_from([{}, {'os_purpose': 'generic'}, {'hw_disk_bus': 'scsi', 'x': None}])),
                  stale_after=3600)


def converge(images, pol, in_use):
    for _round in range(2):
        result = plan(images, pol, NOW)
        if result.usage_needed:
            usage = {'complete': True, 'reason': None, 'images': {
                i: {'servers': [{'id': 's', 'name': 's', 'project_id': 'p', 'status': 'ERROR'}] if i in in_use else [], 'volumes': []}
                for i in result.usage_needed}}
            result = plan(images, pol, NOW, usage)
        images = apply(images, result.actions)
    return images, result


@settings(max_examples=int(os.environ.get("ROTATION_EXAMPLES", "300")), deadline=None)
@given(data=st.data())
def test_random_groups(data):
    images = data.draw(groups())
    pol = data.draw(policies(images))
    usable = [i['id'] for i in images if i['status'] in ('active', 'deactivated')]  # a queued image has no data to boot
    in_use = set(data.draw(st.lists(st.sampled_from(usable), unique=True))) if usable else set()
    after, last = converge(images, pol, in_use)
    assert not last.changed, last.actions  # one run converges: the second plans nothing
    before = {i['id']: i for i in images}
    now = {i['id']: i for i in after}
    members = [i for i in after if i['tags'] and not i['protected']]
    # Protected, foreign and in-use images: never deleted; protected and foreign ones never changed.
    for image_id, img in before.items():
        if img['protected'] or not img['tags']:
            assert now[image_id] == img
        if image_id in in_use:
            assert image_id in now
    # Names are unique among the images rotation manages.
    versions = [i for i in members if i['visibility'] in ('public', 'community') and i['status'] in ('active', 'deactivated')]
    names = [i['name'] for i in versions]
    assert len(names) == len(set(names))
    latest_name = pol.naming.latest
    active = sorted((i for i in after if i['tags'] and i['visibility'] in ('public', 'community') and i['status'] == 'active'),
                    key=lambda i: (i['created_at'], i['id']), reverse=True)
    holders = [i for i in versions if i['name'] == latest_name]
    visible = [i for i in versions if i['visibility'] == 'public' and not i['os_hidden']]
    if pol.retired or not active:
        assert holders == [] and visible == []
    elif not active[0]['protected']:
        # Exactly one latest: the newest active version, public and listed.
        assert [i['id'] for i in holders] == [active[0]['id']]
        assert [i['id'] for i in visible] == [active[0]['id']]
