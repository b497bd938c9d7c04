# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""What makes a Glance image ours: the contract shared by upload, rotate, usage and verify.

An image is managed when it carries the tag ``managed_by_<provider>`` AND is owned by one of the
provider's projects (``owners``: by default the project the credentials act in). Tag and
properties are public and any tenant can copy them onto an image of its own, so ownership is
part of identity: an image with our tag and another owner is an *impostor*, never touched,
never downloaded from, only named in a warning. A managed image belongs to the release group
named by RELEASE and is the upstream build recorded by BUILD and DIGEST.
Names are never used to identify images: they are an output of rotation.
Everything here is set at create time by image_upload and never changed afterwards.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.module_utils._time import parse_time

TAG_PREFIX = 'managed_by_'
RELEASE = 'cloudimages_release'    # release key, e.g. ubuntu-24.04
BUILD = 'cloudimages_build'        # upstream version / build id, e.g. 20261116
DIGEST = 'cloudimages_digest'      # <algorithm>:<hex> of the upstream file as published
TRUST = 'cloudimages_trust'        # what vouches for the bytes: see trust()
RUN = 'cloudimages_run'            # the uploading process (_process.run_id): proves a dead upload
DEMOTED = 'cloudimages_demoted_at'  # when the image stopped being the latest (UTC, ISO 8601)
# Candidate (uploaded, not yet promoted) images are private; promoted ones public or community.
PROMOTED_VISIBILITIES = ('public', 'community')
# Glance's base attributes by their API names; every other key of an image is a custom property.
IMAGE_FIELDS = (
    'id', 'name', 'status', 'visibility', 'os_hidden', 'protected', 'tags', 'owner',
    'disk_format', 'container_format', 'size', 'virtual_size', 'min_disk', 'min_ram',
    'checksum', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'stores',
)
# Glance's own keys (attributes, API links, store internals): never a property someone set.
GLANCE_KEYS = frozenset(IMAGE_FIELDS) | {'file', 'schema', 'self', 'locations', 'location', 'direct_url',
                                         'properties'}
# The upload lifecycle. An image in progress belongs to a running upload until STALE_AFTER seconds
# after its creation (one clock for every module); then, like a killed one, any run deletes it.
# At once when its uploader is provably gone in a status only the uploader moves on (not importing,
# which Glance finishes by itself).
IN_PROGRESS = ('queued', 'saving', 'uploading', 'importing')
UPLOADER_DRIVEN = ('queued', 'saving', 'uploading')
KILLED = ('killed',)
DONE = ('active', 'deactivated')
STALE_AFTER = 6 * 3600

_PROVIDER = re.compile(r'^[a-z0-9][a-z0-9_.-]{0,62}$')


def managed_tag(provider):
    if not _PROVIDER.match(provider or ''):
        raise ValueError('provider must be 1-63 characters of a-z, 0-9, "_", "." or "-", not %r' % (provider,))
    return TAG_PREFIX + provider


def release_key(family, release, arch=DEFAULT_ARCH):
    """The release group's key: ``<family>-<release>``, plus ``-<arch>`` for other than DEFAULT_ARCH.

    ``family`` is the distribution role's name, which is also its source's name (``ubuntu_minimal``,
    ``fedora_coreos``), or the ``distro`` option of a generic source. The one spelling of the key:
    upstream_release returns it, the daily sync writes it into Glance, image_verify matches by it.
    """
    key = '%s-%s' % (family, release)
    return key if arch == DEFAULT_ARCH else '%s-%s' % (key, arch)


def reserved(key):
    """A key no configured property may set: Glance's own keys, ``os_glance*`` and our identity."""
    return key in GLANCE_KEYS or key in (RELEASE, BUILD, DIGEST, RUN, DEMOTED) or str(key).startswith('os_glance')


_TRUE, _FALSE = ('true', 'yes', 'y', 'on', '1'), ('false', 'no', 'n', 'off', '0')


