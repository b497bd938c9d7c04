# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Which of two builds of one release is older: the one comparison of the rollback guard.

A build is ``(version, build_date)``: discovery's ``release`` dict, or an image's
``cloudimages_build`` and ``image_build_date``. Unsigned indexes choose the build and old signed
checksum files stay valid, so a replayed index must never move a release back.

Every upstream family numbers its builds with integers joined by ``.`` and ``-`` that only grow
within a release: Ubuntu ``20261116.1``, Debian ``20261116-2310``, Rocky ``9.5-20241118.0``,
AlmaLinux ``9.5-20241120``, Fedora ``42-1.1``, FCOS ``44.20261116.3.0``, Flatcar ``4081.2.0``,
CirrOS ``0.6.3``. When both versions are such numbers they decide. The build date only breaks
ties: for Flatcar, Fedora Cloud and CirrOS it is the HTTP Last-Modified of an unsigned document,
which a mirror sets at will, so dates first would let a replayed ``version.txt`` with a fresh date
through. Free-text versions (provider builds: git ids, names) have no order: dates alone decide.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._scs import build_datetime

NUMERIC = re.compile(r'[0-9]+(?:[.-][0-9]+)*')


def _numbers(version):
    text = str(version or '')
    return tuple(int(part) for part in re.split(r'[.-]', text)) if NUMERIC.fullmatch(text) else None


def _day(value):
    when = build_datetime(str(value)) if value else None
    return when.date() if when else None


def compare(version, build_date, other_version, other_build_date):
    """-1 when the first build is older than the other, 1 when newer, 0 when equal or unknown."""
    mine, theirs = _numbers(version), _numbers(other_version)
    if mine is not None and theirs is not None and mine != theirs:
        return -1 if mine < theirs else 1
    day, other_day = _day(build_date), _day(other_build_date)
    if day and other_day and day != other_day:
        return -1 if day < other_day else 1
    return 0


def release_older(release, than):
    """``release`` (a discovered release dict) is older than ``than`` (another one)."""
    return compare(release.get('version'), release.get('build_date'), than.get('version'), than.get('build_date')) < 0


def image_build(image):
    """``(version, build_date)`` of a managed image (flattened, see _image_query.flatten)."""
    props = image.get('properties') or {}
    return props.get(_managed.BUILD), props.get('image_build_date')


def describe(version, build_date):
    return '%s (%s)' % (version, build_date) if build_date else str(version)


# An operator's acceptance of one vendor withdrawal (``accept_withdrawal`` of a release: upstream
# discovery's and the rotation policy's option). Pinned to both builds: it lets the release go
# back from ``withdrawn`` to ``back_to`` and to nothing else, so it cannot accept a later rollback.
WITHDRAWAL_SPEC = dict(type='dict', options=dict(withdrawn=dict(type='str', required=True),
                                                 back_to=dict(type='str', required=True)))


def check_withdrawal(value):
    """``{'withdrawn', 'back_to'}`` (strings) or None; ValueError naming the option."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(str(value.get(key) or '').strip() for key in ('withdrawn', 'back_to')):
        raise ValueError('accept_withdrawal must be {withdrawn: <build>, back_to: <build>}, not %r' % (value,))
    found = {key: str(value[key]).strip() for key in ('withdrawn', 'back_to')}
    if found['withdrawn'] == found['back_to'] or compare(found['back_to'], None, found['withdrawn'], None) > 0:
        raise ValueError('accept_withdrawal: back_to %s must be an older build than withdrawn %s'
                         % (found['back_to'], found['withdrawn']))
    return found


def withdrawal_accepts(withdrawal, newer, older):
    """The operator accepted going back from build version ``newer`` to ``older`` (exactly these two)."""
    return bool(withdrawal) and str(newer) == withdrawal['withdrawn'] and str(older) == withdrawal['back_to']
