"""Owners given as project names (image_sync_owners: [admin]) are resolved through the real Keystone,
or refused up front with a message that says what to give instead (issue 22)."""

from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import resolve_owners


def test_a_project_name_is_resolved_to_its_id(cloud):
    admin = cloud.connect('admin')
    ids = {project.name: project.id for project in admin.identity.projects()}
    assert resolve_owners(admin, ['admin', ids['demo']]) == tuple(sorted([ids['admin'], ids['demo']]))
    assert resolve_owners(admin, []) == (admin.current_project_id,)


def test_an_unknown_or_hidden_name_is_refused_clearly(cloud):
    with pytest.raises(ValueError, match=r"owners: 'no-such-project' is not a project id and Keystone knows no "
                                         r"project by that name; give project ids"):
        resolve_owners(cloud.connect('admin'), ['no-such-project'])
    # A member may not list projects: Keystone refuses, and the message says so.
    with pytest.raises(ValueError, match=r"owners: 'alt' is not a project id and Keystone did not resolve it as a "
                                         r"project name \(.*\); give project ids"):
        resolve_owners(cloud.connect('demo'), ['alt'])
