# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The status check of many releases in one cloud or many (release_status_info's work).

``Upstream`` owns what the clouds of one run share: the upstream documents, the vendors' release
lists (one per vendor and architecture) and each release's discovery, each done once however many
clouds or regions ask. ``StatusCheck`` owns one cloud's part: its listings (one per provider) and
its request count. Each release is one ``Release``: its entry as given (or made concrete from a
stream), its policy, its discovery and, after ``check``, its verdict. ``_release_status.assess``
judges one release. ``check_clouds`` checks many clouds at once, in threads.
"""

from __future__ import annotations

import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import Glance
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _lifecycle
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import (
    list_impostors, list_managed, list_squatters, resolve_owners)
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan._release_status import assess, current_latest
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._rotation import POLICY_SPEC, policy_from
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, EndOfLife, version_key)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    DISCOVER_SPEC, Documents, KeyLocks, discover_from, remember_published, session_for, today_of, validated,
    vendor_catalog)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._registry import SOURCES
from ansible_collections.cloudimages.openstack.plugins.module_utils.rotate._usage import lookup


def _dict(value):
    return value if isinstance(value, dict) else {}


class Release:
    """One release of the run: ``entry`` is what the module returns for it."""

    def __init__(self, spec):
        rotate = _dict(spec.get('rotate') if isinstance(spec, dict) else None)
        self.spec = spec
        self.policy = None    # its rotation policy, when the options were valid
        self.discover = None  # its validated discovery options, once discovered
        self.entry = {'key': rotate.get('release_key'), 'name': rotate.get('name'),
                      'retired': bool(rotate.get('retired')), 'retired_reason': None, 'end_of_life': None,
                      'settled': False, 'reason': None, 'error': None, 'release': None, 'existing': None,
                      'missing_stores': [], 'warnings': [], 'job': spec, 'latest_since': None, 'kept_in_use': None}

    @property
    def provider(self):
        return self.policy.provider

    @property
    def assessable(self):
        """Has a policy and no error: the planner can judge it."""
        return self.policy is not None and not self.entry['error']

    def fail(self, exc):
        self.entry['error'] = self.entry['reason'] = str(exc)

    def retire(self, reason, end_of_life=None):
        self.entry.update(retired_reason=reason, end_of_life=end_of_life)

    def settle(self, found):
        """Take the verdict of ``_release_status.assess``."""
        reason = found['reason']
        if self.entry['retired']:
            reason = '%s; %s' % (self.entry['retired_reason'], reason)
        self.entry.update(reason=reason, **{key: found[key] for key in (
            'settled', 'existing', 'missing_stores', 'latest_since', 'kept_in_use', 'warnings')})

    @property
    def published(self):
        """Its discovered build is in the cloud, promoted: the rollback guard may remember it."""
        existing = self.entry['existing'] or {}
        return self.discover is not None and existing.get('visibility') in _managed.PROMOTED_VISIBILITIES


def _again(exc, requests):
    """A copy of ``exc`` for one more asker (each gets its own ``requests``)."""
    raised = type(exc).__new__(type(exc))
    raised.__dict__.update(vars(exc))
    raised.args, raised.requests = exc.args, requests
    return raised


class Upstream:
    """What the clouds of one run share upstream, each asked once and safe to share between threads:
    the entry documents, the vendors' release lists and each release's discovery.

    Methods return ``(value, requests)``: the requests are counted by the first asker only.
    """

    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.documents = Documents()  # upstream entry documents of this run, each asked once
        self._done = {}  # (what, options as JSON) -> (value or the exception raised, requests)
        self._locks = KeyLocks()  # per key of _done: different keys are fetched at once
        self._remembering = threading.Lock()  # one write of the rollback memory at a time

    def _once(self, what, params, work):
        key = (what, json.dumps(params, sort_keys=True, default=str))
        with self._locks(key):
            first = key not in self._done
            if first:
                try:
                    self._done[key] = work()
                except (ValueError, DiscoveryError, OSError) as exc:
                    self._done[key] = (exc, getattr(exc, 'requests', 0))
            value, requests = self._done[key]
            requests = requests if first else 0
            if isinstance(value, Exception):
                raise _again(value, requests)
            return copy.deepcopy(value), requests

    def catalog(self, params):
        """The vendor's release list (Source.catalog) for validated DISCOVER_SPEC ``params``, or None."""
        return self._once('catalog', params, lambda: vendor_catalog(
            session_for(params), params, check_mode=self.check_mode, documents=self.documents))

    def discover(self, params):
        """The newest verified build for validated DISCOVER_SPEC ``params``; EndOfLife as discover raises it."""
        def work():
            # The rollback guard remembers only published builds (see StatusCheck.check, and release.yml).
            release, _unchanged, requests = discover_from(params, check_mode=self.check_mode, remember=False,
                                                          documents=self.documents)
            return release, requests
        return self._once('discover', params, work)

    def remember(self, params, release):
        with self._remembering:
            remember_published(params, release, self.check_mode)


