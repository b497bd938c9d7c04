from __future__ import annotations

import pytest

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._sharing import (
    SharingError, looks_like_id, plan_members, resolve_members)

ALT = 'dbfffb381f954f6f9b4d380e052ef513'
GHOST = '0' * 32


def keystone(known, forbidden=False):
    """A lookup as keystone_lookup returns it: ids and names of ``known`` (name -> id)."""
    def lookup(ref):
        if forbidden:
            return 'forbidden', None
        if ref in known.values():
            return 'found', ref
        return ('found', known[ref]) if ref in known else ('missing', None)
    return lookup


def test_present_adds_missing_only_unless_exclusive():
    assert plan_members(['a', 'b'], ['b', 'c'], 'present', False) == (['c'], [])
    assert plan_members(['a', 'b'], ['b', 'c'], 'present', True) == (['c'], ['a'])
    assert plan_members(['a'], [], 'present', True) == ([], ['a'])
    assert plan_members(['a', 'b'], ['a', 'b'], 'present', True) == ([], [])


def test_absent_removes_only_current_members():
    assert plan_members(['a', 'b'], ['b', 'z'], 'absent', False) == ([], ['b'])


def test_ids_and_uuids_are_recognised():
    assert looks_like_id(ALT)
    assert looks_like_id('5b0b7c36-0e7f-4dc7-9b1c-0a6c1c5f3f0e')
    assert not looks_like_id('alt')


def test_names_resolve_and_duplicates_collapse():
    ids, warnings = resolve_members(keystone({'alt': ALT}), ['alt', ALT], 'auto')
    assert (ids, warnings) == ([ALT], [])


def test_unknown_project_is_an_error():
    with pytest.raises(SharingError, match='does not exist in Keystone'):
        resolve_members(keystone({'alt': ALT}), [GHOST], 'auto')


def test_forbidden_lookup_warns_for_ids_and_fails_for_names():
    ids, warnings = resolve_members(keystone({}, forbidden=True), [ALT], 'auto')
    assert ids == [ALT] and 'not verified' in warnings[0] and ALT in warnings[0]
    with pytest.raises(SharingError, match='give the project id'):
        resolve_members(keystone({}, forbidden=True), ['alt'], 'auto')
    with pytest.raises(SharingError, match='member_check=strict'):
        resolve_members(keystone({}, forbidden=True), [ALT], 'strict')


def test_skip_does_not_look_ids_up():
    def refuse(ref):
        raise AssertionError('looked up %s' % ref)
    assert resolve_members(refuse, [GHOST], 'skip') == ([GHOST], [])
