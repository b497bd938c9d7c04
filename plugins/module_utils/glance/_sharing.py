# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Glance image sharing: the owner adds and removes member projects, a member accepts or rejects.

Glance facts this relies on (checked against the local cloud):
- Only ``shared`` images have members; adding one to a ``private`` image is refused (403), and a
  ``public``/``community`` image refuses even the member list. A private image's old members
  come back when it is made shared again, so members are listed after the visibility change.
- Glance accepts any string as a member id, so a typo shares with nobody and says nothing. The
  project is therefore looked up in Keystone first, which ordinary users are usually forbidden
  to do (403 for existing and unknown projects alike): then names cannot be resolved at all, and
  ids cannot be verified.
"""

from __future__ import annotations

import re

SHAREABLE = ('private', 'shared')
MEMBER_STATUSES = ('accepted', 'rejected', 'pending')
_ID = re.compile(r'^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$')


class SharingError(Exception):
    """Bad input or a state the module refuses to act on; the message names the cause."""


_IMAGE_ID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')  # Glance's ids


def looks_like_id(ref):
    return bool(_ID.match(ref))


def plan_members(current, wanted, state, exclusive):
    """Member ids to add and to remove, both sorted.

    ``present`` adds the missing ones (and, with ``exclusive``, removes all others);
    ``absent`` removes those of ``wanted`` that are members.
    """
    current, wanted = set(current), set(wanted)
    if state == 'absent':
        return [], sorted(wanted & current)
    return sorted(wanted - current), sorted(current - wanted) if exclusive else []


def resolve_members(lookup, refs, check):
    """Turn project names or ids into ids; returns ``(ids, warnings)``.

    ``lookup(ref)`` returns ``('found', id)``, ``('missing', None)`` or ``('forbidden', None)``.
    ``check`` is ``auto`` (verify when Keystone allows, else warn), ``strict`` (fail when it
    cannot verify) or ``skip`` (take ids as given; names still need Keystone).
    """
    ids, warnings, unverified = [], [], []
    for ref in refs:
        if check == 'skip' and looks_like_id(ref):
            ids.append(ref)
            continue
        outcome, project_id = lookup(ref)
        if outcome == 'found':
            ids.append(project_id)
        elif outcome == 'missing':
            raise SharingError('project %r does not exist in Keystone (neither as an id nor as a name); '
                               'Glance would accept it and share the image with nobody' % ref)
        elif not looks_like_id(ref):
            raise SharingError('cannot resolve project name %r: Keystone does not let this user look up projects; '
                               'give the project id instead' % ref)
        elif check == 'strict':
            raise SharingError('cannot verify that project %r exists: Keystone does not let this user look up projects '
                               '(member_check=strict); use an admin cloud or member_check=auto' % ref)
        else:
            ids.append(ref)
            unverified.append(ref)
    if unverified:
        warnings.append('Keystone does not let this user look up projects, so these member ids were not verified '
                        '(Glance accepts any id): %s' % ', '.join(unverified))
    return sorted(set(ids)), warnings


def keystone_lookup(conn):
    """``lookup`` for resolve_members backed by Keystone: by id first, then by name."""
    from openstack import exceptions  # pylint: disable=import-outside-toplevel

    def lookup(ref):
        try:
            project = conn.identity.get_project(ref)
            return 'found', project.id
        except exceptions.ForbiddenException:
            return 'forbidden', None
        except exceptions.NotFoundException:
            pass
        try:
            found = list(conn.identity.projects(name=ref))
        except exceptions.ForbiddenException:
            return 'forbidden', None
        if len(found) > 1:
            raise SharingError('project name %r is ambiguous (%d projects in different domains); give the id'
                               % (ref, len(found)))
        return ('found', found[0].id) if found else ('missing', None)
    return lookup


def member_list(conn, image_id):
    return sorted(({'member_id': m.member_id, 'status': m.status} for m in conn.image.members(image_id)),
                  key=lambda m: m['member_id'])


def find_owned_image(conn, ref):
    """The image ``ref`` (id or name) owned by the caller's project."""
    image = conn.image.find_image(ref, ignore_missing=True)
    if image is None:
        raise SharingError('image %r not found (as an id or a name visible to this project)' % ref)
    owner = conn.current_project_id
    if image.owner != owner:
        raise SharingError('image %s is owned by project %s, not by this project (%s): only the owner manages members'
                           % (image.id, image.owner, owner))
    if image.visibility not in SHAREABLE:
        raise SharingError('image %s is %s: only private or shared images can have members'
                           % (image.id, image.visibility))
    return image


