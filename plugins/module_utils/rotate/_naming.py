# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Names of the images of one release group, from a naming profile (two templates).

The newest image carries the ``latest`` name (stable: users pin it to follow updates);
every older one the ``dated`` name. Its date is the image's first upload (Glance ``created_at``,
which never changes) in ``latest_suffix``, as in the seed pages, and the build date
(``image_build_date``) in ``scs``, as SCS-0102 asks. Placeholders: ``{name}`` (the base name),
``{date}`` (YYYY-MM-DD), ``{date_compact}`` (YYYYMMDD), ``{build}`` (cloudimages_build).
A replaced generic image must not stay ``os_purpose=generic`` in any profile (SCS uniqueness
check: one public generic image per distro, version and architecture): it becomes ``oldgeneric``.
"""

from __future__ import annotations

import re
import string

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._scs import build_datetime
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import parse_time

PROFILES = {
    # The seed pages: "Ubuntu 24.04 Noble Numbat - Latest", older "… - 2026-11-16" (first upload).
    'latest_suffix': {'latest': '{name} - Latest', 'dated': '{name} - {date}', 'date_from': 'created_at'},
    # SCS (scs-0102): newest plain "Ubuntu 24.04", older "Ubuntu 24.04 20261116" (build date).
    'scs': {'latest': '{name}', 'dated': '{name} {date_compact}', 'date_from': 'image_build_date'},
}
OLD_PROPERTIES = {'os_purpose': ('generic', 'oldgeneric')}
PLACEHOLDERS = frozenset(('name', 'date', 'date_compact', 'build'))
_DISTINGUISHING = frozenset(('date', 'date_compact', 'build'))
# Glance limits names to 255 characters.
MAX_NAME = 255
_SUFFIX = re.compile(r'^(?P<base>.*) \((?P<n>[0-9]+)\)$')


class NamingError(ValueError):
    pass


def _fields(template):
    try:
        return {field for _text, field, _spec, _conv in string.Formatter().parse(template) if field is not None}
    except ValueError as exc:
        raise NamingError('template %r is not valid: %s' % (template, exc)) from None


class Naming:
    """A validated pair of templates plus the properties older images get (e.g. SCS oldgeneric)."""

    def __init__(self, name, profile='latest_suffix', templates=None):
        if profile not in PROFILES:
            raise NamingError('naming must be one of %s, not %r' % (', '.join(sorted(PROFILES)), profile))
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise NamingError('name must be a non-empty base name without leading or trailing spaces, not %r' % (name,))
        chosen = dict(PROFILES[profile])
        unknown = sorted(set(templates or {}) - {'latest', 'dated'})
        if unknown:
            raise NamingError('name_templates takes the keys latest and dated, not %s' % ', '.join(unknown))
        chosen.update({key: value for key, value in (templates or {}).items() if value is not None})
        self.name = name
        self.latest_template, self.dated_template = chosen['latest'], chosen['dated']
        self.old_properties = OLD_PROPERTIES
        self.date_from = chosen['date_from']
        for key in ('latest', 'dated'):
            template = chosen[key]
            if not isinstance(template, str) or not template.strip():
                raise NamingError('the %s name template must be a non-empty string' % key)
            fields = _fields(template)
            if fields - PLACEHOLDERS:
                raise NamingError('the %s name template %r uses unknown placeholders %s; known: %s' % (
                    key, template, ', '.join(sorted(fields - PLACEHOLDERS)), ', '.join(sorted(PLACEHOLDERS))))
            if 'name' not in fields:
                raise NamingError('the %s name template %r must contain {name}' % (key, template))
        if _fields(self.latest_template) & _DISTINGUISHING:
            raise NamingError('the latest name template %r must not depend on the image (no {date}, {date_compact} '
                              'or {build}): users pin that name to follow updates' % self.latest_template)
        if not _fields(self.dated_template) & _DISTINGUISHING:
            raise NamingError('the dated name template %r must contain {date}, {date_compact} or {build}'
                              % self.dated_template)
        self.latest = self.latest_template.format(name=name)
        if len(self.latest) > MAX_NAME:
            raise NamingError('the latest name is longer than Glance allows (%d characters)' % MAX_NAME)

    def dated(self, image):
        """The dated name of ``image`` (a flat image dict), before collision handling."""
        properties = image.get('properties') or {}
        when = parse_time(image.get('created_at'), 'created_at')
        if self.date_from == 'image_build_date':
            # An image without a valid build date (not ours to fix here) falls back to its upload.
            when = build_datetime(str(properties.get('image_build_date') or '')) or when
        build = str(properties.get('cloudimages_build', ''))
        return self.dated_template.format(name=self.name, date=when.strftime('%Y-%m-%d'),
                                          date_compact=when.strftime('%Y%m%d'), build=build)

    def dated_names(self, images):
        """Unique dated names for ``images`` (older versions): ``{id: name}``.

        Names shared by several images (two builds on one day) get `` (2)``, `` (3)``… by
        created_at then id. An image that already holds a valid variant of its own name keeps
        it, so deleting the first build of a day never renames the others.
        """
        wanted = {}
        for image in images:
            wanted.setdefault(self.dated(image), []).append(image)
        result = {}
        for base, members in wanted.items():
            members.sort(key=lambda image: (parse_time(image.get('created_at'), 'created_at'), image['id']))
            taken, pending = set(), []
            for image in members:
                current = image.get('name') or ''
                if current not in taken and (current == base or self._variant_of(current, base)):
                    result[image['id']] = current
                    taken.add(current)
                else:
                    pending.append(image)
            counter = 1
            for image in pending:
                candidate = base
                while candidate in taken:
                    counter += 1
                    candidate = '%s (%d)' % (base, counter)
                result[image['id']] = candidate
                taken.add(candidate)
        # A dated name may collide with the latest name only for odd custom templates.
        clash = [image_id for image_id, value in result.items() if value == self.latest]
        if clash:
            raise NamingError('the dated name of image %s equals the latest name %r; change name_templates'
                              % (clash[0], self.latest))
        return result

    @staticmethod
    def _variant_of(current, base):
        match = _SUFFIX.match(current)
        return bool(match) and match.group('base') == base and int(match.group('n')) >= 2