class StatusCheck:
    """``StatusCheck(conn, owners, today, check_mode).check(specs, stores, now, announce, not_in_data)``;
    ``upstream``: the run's Upstream, when clouds share it."""

    def __init__(self, conn, owners, today, check_mode=False, upstream=None):
        self.conn, self.owners, self.today, self.check_mode = conn, owners, today, check_mode
        self.upstream = upstream or Upstream(check_mode)
        self.requests = 0  # upstream requests made
        self.catalogs, self.catalog_errors = {}, {}  # vendor release lists and their errors, by (source, arch)
        self.listings = {}  # the provider's managed images, by provider
        self.impostors = []  # lines naming images that pretend to be the provider's
        self.warnings = []  # what the module emits as warnings, in order

    # -- the cloud -----------------------------------------------------------------------------------
    def listing(self, provider):
        """The managed images of ``provider`` (one listing per provider and run)."""
        if provider not in self.listings:
            self.listings[provider] = list_managed(self.conn, provider, self.owners)
            self.impostors.extend(list_impostors(self.conn, provider, self.owners))
        return self.listings[provider]

    # -- the vendors ---------------------------------------------------------------------------------
    def _count(self, requests):
        self.requests += requests

    def catalog(self, discover):
        """The vendor's release list for ``discover`` (one conditional request per vendor and run), or None."""
        key = (discover.get('source'), discover.get('arch') or DEFAULT_ARCH)
        if key not in self.catalogs:
            self.catalogs[key] = None
            try:
                params = validated(DISCOVER_SPEC, dict(discover, release='catalog'), 'discover')
                self.catalogs[key], requests = self.upstream.catalog(params)
                self._count(requests)
            except (ValueError, DiscoveryError, OSError) as exc:
                self._count(getattr(exc, 'requests', 0))
                self.catalog_errors[key] = str(exc)
        if self.catalogs[key] is None and key in self.catalog_errors:
            raise DiscoveryError(self.catalog_errors[key])
        return self.catalogs[key]

    def expand(self, spec):
        """``[spec]``, or the concrete releases of a stream entry (``release: current``)."""
        discover = spec.get('discover') if isinstance(spec, dict) else None
        rotate = spec.get('rotate') if isinstance(spec, dict) else None
        if not isinstance(discover, dict) or not isinstance(rotate, dict) or rotate.get('retired'):
            return [spec]
        source = SOURCES.get(discover.get('source'))
        if source is None or str(discover.get('release')) not in source.streams:
            return [spec]
        try:
            follower = source(discover['release'], discover.get('arch') or DEFAULT_ARCH)
            releases = follower.stream(self.catalog(discover) or [])
            if not releases:
                raise DiscoveryError('%s %s: the vendor lists no release to follow'
                                     % (discover['source'], discover['release']))
            return [_lifecycle.concrete(spec, release, self.today) for release in releases]
        except (ValueError, DiscoveryError) as exc:
            return [dict(spec, stream_error=str(exc))]

    def prepare(self, spec):
        """The ``Release`` of ``spec``, discovered; an error goes in its entry."""
        release = Release(spec)
        params = None
        try:
            if spec.get('stream_error'):
                raise DiscoveryError(spec['stream_error'])
            params = validated(POLICY_SPEC, _dict(spec.get('rotate')), 'rotate')
            if not params['retired']:
                self._discover(release, params)
            elif spec.get('retired_reason'):
                release.retire(spec['retired_reason'])
            else:
                eos = spec.get('end_of_support')
                release.retire('end_of_support %s (distribution data) has passed' % eos if eos
                               else 'retired in the data (rotate.retired)')
            release.policy = policy_from(params, self.owners)
            release.entry['retired'] = release.policy.retired
            if release.policy.retired and spec.get('rotate'):
                release.entry['job'] = dict(spec, rotate=dict(spec['rotate'], retired=True))
        except (ValueError, DiscoveryError, OSError) as exc:  # PlanError and NamingError are ValueErrors
            self._count(getattr(exc, 'requests', 0))
            release.fail(exc)
            try:  # its published images still have an age (the morning view, the metrics)
                release.policy = policy_from(params, self.owners) if params else None
            except ValueError:
                release.policy = None
        return release

    def _discover(self, release, params):
        """The newest verified build; a vendor's end of life retires the release (``params['retired']``)."""
        discover = validated(DISCOVER_SPEC, release.spec.get('discover'), 'discover')
        discover['today'] = discover['today'] or self.today
        try:
            release.entry['release'], requests = self.upstream.discover(discover)
            release.discover = discover
            self._count(requests)
        except EndOfLife as exc:
            self._count(exc.requests)
            params['retired'] = True
            release.retire(exc.reason, exc.date)

    def left_streams(self, streams, releases):
        """The releases that left their stream (Fedora 43 once 45 is out) while the cloud holds images
        of them: retired, not forgotten."""
        carried = {release.entry['key'] for release in releases}
        found = []
        for spec in streams:
            provider = spec['rotate'].get('provider')
            try:
                family, arch = _lifecycle.stream_key(spec)
                members = _lifecycle.stream_members(self.listing(provider), provider, family, arch)
            except ValueError:
                continue  # reported on the stream's own entries
            for name in members:
                key = _managed.release_key(family, name, arch)
                if key not in carried:
                    why = '%s no longer follows %s' % (key, spec['discover']['release'])
                    found.append(self.prepare(_lifecycle.concrete(spec, name, self.today, why)))
        return found

    def available(self, specs):
        """Releases the vendors list that this run carries none of (newer than every carried one)."""
        carried = {}
        for spec in specs:
            discover = spec.get('discover') if isinstance(spec, dict) else None
            if isinstance(discover, dict) and discover.get('source') in SOURCES:
                carried.setdefault(discover['source'], (discover, set()))[1].add(str(discover.get('release')))
        found = []
        for name, (discover, releases) in sorted(carried.items()):
            source = SOURCES[name]
            if not source('catalog').catalog_url():
                continue
            try:
                catalog = self.catalog(discover)
            except DiscoveryError:
                continue  # in catalog_errors
            for item in _lifecycle.available(catalog, releases, self.today, lts_only=source.announce_lts_only):
                found.append({'source': name, 'release': item['release'], 'title': item.get('title'),
                              'support_eol': item.get('support_eol'),
                              'reason': 'listed by the vendor, newer than %s carried here; add it to the data to '
                                        'publish it' % ', '.join(sorted(releases, key=version_key))})
        return found

    def not_in_data(self, releases):
        """Per release key, the managed images of the listed providers that no release carries."""
        carried = {}
        for release in releases:
            provider = _dict(release.entry['job'].get('rotate')).get('provider')
            carried.setdefault(provider, set()).add(release.entry['key'])
        leftovers = []
        for provider, images in sorted(self.listings.items()):
            leftovers.extend(_lifecycle.not_in_data(images, provider, carried.get(provider, ())))
        return leftovers

    # -- the run -------------------------------------------------------------------------------------
    def judge(self, releases, now, stores=()):
        """Judge every assessable release; usage in one lookup per set of usage services."""
        def verdict(release, usage=None):
            return assess(self.listing(release.provider), release.policy, release.entry['release'], now, usage,
                          stores)

        # A release whose discovery failed keeps its published Latest: only its age is looked up.
        for release in releases:
            if release.policy is not None and release.entry['error']:
                latest = current_latest(self.listing(release.provider), release.policy, now)
                release.entry['latest_since'] = (latest or {}).get('created_at')
        verdicts = [(release, verdict(release)) for release in releases if release.assessable]
        by_services = {}
        for release, found in verdicts:
            if found['usage_needed']:
                by_services.setdefault(release.policy.usage_services, []).append((release, found))
        again = {}
        for services, waiting in by_services.items():
            wanted = sorted({image_id for _release, found in waiting for image_id in found['usage_needed']})
            usage = lookup(self.conn, wanted, services)
            again.update((id(release), verdict(release, usage)) for release, _found in waiting)
        for release, found in verdicts:
            release.settle(again.get(id(release), found))

    def check(self, specs, now, stores=(), announce=False, not_in_data=False):
        """The module's result (without ``changed``) for the release entries ``specs``."""
        expanded, streams = [], []
        for spec in specs:
            found = self.expand(spec)
            expanded.extend(found)
            if found and found[0].get('follows'):
                streams.append(spec)
        releases = [self.prepare(spec) for spec in expanded]
        for release in releases:
            if release.policy is not None:
                self.listing(release.provider)
        releases += self.left_streams(streams, releases)
        latest_names = {}
        for release in releases:
            if release.policy is not None:
                latest_names.setdefault(release.provider, set()).add(release.policy.naming.latest)
        for provider, names in sorted(latest_names.items()):
            self.impostors.extend(list_squatters(self.conn, provider, self.owners, names))
        self.warnings.extend(self.impostors)
        self.judge(releases, now, stores)
        for release in releases:
            if release.published:
                self.upstream.remember(release.discover, release.entry['release'])
            if release.entry['settled']:  # nothing else runs for it today: say it here (image_rotate says it otherwise)
                self.warnings.extend('%s: %s' % (release.entry['name'], text) for text in release.entry['warnings'])
        available = self.available(expanded) if announce else []
        leftovers = self.not_in_data(releases) if not_in_data else []
        self.warnings.extend(group['summary'] for group in leftovers)
        return dict(releases=[release.entry for release in releases], impostors=self.impostors, available=available,
                    not_in_data=leftovers, requests=self.requests,
                    catalog_errors=sorted(set(self.catalog_errors.values())))


