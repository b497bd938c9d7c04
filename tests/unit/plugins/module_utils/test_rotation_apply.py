from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils._rotation_apply import _refit


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