def property_text(value):
    """How a configured value is stored in Glance, where properties are strings: booleans as true/false."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def same_value(current, wanted):
    """Whether a property read back equals a configured value.

    openstacksdk reads some properties (os_require_quiesce, hw_qemu_guest_agent) as booleans:
    what was stored as 'yes' comes back True.
    """
    a, b = property_text(current), property_text(wanted)
    if isinstance(current, bool) or isinstance(wanted, bool):
        return any(a.lower() in words and b.lower() in words for words in (_TRUE, _FALSE))
    return a == b


def stale(image, now, stale_after=STALE_AFTER, gone=None):
    """A leftover of an interrupted upload: killed, in progress ``stale_after`` seconds after creation,
    or waiting for an uploader that ``gone(run id)`` says is no more."""
    if image.get('status') in KILLED:
        return True
    run = (image.get('properties') or {}).get(RUN)
    if gone and run and image.get('status') in UPLOADER_DRIVEN and gone(run):
        return True
    created = parse_time(image.get('created_at'), 'created_at')
    return image.get('status') in IN_PROGRESS and (now - created).total_seconds() >= stale_after


def identity(release_key, build, digest):
    """The properties that identify one upstream build of one release."""
    return {RELEASE: release_key, BUILD: str(build), DIGEST: digest}


# The module option of every module that lists managed images (doc fragment: managed).
OWNERS_SPEC = dict(owners=dict(type='list', elements='str', default=[]))


def check_owners(owners):
    """``owners`` as a sorted tuple of project ids; ValueError when empty or not strings."""
    if isinstance(owners, str) or not owners or not all(isinstance(o, str) and o.strip() for o in owners):
        raise ValueError('owners must be a non-empty list of project ids, not %r' % (owners,))
    return tuple(sorted(set(owners)))


def tagged(image, provider):
    return managed_tag(provider) in (image.get('tags') or ())


def is_managed(image, provider, owners):
    """Our tag and one of our projects as owner. ``image`` is shaped by _image_query.flatten."""
    return tagged(image, provider) and image.get('owner') in owners


def is_member(image, provider, release_key, owners):
    """A managed image of the release group ``release_key``."""
    return is_managed(image, provider, owners) and (image.get('properties') or {}).get(RELEASE) == release_key


def impostors(images, provider, owners, release_key=None):
    """Images that carry our tag (and ``release_key``, if given) but belong to another project."""
    return [image for image in images if tagged(image, provider) and image.get('owner') not in owners
            and (release_key is None or (image.get('properties') or {}).get(RELEASE) == release_key)]


def impostor_warning(image, provider):
    """What the provider is told about an impostor: enough to find the image and its project."""
    release = (image.get('properties') or {}).get(RELEASE)
    return ('image %s (%r, %s) of project %s carries the tag %s%s but is not owned by this provider: '
            'ignored, never touched (impersonation attempt?)' % (
                image.get('id'), image.get('name'), image.get('visibility'), image.get('owner'), managed_tag(provider),
                ' and %s=%s' % (RELEASE, release) if release else ''))


def name_squatters(images, provider, owners, names):
    """Warnings about images named like a managed release's Latest (``names``) without our tag:
    users looking for the provider's image by name find them beside it (community lists, an
    accepting project's list). ``owners`` only names the provider's projects in the message."""
    return ['image %s (%r, %s) of project %s carries the name of a managed release but is not this provider\'s '
            '(tag %s and owner %s): users looking it up by name may take it for the provider\'s' % (
                image.get('id'), image.get('name'), image.get('visibility'), image.get('owner'), managed_tag(provider),
                ' or '.join(sorted(owners)))
            # a tagged one of another project is an impostor, reported as such
            for image in images if image.get('name') in names and not tagged(image, provider)]


def owner_hints(images, name, project):
    """A name is no identity: say which of ``images`` (found by ``name`` alone) other projects own."""
    foreign = ['%s (%s, project %s)' % (image.get('id'), image.get('visibility'), image.get('owner'))
               for image in images if image.get('owner') != project]
    if not foreign:
        return []
    return ['%d image(s) named %r belong to other projects than yours: %s. Any project can give an image that name; '
            "give provider (and owners) for a provider's managed images only, or owner" % (
                len(foreign), name, ', '.join(foreign))]


def trust(release):
    """What vouches for a release's bytes, as the TRUST property says it (one spelling, set at upload).

    ``signed:<fingerprint>``: a pinned key signed the checksum (or, comma-separated, one of the
    pinned keys must sign the image file); ``operator-checksum``: a local artifact, the
    operator's digest; ``tls-only``: an unsigned source (allow_unsigned), HTTPS alone.
    """
    signature = release.get('signature') or {}
    if signature.get('fingerprint'):
        return 'signed:%s' % signature['fingerprint']
    pins = (release.get('trust') or {}).get('fingerprints') or ()
    if release.get('image_signature_url') and pins:
        return 'signed:%s' % ','.join(sorted(str(p) for p in pins))
    if not release.get('checksum_url'):
        return 'operator-checksum'
    return 'tls-only'