def check_cloud(conn, params, now, check_mode=False, upstream=None):
    """``(result, warnings)`` of release_status_info's options ``params`` in the cloud of ``conn``.
    ValueError, DiscoveryError or GlanceError when its owners, today or stores cannot be had."""
    owners = resolve_owners(conn, params['owners'])
    today = today_of(params['today'])
    stores = Glance(conn).store_ids() if params['all_stores'] else params['stores']
    status = StatusCheck(conn, owners, today, check_mode, upstream)
    result = status.check(params['releases'], now, stores, params['announce'], params['not_in_data'])
    return result, status.warnings


def check_clouds(clouds, connect, now, errors, check_mode=False, workers=8):
    """``{name: result}`` of many clouds (or regions) at once: ``clouds`` maps a name to its options.

    The clouds are checked in threads (their Glance requests overlap) and share one Upstream, so a
    region more costs its listings only. ``connect(options)`` gives a cloud's connection. A cloud
    whose connection or check raises one of ``errors`` gets ``failed`` and ``msg`` in its result
    (its ``warnings`` too); the others are checked all the same.
    """
    upstream = Upstream(check_mode)

    def one(params):
        try:
            result, warnings = check_cloud(connect(params), params, now, check_mode, upstream)
            return dict(result, failed=False, warnings=warnings)
        except errors as exc:
            return {'failed': True, 'msg': str(exc), 'warnings': []}

    names = list(clouds)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(names)))) as pool:
        return dict(zip(names, pool.map(one, [clouds[name] for name in names])))