def share(conn, image_ref, refs, state, exclusive, check, check_mode):
    """Owner side. Returns the module result (without ``changed`` semantics beyond the plan)."""
    image = find_owned_image(conn, image_ref)
    wanted, warnings = resolve_members(keystone_lookup(conn), refs, check)
    if conn.current_project_id in wanted:
        raise SharingError('project %s owns image %s; an owner cannot be a member of its own image'
                           % (conn.current_project_id, image.id))
    before = {'visibility': image.visibility,
              'members': member_list(conn, image.id) if image.visibility == 'shared' else []}
    add, remove = plan_members([m['member_id'] for m in before['members']], wanted, state, exclusive)
    make_shared = image.visibility == 'private' and bool(add)
    if check_mode:
        kept = [m for m in before['members'] if m['member_id'] not in remove]
        members = kept + [{'member_id': m, 'status': 'pending'} for m in add]
        after = {'visibility': 'shared' if make_shared else image.visibility,
                 'members': sorted(members, key=lambda m: m['member_id'])}
    else:
        if make_shared:
            conn.image.update_image(image.id, visibility='shared')
            # Members hidden while private reappear now; plan again against them.
            add, remove = plan_members([m['member_id'] for m in member_list(conn, image.id)], wanted, state, exclusive)
        for member_id in add:
            conn.image.add_member(image.id, member=member_id)
        for member_id in remove:
            conn.image.remove_member(member_id, image.id, ignore_missing=True)
        visibility = 'shared' if make_shared else image.visibility
        after = {'visibility': visibility, 'members': member_list(conn, image.id) if visibility == 'shared' else []}
    return dict(changed=bool(add or remove or make_shared),
                image={'id': image.id, 'name': image.name, 'visibility': after['visibility'], 'owner': image.owner},
                members=after['members'], added=add, removed=remove, warnings=warnings,
                diff={'before': before, 'after': after})


def set_member_status(conn, image_ref, status, check_mode, owner=None):
    """Member side: the caller's project accepts, rejects or resets a shared image.

    ``owner``: the project id that must own the image; needed for an image given by name, since any
    project can name an image so and share it.
    """
    from openstack import exceptions  # pylint: disable=import-outside-toplevel
    project_id = conn.current_project_id
    image = None
    try:
        image = conn.image.get_image(image_ref)
    except exceptions.NotFoundException:
        if _IMAGE_ID.match(image_ref):
            raise SharingError('image %r not found: it does not exist or is not shared with project %s'
                               % (image_ref, project_id)) from None
        if not owner:
            raise SharingError('image %r is not an image id: a name needs owner (the project id that owns the image), '
                               'since any project can share an image of that name' % image_ref) from None
        # A pending image is not in the default list; look it up by name among all shared ones.
        found = list(conn.image.images(name=image_ref, visibility='shared', member_status='all', owner=owner))
        if len(found) > 1:
            raise SharingError('%d shared images of project %s are named %r; give the image id'
                               % (len(found), owner, image_ref))
        image = found[0] if found else None
    if image is None:
        raise SharingError('image %r not found: it does not exist or is not shared with project %s%s'
                           % (image_ref, project_id, ' by project %s' % owner if owner else ''))
    if owner and image.owner != owner:
        raise SharingError('image %s is owned by project %s, not by %s (owner): not accepted'
                           % (image.id, image.owner, owner))
    if image.owner == project_id:
        raise SharingError('project %s owns image %s: member_status is set by a member project, not the owner'
                           % (project_id, image.id))
    try:
        member = conn.image.get_member(project_id, image.id)
    except (exceptions.NotFoundException, exceptions.ForbiddenException):
        raise SharingError('project %s is not a member of image %s (visibility %s): the owner must share it first'
                           % (project_id, image.id, image.visibility)) from None
    before = member.status
    if before != status and not check_mode:
        conn.image.update_member(project_id, image.id, status=status)
    return dict(changed=before != status, image={'id': image.id, 'name': image.name, 'visibility': image.visibility,
                                                 'owner': image.owner},
                member={'member_id': project_id, 'status': status}, warnings=[],
                diff={'before': {'status': before}, 'after': {'status': status}})
