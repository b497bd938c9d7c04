# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Upload one upstream build into Glance as a private candidate, exactly once.

The image is created with everything in one POST (no PATCH afterwards), filled by one of
direct upload (PUT /file), glance-direct (PUT /stage + POST /import) or web-download
(POST /import, Glance pulls the URL), waited for, and verified against the digests of the
bytes sent / expected. Whatever this run created is deleted again when any of that fails.

Idempotence and concurrency (identity per module_utils/glance/_managed.py, images of our own project
only): an ``active`` (or ``deactivated``) image of the identity is the result, once its hashes match
``expected`` (a private one that does not match is deleted and uploaded anew); an in-progress one
younger than ``stale_after`` belongs to another run and is waited for; older in-progress and
``killed`` ones are orphans of killed runs and are deleted. Two runs that still both create
resolve it by ``rank`` (earlier created_at, then lower id wins): after its create a run yields
to any active image and to any earlier-ranked live one; after its upload it yields to an
earlier-ranked active one and waits for an earlier-ranked unfinished one (which either yields to
our active image or becomes active; waits only point at earlier ranks, so they cannot cycle).
A run that yields deletes its own image and looks again; every run returns the earliest-ranked
live image once it is active, so at most one active image per identity remains.
tests/unit/plugins/module_utils/test_upload_race.py explores the interleavings.
"""

from __future__ import annotations

import os
import time

from ansible_collections.cloudimages.openstack.plugins.module_utils import _process
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _checksums
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._glance import (
    GlanceError, listed, missing_stores)
from ansible_collections.cloudimages.openstack.plugins.module_utils.glance._image_query import flatten
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import parse_time, utcnow

METHODS = ('direct', 'glance-direct', 'web-download')
IN_PROGRESS, DONE = _managed.IN_PROGRESS, _managed.DONE
DIGEST_ALGORITHMS = ('md5', 'sha1', 'sha256', 'sha512')
SENT_ALGORITHMS = ('md5', 'sha256', 'sha512')
CHUNK = 1 << 20


class UploadError(GlanceError):
    """A failure of the procedure, with a message meant for the operator."""


# --- pure helpers ---------------------------------------------------------------------------

def normalize_expected(digests):
    """Validate ``expected_digests`` ({algorithm: hex}) and return them lowercased.

    md5 and sha1 only as extras: at least one digest must be sha256 or sha512.
    """
    result = {}
    for algorithm, hexdigest in (digests or {}).items():
        algorithm = str(algorithm).strip().lower()
        if algorithm not in DIGEST_ALGORITHMS:
            raise ValueError('expected_digests: %r is not one of %s' % (algorithm, ', '.join(DIGEST_ALGORITHMS)))
        result[algorithm] = _checksums.parse_digest('%s:%s' % (algorithm, hexdigest), weak=True,
                                                    what='expected_digests.%s' % algorithm)[1]
    if result and not set(result) & set(_checksums.STRONG_ALGORITHMS):
        raise ValueError('expected_digests: %s alone cannot identify the bytes; add sha256 or sha512'
                         % ' and '.join(sorted(result)))
    return result


def resolve_identity(release=None, release_key=None, build=None, digest=None):
    """Identity properties from explicit options, falling back to the ``release`` dict."""
    release = release or {}
    key = release_key or release.get('key')
    build = build if build not in (None, '') else release.get('version')
    digest = digest or release.get('checksum')
    given = (('release_key', key), ('build', build), ('digest', digest))
    missing = [name for name, value in given if value in (None, '')]
    if missing:
        raise ValueError('identity incomplete: set %s (or pass release from upstream_release)' % ', '.join(missing))
    algorithm, hexdigest = _checksums.parse_digest(digest, what='digest')
    return _managed.identity(str(key), str(build), '%s:%s' % (algorithm, hexdigest))


def release_properties(release):
    """The per-build SCS properties a ``release`` dict provides."""
    release = release or {}
    mapping = (('image_source', 'image_source'), ('image_build_date', 'build_date'),
               ('image_original_user', 'login_user'), ('os_version', 'release'))
    properties = {prop: str(release[key]) for prop, key in mapping if release.get(key) not in (None, '')}
    if release.get('checksum'):
        properties[_managed.TRUST] = _managed.trust(release)
    return properties


def build_create_body(name, provider, identity, disk_format, container_format='bare', min_disk=None,
                      min_ram=None, properties=None, tags=None):
    """The one POST /v2/images body: private, every property and tag, formats, minimums."""
    if not name or len(name) > 255:
        raise ValueError('name must be 1-255 characters')
    # null removes a property in image_rotate; at creation it means: not set.
    properties = {str(k): _managed.property_text(v) for k, v in (properties or {}).items() if v is not None}
    bad = sorted(key for key in properties if _managed.reserved(key) or len(key) > 255)
    if bad:
        raise ValueError('properties must not set %s: Glance attributes, the identity and os_glance* are set '
                         'by the module or Glance' % ', '.join(bad))
    all_tags = [_managed.managed_tag(provider)]
    if properties.get('os_distro'):
        all_tags.append('os:%s' % properties['os_distro'])
    all_tags.extend(str(tag) for tag in tags or ())
    too_long = [tag for tag in all_tags if not tag or len(tag) > 255]
    if too_long:
        raise ValueError('tags must be 1-255 characters: %r' % too_long)
    body = dict(properties)
    body.update(identity)
    body.update(name=name, visibility='private', disk_format=disk_format, container_format=container_format,
                tags=sorted(set(all_tags)))
    for key, value in (('min_disk', min_disk), ('min_ram', min_ram)):
        if value is not None:
            if int(value) < 0:
                raise ValueError('%s must not be negative' % key)
            body[key] = int(value)
    return body


def planned_image(name, provider, release, release_key, properties, now, owner):
    """The image an upload of ``release`` by project ``owner`` would create, flat (see _image_query.flatten).

    Check mode's stand-in for a candidate not uploaded yet, so the rotation planner shows what
    promoting it would do. Same identity and properties as the real upload.
    """
    identity = resolve_identity(release, release_key, None, None)
    merged = release_properties(release)
    merged.update(properties or {})
    body = build_create_body(name, provider, identity, release.get('disk_format') or 'qcow2', properties=merged)
    return flatten(dict(body, id='planned build %s' % identity[_managed.BUILD], status='active', owner=owner,
                        created_at=now.strftime('%Y-%m-%dT%H:%M:%SZ')))


def rank(image):
    """Order among images of one identity: the earliest created wins, the lower id breaks ties."""
    return (parse_time(image['created_at']), image['id'])


def classify(images, now, stale_after, gone=None):
    """Split images of one identity into done, in_progress (another live run) and orphans to delete
    (``gone``: see _managed.stale)."""
    done, in_progress, orphans = [], [], []
    for image in images:
        status = image.get('status')
        if status in DONE:
            done.append(image)
        elif _managed.stale(image, now, stale_after, gone):
            orphans.append(image)
        elif status in IN_PROGRESS:
            in_progress.append(image)
    return sorted(done, key=rank), sorted(in_progress, key=rank), sorted(orphans, key=rank)


def rival(mine, others, after_upload):
    """The image ``mine`` must yield to, or None (see the module docstring)."""
    live = [image for image in others if image['id'] != mine['id']]
    if not after_upload:
        active = [image for image in live if image['status'] in DONE]
        if active:
            return min(active, key=rank)
    earlier = [image for image in live if rank(image) < rank(mine)]
    return min(earlier, key=rank) if earlier else None


def verify(image, expected=None, sent=None):
    """Compare Glance's os_hash_value and checksum with the digests known; return mismatches.

    Raises UploadError when not a single digest could be compared.
    """
    algorithm, value, md5 = image.get('os_hash_algo'), image.get('os_hash_value'), image.get('checksum')
    problems, compared = [], 0
    for source, digests in (('expected', expected), ('sent', sent)):
        for name, glance_value in ((algorithm, value), ('md5', md5)):
            if name and glance_value and name in (digests or {}):
                compared += 1
                if digests[name] != glance_value:
                    problems.append('%s %s %s != Glance %s' % (source, name, digests[name], glance_value))
    if not compared:
        known = ', '.join(sorted(set(expected or {}) | set(sent or {}))) or 'none'
        raise UploadError('cannot verify image %s: Glance reports os_hash_algo=%s checksum=%s, known digests: %s'
                          % (image.get('id'), algorithm, md5, known))
    return problems


def check_stores(method, stores, all_stores):
    """``stores`` as a list; ValueError when ``method`` cannot put the data there.

    A direct upload goes to one store (Glance's X-Image-Meta-Store); more need an import, which
    Glance runs store by store and, with all_stores_must_succeed, activates only when every one
    holds the data, so a candidate is never active in some stores only.
    """
    stores = list(stores or ())
    if all_stores and stores:
        raise ValueError('stores and all_stores exclude each other')
    if method == 'direct' and (all_stores or len(stores) > 1):
        raise ValueError('a direct upload goes to one store; use method glance-direct (or web-download) '
                         'to import into several')
    return stores


def import_failure(image):
    """Glance marks a failed import with the stores in os_glance_failed_import and reverts to queued."""
    failed = (image.get('properties') or {}).get('os_glance_failed_import')
    return 'Glance import failed for store(s) %s' % failed if failed else None


class HashingReader:
    """A file for requests that hashes what is actually read for sending (``algorithms``: none, just
    counting), and knows its length."""

    def __init__(self, handle, size, algorithms=SENT_ALGORITHMS):
        self._handle = handle
        self._size = size
        # md5 included, FIPS-safe (integrity, not security)
        self._hasher = _checksums.MultiHasher(algorithms) if algorithms else None
        self.sent = 0

    def __len__(self):
        return self._size

    def read(self, amount=-1):
        data = self._handle.read(amount if amount and amount > 0 else CHUNK)
        if self._hasher:
            self._hasher.update(data)
        self.sent += len(data)
        return data

    def __iter__(self):
        while True:
            data = self.read(CHUNK)
            if not data:
                return
            yield data

    def digests(self):
        return self._hasher.hexdigests() if self._hasher else {}


# --- the procedure ---------------------------------------------------------------------------

class Uploader:
    """``Uploader(glance, ...).run()`` -> dict(image, created, copied, deleted); ``plan()`` for check mode."""

    ATTEMPTS = 6   # lookups: each wait for or yield to another run costs one

    def __init__(self, glance, body, tag, identity, method='direct', filename=None, url=None, expected=None,
                 wait_timeout=1800, stale_after=_managed.STALE_AFTER, poll=2.0, sleep=time.sleep, clock=time.monotonic,
                 now=utcnow, stores=(), all_stores=False, run_id=None, gone=_process.gone):
        if method not in METHODS:
            raise ValueError('method must be one of %s' % ', '.join(METHODS))
        self.stores, self.all_stores = check_stores(method, stores, all_stores), all_stores
        self.glance, self.body, self.tag, self.identity = glance, body, tag, identity
        self.method, self.filename, self.url, self.expected = method, filename, url, expected or {}
        self.wait_timeout, self.stale_after, self.poll = wait_timeout, stale_after, poll
        self.sleep, self.clock, self.now = sleep, clock, now
        # Recorded on the image: a rerun on this controller replaces it at once if we die before the data.
        self.run_id, self.gone = _process.run_id() if run_id is None else run_id, gone
        self.deleted, self.warnings = [], []
        self._known = None  # Glance's stores, listed once when needed

    def known_stores(self):
        if self._known is None:
            self._known = self.glance.store_ids()
        return self._known

    def wanted_stores(self):
        """The stores this build's image must be in: those named, or every store with all_stores."""
        return self.known_stores() if self.all_stores else self.stores

    def _state(self):
        return classify(self.glance.list_identity(self.tag, self.identity), self.now(), self.stale_after, self.gone)

    def plan(self):
        """What run() would do, without writing: (the live image it would converge on or None, orphan ids)."""
        done, in_progress, orphans = self._state()
        live = sorted(done + in_progress, key=rank)
        orphans = [image['id'] for image in orphans]
        while live and live[0]['status'] in DONE and self._mismatched_candidate(live[0]):
            orphans.append(live.pop(0)['id'])
        return (live[0] if live else None), orphans

    def _mismatched_candidate(self, image):
        """Problems of an active, not yet promoted image of this identity: bytes that are not the
        expected ones, or a store it was asked for and is not in.

        Such an image was left by a killed run or by a web-download/glance-direct import that went on in
        Glance after its run was killed: nobody compared its bytes with the verified file. It is ours
        (list_identity lists our project only) and unpromoted, so replacing it breaks nothing.
        """
        if image['status'] != 'active' or image.get('visibility') in _managed.PROMOTED_VISIBILITIES:
            return []
        problems = verify(image, self.expected) if self.expected else []
        missing = self.missing_for(image)
        return problems + (['not in the store(s) %s' % ', '.join(missing)] if missing else [])

    def _replace(self, image):
        """Delete ``image`` when it is a mismatched candidate (the caller then uploads anew); True if so."""
        problems = self._mismatched_candidate(image)
        if not problems:
            return False
        self.glance.delete(image['id'])
        self.deleted.append(image['id'])
        self.warnings.append('image %s of this build was not promoted yet and is not what this upload makes (%s): '
                             'deleted, uploading anew' % (image['id'], '; '.join(problems)))
        return True

    def run(self):
        for _attempt in range(self.ATTEMPTS):
            done, in_progress, orphans = self._state()
            for orphan in orphans:
                self.glance.delete(orphan['id'])
                self.deleted.append(orphan['id'])
            live = sorted(done + in_progress, key=rank)
            if live and live[0]['status'] in DONE:
                if self._replace(live[0]):
                    continue
                # The earliest-ranked live image is the one every run converges on.
                return self._existing(live[0])
            if live:
                self._wait_other(live[0])   # then look again: it may have failed or yielded itself
                continue
            image = self._create_and_upload()
            if image is not None:
                return dict(image=image, created=True, copied=[], deleted=self.deleted)
        raise UploadError('gave up after %d attempts: other runs for %s kept failing or yielding'
                          % (self.ATTEMPTS, self.identity))

    def _existing(self, image):
        if self.expected and image['status'] == 'active':
            problems = verify(image, self.expected)
            if problems:
                raise UploadError('image %s of this build exists but does not match expected_digests (%s); '
                                  'not touching it' % (image['id'], '; '.join(problems)))
        # A candidate missing a store was replaced; a promoted image keeps its id: Glance copies it.
        copied = self.missing_for(image)
        if copied:
            image = self._copy(image['id'], copied)
        return dict(image=image, created=False, copied=copied, deleted=self.deleted)

    def missing_for(self, image):
        """The wanted stores an active image is not in (a store added to the cloud since its upload)."""
        return missing_stores(image, self.wanted_stores()) if image and image['status'] == 'active' else []

    def _copy(self, image_id, stores):
        """Copy the active image into ``stores`` (Glance's copy-image: it stays active meanwhile)."""
        known = self.known_stores()
        unknown = [store for store in stores if store not in known]
        if unknown:
            raise UploadError('Glance has no store %s (its stores: %s)' % (', '.join(unknown), ', '.join(known)))
        deadline, started = self.clock() + self.wait_timeout, False
        while True:
            image = self.glance.get(image_id)
            if image is None or image['status'] != 'active':
                raise UploadError('image %s became %s while Glance copied it into the store(s) %s'
                                  % (image_id, image['status'] if image else 'deleted', ', '.join(stores)))
            left = missing_stores(image, stores)
            if not left:
                return image
            properties = image.get('properties') or {}
            if not properties.get('os_glance_import_task'):  # no copy (or import) of any run going on
                if started:
                    failed = sorted(listed(properties.get('os_glance_failed_import')) & set(left))
                    raise UploadError('Glance could not copy image %s into the store(s) %s; it is unchanged in %s'
                                      % (image_id, ', '.join(failed or left), image.get('stores')))
                started = self._start_copy(image_id, left)
            if self.clock() >= deadline:
                raise UploadError('image %s is still not in the store(s) %s after timeout=%ss'
                                  % (image_id, ', '.join(left), self.wait_timeout))
            self.sleep(self.poll)

    def _start_copy(self, image_id, stores):
        """True once Glance took the copy; False when another run's task holds the image (409)."""
        try:
            # Not all_stores_must_succeed: a store that fails keeps the copies that worked.
            self.glance.start_import(image_id, 'copy-image', stores=stores, must_succeed=False)
        except GlanceError as exc:
            if exc.status == 409:
                return False
            if exc.status == 403:
                exc.args = ('%s (copy-image needs Glance\'s copy_image policy, admin by default)' % exc.args[0],)
            raise
        return True

    def _wait_other(self, image):
        """Wait until another run's image is done, failed, gone or stale; the caller looks again."""
        deadline = self.clock() + self.wait_timeout
        while True:
            current = self.glance.get(image['id'])
            if current is None or current['status'] not in IN_PROGRESS:
                return
            if classify([current], self.now(), self.stale_after, self.gone)[2]:
                return
            if self.clock() >= deadline:
                raise UploadError(
                    'image %s of this build has been %s since %s: another run is uploading it, or it was left by a '
                    'killed run and is deleted once older than stale_after=%ss; waited %ss'
                    % (current['id'], current['status'], current.get('updated_at'), self.stale_after,
                       self.wait_timeout))
            self.sleep(self.poll)

    def _create_and_upload(self):
        """Our image, active and verified; None when we yielded to another run's image."""
        mine = self.glance.create(dict(self.body, **{_managed.RUN: self.run_id}) if self.run_id else self.body)
        try:
            if rival(mine, self._live(), after_upload=False):
                self.glance.delete(mine['id'])
                return None
            sent = self._send(mine['id'])
            image = self._wait_active(mine['id'])
            # After glance-direct the stored bytes may be converted (e.g. to raw): trust only expected.
            problems = verify(image, self.expected, sent if self.method == 'direct' or not self.expected else None)
            if problems:
                raise UploadError('hash mismatch for image %s: %s' % (mine['id'], '; '.join(problems)))
            missing = self.missing_for(image)
            if missing:
                raise UploadError('image %s is active but Glance does not list it in the store(s) %s'
                                  % (mine['id'], ', '.join(missing)))
            while True:
                other = rival(image, self._live(), after_upload=True)
                if other is None:
                    return image
                if other['status'] in DONE:
                    self.glance.delete(mine['id'])
                    return None
                # Still in progress: it yields to our active image or becomes active itself.
                self._wait_other(other)
        except BaseException as exc:
            self._undo(mine['id'], exc)
            raise

    def _live(self):
        done, in_progress, orphans = self._state()
        return done + in_progress

    def _undo(self, image_id, exc):
        try:
            self.glance.delete(image_id)
        except GlanceError as cleanup:
            if isinstance(exc, GlanceError):
                exc.args = ('%s; deleting image %s also failed: %s' % (exc.args[0], image_id, cleanup),)
            return
        if isinstance(exc, GlanceError):
            exc.args = ('%s (image %s deleted)' % (exc.args[0], image_id),)

    def _send(self, image_id):
        if self.method == 'web-download':
            self.glance.start_import(image_id, 'web-download', self.url, self.stores, self.all_stores)
            return None
        size = os.path.getsize(self.filename)
        # Glance's hashes are compared with the expected (verified) digests: the bytes sent are hashed
        # again only for an algorithm those lack, and not when Glance may convert them (glance-direct).
        algorithms = [name for name in SENT_ALGORITHMS if name not in self.expected]
        if self.expected and self.method != 'direct':
            algorithms = ()
        with open(self.filename, 'rb') as handle:
            reader = HashingReader(handle, size, algorithms)
            if self.method == 'direct':
                self.glance.put_file(image_id, reader, self.stores[0] if self.stores else None)
            else:
                self.glance.stage(image_id, reader)
        if reader.sent != size:
            raise UploadError('%s changed while uploading: sent %d bytes, expected %d'
                              % (self.filename, reader.sent, size))
        if self.method == 'glance-direct':
            self.glance.start_import(image_id, 'glance-direct', stores=self.stores, all_stores=self.all_stores)
        return reader.digests()

    def _wait_active(self, image_id):
        deadline = self.clock() + self.wait_timeout
        while True:
            image = self.glance.get(image_id)
            if image is None:
                raise UploadError('image %s disappeared while waiting for it to become active' % image_id)
            if image['status'] == 'active':
                return image
            failure = import_failure(image)
            if image['status'] in _managed.KILLED or image['status'] == 'deactivated' or failure:
                why = ': %s' % failure if failure else ''
                raise UploadError('image %s ended %s%s' % (image_id, image['status'], why))
            if self.clock() >= deadline:
                raise UploadError('image %s still %s after timeout=%ss'
                                  % (image_id, image['status'], self.wait_timeout))
            self.sleep(self.poll)
