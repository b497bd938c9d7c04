# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""openstack-image-manager (OIM) definitions as this collection's release data, and adoption.

``mapping`` reads OIM's ``images:`` entries (etc/images/*.yml) and says what each becomes: a
release of a distribution role of this collection, a release of the ``generic`` role (a pinned
artifact with its checksum, trust ``operator-checksum``), or nothing, with the reason. The
operator's names, SCS properties and ``uuid_validity`` are kept as overrides; the features OIM has
and this collection has not are named, never dropped silently.

``adoption`` decides which images OIM published become ours in place (no upload, same UUID): only
an image whose bytes are proven, i.e. Glance's ``os_hash_value`` or ``checksum`` equals a digest
vouched for that version (the vendor's, or of the file downloaded and verified in this run).
OIM's conventions, from its code (openstack_image_manager/main.py): the tag ``managed_by_osism``
(``--tag``), ``internal_version`` (the version), ``image_description`` (the definition's name,
OIM's grouping key), names ``<name>`` for the newest and ``<name><separator>(<version>)`` for the
others of a ``multi`` definition, ``<name><separator><version>`` for every version otherwise.
"""

from __future__ import annotations

import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.glance import _managed
from ansible_collections.cloudimages.openstack.plugins.module_utils.plan import _jobs
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._arches import DEFAULT_ARCH
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import rewrite

OIM_TAG = 'managed_by_osism'
VERSION = 'internal_version'
GROUP = 'image_description'

# OIM shortname (or name, lowercased and dashed) -> (role, release or None: the match's group 1).
KNOWN = (
    (re.compile(r'^ubuntu-([0-9]+\.[0-9]+)$'), 'ubuntu', None),
    (re.compile(r'^ubuntu-([0-9]+\.[0-9]+)-minimal$'), 'ubuntu_minimal', None),
    (re.compile(r'^debian-([0-9]+)$'), 'debian', None),
    (re.compile(r'^rocky-([0-9]+)$'), 'rocky', None),
    (re.compile(r'^almalinux-([0-9]+)$'), 'almalinux', None),
    (re.compile(r'^fedora-([0-9]+)$'), 'fedora', None),
    (re.compile(r'^fedora-coreos$'), 'fedora_coreos', 'stable'),
    (re.compile(r'^fedora-coreos-(stable|testing|next)$'), 'fedora_coreos', None),
    (re.compile(r'^flatcar(-container-linux)?$'), 'flatcar', 'stable'),
    (re.compile(r'^cirros$'), 'cirros', 'minor'),
)
# Properties OIM computes per image, or that name Glance's own fields: never an override.
COMPUTED = ('image_name', 'image_build_date', 'image_source', VERSION, 'upstream_checksum')
ARCHIVES = ('.tar.xz', '.tar.gz', '.tar.bz2', '.tgz', '.tar', '.zip')
COMPRESSION = {'.xz': 'xz', '.bz2': 'bz2', '.gz': 'gz'}
# Top-level keys of OIM's schema this mapping reads (anything else is named as not carried).
READ = {'name', 'enable', 'shortname', 'format', 'login', 'min_disk', 'min_ram', 'status', 'visibility',
        'multi', 'meta', 'tags', 'latest_url', 'latest_checksum_url', 'versions', 'separator'}


class OimError(ValueError):
    pass


def slug(definition):
    text = str(definition.get('shortname') or definition.get('name') or '')
    return re.sub(r'[^a-z0-9.]+', '-', text.lower()).strip('-')


def _sorted_versions(definition):
    # OIM sorts versions by natural order (natsort); these are dates or dotted numbers.
    def key(version):
        return [int(part) if part.isdigit() else part for part in re.split(r'([0-9]+)', str(version['version']))]
    return sorted(definition.get('versions') or [], key=key)


def not_carried(definition, known=True):
    """OIM features of ``definition`` this collection does not reproduce, each in words."""
    notes = []
    if definition.get('visibility', 'public') != 'public':
        notes.append('visibility %s: the latest image is published public here' % definition['visibility'])
    if definition.get('status', 'active') != 'active':
        notes.append('status %s: images are kept active here' % definition['status'])
    if definition.get('tags'):
        notes.append('extra tags %s: only the managed tag is set here' % ', '.join(map(str, definition['tags'])))
    if definition.get('keep'):
        notes.append('keep: true (never delete): set uuid_validity: forever instead')
    if definition.get('password'):
        notes.append('password: not published (a login password belongs in documentation, not image data)')
    if definition.get('multi') is False:
        notes.append('multi: false (every version named "<name> <version>"): the newest takes the latest name here')
    if definition.get('latest_url') and known:
        notes.append('latest_url/latest_checksum_url: replaced by this collection\'s discovery and verification')
    elif definition.get('latest_url') and _latest(definition)[0] is None:
        notes.append('latest_url/latest_checksum_url: not followed (%s); the newest pinned version is synced (a '
                     'new build is a new options.url/checksum/version in generic_releases)' % _latest(definition)[1])
    if any(str(version.get('version')) == 'latest' for version in definition.get('versions') or ()):
        notes.append('version latest (a pointer OIM re-reads with its checksums_url): replaced by this '
                     'collection\'s discovery; its image is adopted as the vendor\'s build with its bytes')
    for version in definition.get('versions') or ():
        if version.get('mirror_url'):
            notes.append('mirror_url: map upstream prefixes to the mirror with image_sync_url_rewrites')
            break
    extra = sorted({key for version in definition.get('versions') or () for key in version}
                   & {'id', 'hidden', 'visibility', 'meta', 'image_description', 'os_version', 'source',
                      'checksum_url'})
    if extra:
        notes.append('per-version %s: one setting per release here' % ', '.join(extra))
    unknown = sorted(set(definition) - READ - {'keep', 'password'})
    if unknown:
        notes.append('unknown keys %s: ignored' % ', '.join(unknown))
    return notes


def overrides(definition):
    """The operator's SCS properties, as image_sync_release_properties of the release."""
    meta = dict(definition.get('meta') or {})
    props = {key: value for key, value in meta.items() if key not in COMPUTED and not _managed.reserved(key)}
    props.setdefault(GROUP, definition['name'])
    if definition.get('login'):
        props['image_original_user'] = definition['login']
    return {key: _managed.property_text(value) if value is not None else None for key, value in props.items()}


def _known(definition):
    text = slug(definition)
    for pattern, role, release in KNOWN:
        match = pattern.match(text)
        if not match:
            continue
        if release == 'minor':
            newest = _sorted_versions(definition)
            release = '.'.join(str(newest[-1]['version']).split('.')[:2]) if newest else None
        return role, release or match.group(1)
    return None, None


def _base(definition, role, release):
    """The mapping's entry of one OIM image, before its status."""
    return {
        'oim_name': definition['name'], 'file': definition.get('_file'), 'role': role, 'release': release,
        'versions': [{'version': str(v['version']), 'checksum': v.get('checksum'), 'url': v.get('url'),
                      'build_date': str(v['build_date']) if v.get('build_date') else None}
                     for v in _sorted_versions(definition)],
        'properties': overrides(definition), 'not_carried': not_carried(definition, known=role is not None),
        'separator': definition.get('separator', ' '), 'oim_visibility': str(definition.get('visibility', 'public')),
    }


def architecture(definition):
    """The architecture of an OIM image: its ``meta.architecture`` (OIM's schema: x86_64, aarch64, risc-v)."""
    return str((definition.get('meta') or {}).get('architecture') or DEFAULT_ARCH)


def _release_entry(definition, role_entry):
    entry = dict(role_entry)
    if architecture(definition) == DEFAULT_ARCH:  # another architecture's name derives from x86_64's
        entry.update({'name': definition['name'], 'scs_name': definition['name']})
    for key in ('min_disk', 'min_ram'):
        if definition.get(key):
            entry[key] = int(definition[key])
    return entry


def _gained(role, roles):
    keys = (roles.get(role) or {}).get('signing_keys') or {}
    fingerprints = sorted({fp for fps in keys.values() for fp in fps})
    if fingerprints:
        return ('the signed checksum file of the vendor, verified with pinned key(s) %s, and the image bytes '
                'hashed before upload' % ', '.join(fingerprints))
    return 'the vendor\'s checksum (unsigned upstream, HTTPS) and the image bytes hashed before upload'


HEREBE = re.compile(r'HEREBE(.+)DRAGONS')


def _latest(definition):
    """checksum_file options following OIM's ``latest_url`` + ``latest_checksum_url``: (options, None) or
    (None, why not). A fixed file name (``...-latest.qcow2``) is versioned by the checksum file's
    Last-Modified date, as OIM versions it; OIM's ``HEREBE<regex>DRAGONS`` marks the version in a name."""
    url, sums = str(definition.get('latest_url') or ''), str(definition.get('latest_checksum_url') or '')
    if not url or not sums:
        return None, 'latest_url needs latest_checksum_url'
    if not re.match(r'https?://[^\s]+$', url) or not re.match(r'https?://[^\s\\]+$', sums):
        return None, 'latest_url and latest_checksum_url must be http(s) URLs'
    directory, name = url.rsplit('/', 1)
    sums_directory, sums_name = sums.rsplit('/', 1)
    if directory != sums_directory:
        return None, 'the checksum file is not in the directory of latest_url'
    lower = name.lower()
    if lower.endswith(ARCHIVES):
        return None, 'latest_url is an archive'
    marked = HEREBE.search(name)
    if marked:
        before, after = re.escape(name[:marked.start()]), re.escape(name[marked.end():])
        pattern = '%s(?P<version>%s)%s' % (before, marked.group(1), after)
    else:
        pattern = re.escape(name)
    try:
        re.compile(pattern)
    except re.error as exc:
        return None, 'latest_url\'s HEREBE...DRAGONS is not a valid regex: %s' % exc
    options = {'url': directory + '/', 'checksum_file': sums_name, 'pattern': pattern, 'signature': 'none',
               'distro': slug(definition), 'disk_format': definition.get('format', 'qcow2'),
               'compression': next((c for ext, c in COMPRESSION.items() if lower.endswith(ext)), 'none')}
    if not marked:
        options['version_from'] = 'last_modified'
    if definition.get('login'):
        options['login_user'] = definition['login']
    return options, None


def _generic(definition):
    """A generic release entry: following ``latest_url`` (source checksum_file, trust tls-only), else the
    newest pinned version (local_artifact, trust operator-checksum); (entry, None) or (None, reason)."""
    latest, _why = _latest(definition)
    if latest is not None:
        return _generic_entry(definition, 'checksum_file', latest, slug(definition)), None
    versions = [v for v in _sorted_versions(definition) if v.get('url')]
    if not versions:
        return None, 'no version with a url'
    newest = versions[-1]
    url = str(newest['url'])
    if not newest.get('checksum'):
        return None, 'enabled, but version %s has no checksum: nothing can prove its bytes' % newest['version']
    if not re.match(r'https?://[^\s\\]+$', url):
        return None, 'version %s is %r: not an http(s) URL of a file (a local file needs options.path)' % (
            newest['version'], url)
    lower = url.lower().split('?', maxsplit=1)[0]
    if lower.endswith(ARCHIVES):
        return None, ('version %s is an archive (%s): this collection uploads a disk image, unpack it and give '
                      'its digest' % (newest['version'], url.rsplit('/', 1)[-1]))
    compression = next((c for ext, c in COMPRESSION.items() if lower.endswith(ext)), 'none')
    options = {'url': url, 'checksum': str(newest['checksum']), 'version': str(newest['version']),
               'distro': slug(definition), 'disk_format': definition.get('format', 'qcow2'),
               'compression': compression, 'image_source': url}
    if newest.get('build_date'):
        options['build_date'] = str(newest['build_date'])[:10]
    if definition.get('login'):
        options['login_user'] = definition['login']
    return _generic_entry(definition, 'local_artifact', options, newest['version']), None


def _generic_entry(definition, source, options, version):
    """The generic role's release entry of a definition (``version``: os_version unless meta has one)."""
    meta = definition.get('meta') or {}
    until = str(meta.get('provided_until') or 'none')
    entry = {'release': slug(definition), 'name': definition['name'], 'scs_name': definition['name'],
             'os_distro': str(meta.get('os_distro') or slug(definition)),
             'os_version': str(meta.get('os_version') or version),
             'end_of_support': until if re.match(r'^[0-9]{4}-[0-9]{2}-[0-9]{2}$', until) else 'none',
             'source': source, 'options': options}
    for key in ('min_disk', 'min_ram'):
        if definition.get(key):
            entry[key] = int(definition[key])
    return entry


def read(files):
    """``files``: ``{file name: parsed YAML}`` -> OIM definitions, each with ``_file``; OimError on bad shape."""
    definitions = []
    for name in sorted(files):
        document = files[name]
        if not isinstance(document, dict) or not isinstance(document.get('images'), list):
            raise OimError('%s: not an OIM definition file (no images: list)' % name)
        for index, image in enumerate(document['images']):
            if not isinstance(image, dict) or not isinstance(image.get('name'), str) or not image['name'].strip():
                raise OimError('%s: images[%d] has no name' % (name, index))
            if not isinstance(image.get('versions') or [], list):
                raise OimError('%s: %s: versions must be a list' % (name, image['name']))
            definitions.append(dict(image, _file=name))
    return definitions


def _discover(role, role_data, role_entry, arch):
    """upstream_release's options for a release, merged as the daily sync's queue merges them."""
    ((_spec, release),) = _jobs.release_data(role, dict(role_data, releases=[role_entry], enabled=[]))
    return _jobs.discovery(release, arch)


def _merge_release(releases, entry, architectures):
    """``releases`` (the operator's list) with ``entry`` merged over the entry of its release, or added;
    its ``architectures`` set (None: removed, the cloud's list decides)."""
    def same(release):
        return str(release.get('release')) == str(entry['release'])

    merged = [dict(release, **entry) if same(release) else release for release in releases or ()]
    if not any(same(release) for release in merged):
        merged.append(dict(entry))
    for release in merged:
        if same(release):
            release.pop('arch', None)
            release.pop('architectures', None)
            if architectures:
                release['architectures'] = architectures
    return merged


def _architectures(release, oim_arches, cloud_arches):
    """The ``architectures`` of a mapped ``release`` (its entry before the merge, or None): those of OIM's
    images of it and what it synced before (its own list, or the cloud's ``cloud_arches`` when it was
    enabled); None when that is x86_64 alone (the cloud's list stays in charge)."""
    release = release or {}
    before = release.get('architectures') or ([release['arch']] if release.get('arch') else cloud_arches)
    arches = sorted(set(oim_arches) | set(map(str, before or ())))
    return None if arches == [DEFAULT_ARCH] else arches


def mapping(files, roles, keep_oim_names=False, include_disabled=False, operator=None):
    """What each OIM image becomes, and the inventory data that carries it.

    ``roles``: ``{role: {'releases': [...], 'enabled': [...], 'properties': {...}, 'signing_keys': {...},
    'allow_unsigned': bool, 'overridden': bool}}``: the operator's ``<role>_*`` inventory variables over the
    roles' defaults (``overridden``: ``releases`` is the operator's).
    ``operator``: the operator's ``cloudimages_distributions``, ``image_sync_release_properties`` and
    ``image_sync_properties``/``image_sync_extra_properties``: the inventory written keeps them (the
    operator's releases, enabled releases and properties stay; OIM's override a property only where the
    operator set none); ``image_sync_previous_visibility`` (kept; else public, as OIM keeps older versions);
    ``image_sync_architectures`` and ``image_sync_arch_name``: an OIM image of another
    architecture (``meta.architecture: aarch64``) is that architecture's job of its release, whose
    ``architectures`` keep what the release synced before. Returns ``{'images': [...], 'inventory':
    {...}}``; every image has ``status`` known, generic, disabled or refused, and a ``reason`` unless
    it maps.
    """
    operator = operator or {}
    release_props = dict(operator.get('image_sync_release_properties') or {})
    images, arches, before = [], {}, {}  # (role, release) -> OIM's architectures of it; the release before
    cloud_arches = [str(a) for a in operator.get('image_sync_architectures') or [DEFAULT_ARCH]]
    inventory = {'cloudimages_distributions': list(operator.get('cloudimages_distributions') or []),
                 'image_sync_release_properties': release_props}
    for definition in read(files):
        role, release = _known(definition)
        entry = _base(definition, role, release)
        arch = entry['architecture'] = architecture(definition)
        images.append(entry)
        if definition.get('enable') is False and not include_disabled:
            entry.update(status='disabled', reason='enable: false in OIM (it does not publish it either)')
            continue
        if role:
            role_data = roles.get(role) or {}
            role_entry = next((r for r in role_data.get('releases') or () if str(r.get('release')) == release), None)
            if role_entry is None and role == 'fedora':
                role_entry = {'release': release, 'name': 'Fedora %s' % release, 'os_distro': 'fedora',
                              'os_version': release}
            if role_entry is None:
                entry.update(status='refused', reason='the %s role carries no release %s (add it to %s_releases)'
                             % (role, release, role))
                continue
            key = _managed.release_key(role, release, arch)
            entry.update(status='known', key=key, gained=_gained(role, roles),
                         discover=_discover(role, role_data, role_entry, arch))
            release_entry = _release_entry(definition, role_entry)
        else:
            role_data = roles.get('generic') or {}
            release_entry, reason = _generic(definition)
            if release_entry is None:
                entry.update(status='refused', reason=reason)
                continue
            role, key = 'generic', _managed.release_key('generic', release_entry['release'], arch)
            entry.update(status='generic', role=role, release=release_entry['release'], key=key)
            if release_entry['source'] == 'checksum_file':
                entry.update(trust='tls-only', discover=_discover('generic', dict(role_data, allow_unsigned=True),
                                                                  release_entry, arch),
                             gained='latest_url followed: each new build found in %s is hashed against it before '
                             'upload (tls-only: nothing signs it)' % release_entry['options']['checksum_file'])
            else:
                entry.update(trust='operator-checksum', gained='the digest of the definition is checked on the bytes '
                             'before upload (OIM\'s web-download checks none)')
        name = str(release_entry['release'])
        was_enabled = name in [str(r) for r in role_data.get('enabled') or ()]
        enabled = inventory.get('%s_enabled' % role, [str(r) for r in role_data.get('enabled') or ()])
        enabled = inventory['%s_enabled' % role] = sorted(set(enabled) | {name})
        # The operator's own list stays whole; from the role's defaults only the enabled releases are copied.
        releases = inventory.get('%s_releases' % role, [
            r for r in role_data.get('releases') or ()
            if role_data.get('overridden') or str(r.get('release')) in enabled])
        if (role, name) not in before:  # the release as it was, before any OIM image of it was merged
            before[role, name] = (next((r for r in releases if str(r.get('release')) == name), None),
                                  cloud_arches if was_enabled else None)
        arches.setdefault((role, name), set()).add(arch)
        inventory['%s_releases' % role] = _merge_release(releases, release_entry, _architectures(
            before[role, name][0], arches[role, name], before[role, name][1]))
        if arch != DEFAULT_ARCH:
            _place(entry, next(r for r in inventory['%s_releases' % role] if str(r['release']) == name),
                   operator, keep_oim_names)
        if role not in inventory['cloudimages_distributions']:
            inventory['cloudimages_distributions'].append(role)
        entry['operator_properties'] = _operator_properties(entry, role_data, operator, release_props.get(key))
        release_props[key] = dict({k: v for k, v in entry['properties'].items()
                                   if k not in entry['operator_properties']}, **(release_props.get(key) or {}))
    _previous_visibility(images, inventory, operator)
    keys = [e['key'] for e in images if e.get('key')]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        raise OimError('several OIM images map to the release %s: %s' % (
            key, ', '.join(e['oim_name'] for e in images if e.get('key') == key)))
    if keep_oim_names:
        separators = {e['separator'] for e in images if e.get('key')}
        if len(separators) > 1:
            raise OimError('keep_oim_names needs one separator for all images, found %r' % sorted(separators))
        separator = separators.pop() if separators else ' '
        inventory.update(image_sync_naming='scs', image_sync_base_name='scs',
                         image_sync_name_templates={'latest': '{name}', 'dated': '{name}%s({build})' % separator})
    return {'images': images, 'inventory': inventory}


def _previous_visibility(images, inventory, operator):
    """OIM keeps older versions public and listed (its images' ``visibility``, public by default): so
    does the inventory written (``image_sync_previous_visibility: public``), unless the operator's says
    otherwise. The knob is one per cloud: an image it does not fit says so."""
    mapped = [e for e in images if e.get('key')]
    theirs = operator.get('image_sync_previous_visibility')
    chosen = theirs or ('public' if any(e['oim_visibility'] == 'public' for e in mapped) else None)
    if chosen is None:
        return
    inventory['image_sync_previous_visibility'] = chosen
    for entry in mapped:
        if entry['oim_visibility'] != chosen:
            entry['not_carried'].append(
                'older versions are %s in OIM: here they become %s (image_sync_previous_visibility%s), usable by '
                'UUID' % (entry['oim_visibility'], chosen, ' of your inventory' if theirs else ', one per cloud'))


def _place(entry, release, operator, keep_oim_names):
    """Say which job an OIM image of another architecture than x86_64 becomes, and under what name."""
    arch_name = str(operator.get('image_sync_arch_name') or '{name} ({arch})')
    knobs = {'base_name': 'scs' if keep_oim_names else 'display', 'naming': '', 'arch_name': arch_name}
    here = _jobs.base_name(release, knobs, entry['architecture'])
    entry['job'] = 'the %s job of %s %s (release key %s, architectures %s), named %r' % (
        entry['architecture'], entry['role'], entry['release'], entry['key'],
        ', '.join(release.get('architectures') or ()), here)
    if keep_oim_names and here != entry['oim_name']:
        note = 'name %r: an image of %s is named image_sync_arch_name (%s) over its release\'s name here: %r'
        entry['not_carried'].append(note % (entry['oim_name'], entry['architecture'], arch_name, here))


def _operator_properties(entry, role_data, operator, release_own):
    """The properties of ``entry``'s OIM overrides that the operator's inventory sets already (theirs win)."""
    theirs = {}
    for source in (operator.get('image_sync_properties'), operator.get('image_sync_extra_properties'),
                   role_data.get('properties'), release_own):
        theirs.update(source or {})
    return sorted(key for key in entry['properties'] if key in theirs)


def _digest_of(checksum):
    if not checksum or ':' not in str(checksum):
        return None
    algorithm, value = str(checksum).split(':', 1)
    return algorithm.lower(), value.lower()


def _proof(image, digests):
    """The digest (``algo:hex``) of ``digests`` Glance's own hashes of ``image`` match, or None."""
    have = {}
    if image.get('os_hash_algo') and image.get('os_hash_value'):
        have[str(image['os_hash_algo']).lower()] = str(image['os_hash_value']).lower()
    if image.get('checksum'):
        have['md5'] = str(image['checksum']).lower()
    for digest in digests:
        algorithm, value = _digest_of(digest)
        if have.get(algorithm) == value:
            return digest
    return None


def _comparable(image, digests):
    algorithms = {str(image.get('os_hash_algo') or '').lower(), 'md5' if image.get('checksum') else ''}
    return any(_digest_of(digest)[0] in algorithms for digest in digests)


def _candidates(entry, image):
    """The versions of ``entry`` that may hold ``image``'s bytes, best first: the vendor's build (its id and
    trust are the right identity for those bytes), then the version OIM named, then the others."""
    named = str((image.get('properties') or {}).get(VERSION) or '')
    return sorted(entry['versions'], key=lambda v: (not v.get('vendor'), v['version'] != named))


def _match(image, entry):
    """``(version, proof)``: the version of ``entry`` whose digests Glance's hash of ``image`` equals, or
    ``(None, None)``. Bytes decide, never version strings: OIM names a latest_url build by the day it
    found it, the vendor by its build id."""
    for version in _candidates(entry, image):
        proof = _proof(image, version.get('proof') or ())
        if proof:
            return version, proof
    return None, None


def adoption(images, entries, provider, owners, oim_tag=OIM_TAG):
    """Plan the adoption of OIM's images: ``{'adopt': [...], 'untouched': [...], 'adopted': [...]}``.

    ``images``: flat Glance images (_image_query.flatten). ``entries``: the mapped images
    (``mapping()['images']`` with ``key``), completed by ``proofs``. An image is ours to adopt when it
    carries ``oim_tag``, is owned by one of ``owners``, is active, names a mapped definition
    (``image_description``), and Glance's hash equals a proof of one of its versions (or of the vendor's
    build discovered in this run); that version's build id is recorded. One image per build: an OIM image
    with the bytes of a build already held stays untouched, whether an adopted OIM image or one the
    daily sync uploaded holds it (``images`` then includes the provider's managed images too: see
    oim_adopt). Everything else OIM-tagged is listed with why.
    """
    tag = _managed.managed_tag(provider)
    by_name = {e['oim_name']: e for e in entries if e.get('key')}
    known = {e['oim_name'] for e in entries}
    result = {'adopt': [], 'untouched': [], 'adopted': []}
    oim = sorted((i for i in images if oim_tag in (i.get('tags') or ())), key=lambda i: (str(i.get('name')), i['id']))
    held = {}  # (release key, build) -> the image holding it: adopted OIM images first, then the sync's own
    for image in oim + sorted((i for i in images if oim_tag not in (i.get('tags') or ())), key=lambda i: i['id']):
        props = image.get('properties') or {}
        if _managed.is_managed(image, provider, owners) and props.get(_managed.RELEASE) \
                and image.get('status') in _managed.DONE + _managed.IN_PROGRESS:
            held.setdefault((props[_managed.RELEASE], str(props.get(_managed.BUILD))), image['id'])
    for image in oim:
        props = image.get('properties') or {}
        summary = {'id': image['id'], 'name': image.get('name'), 'owner': image.get('owner')}
        if _managed.tagged(image, provider):
            if image.get('owner') in owners and props.get(_managed.RELEASE):
                result['adopted'].append(dict(summary, key=props.get(_managed.RELEASE),
                                              build=props.get(_managed.BUILD)))
            else:
                result['untouched'].append(dict(summary, reason='carries %s but is not ours: %s' % (
                    tag, 'owner not among owners' if image.get('owner') not in owners else 'no release property')))
            continue
        reason = _refusal(image, props, by_name, known, owners)
        if reason:
            result['untouched'].append(dict(summary, reason=reason))
            continue
        entry = by_name[props[GROUP]]
        version, proof = _match(image, entry)
        if version is None:
            result['untouched'].append(dict(summary, reason=_unproven(image, entry)))
            continue
        holder = held.setdefault((entry['key'], version['build']), image['id'])
        if holder != image['id']:
            result['untouched'].append(dict(summary, reason='the same bytes as image %s, which holds build %s of %s'
                                            % (holder, version['build'], entry['key'])))
            continue
        identity = _managed.identity(entry['key'], version['build'], version['digest'])
        identity[_managed.TRUST] = version['trust']
        result['adopt'].append(dict(summary, key=entry['key'], version=version['build'], proof=proof,
                                    tag=tag, properties=identity))
    return result


def _unproven(image, entry):
    named = str((image.get('properties') or {}).get(VERSION) or '') or None
    mine = [v for v in entry['versions'] if v['version'] == named] or entry['versions']
    digests = [d for v in mine for d in v.get('proof') or ()]
    builds = ', '.join(v['build'] + (' (the vendor\'s)' if v.get('vendor') else '') for v in entry['versions'])
    return 'bytes not proven: Glance %s %s / md5 %s match no digest vouched for %s (builds: %s)%s%s' % (
        image.get('os_hash_algo'), image.get('os_hash_value'), image.get('checksum'), entry['oim_name'],
        builds or 'none', '' if _comparable(image, digests) else
        ' (none of Glance\'s algorithms: the file was not downloaded and verified in this run)',
        '' if any(v['version'] == named for v in entry['versions']) else
        '; its internal_version %r names no pinned version' % named)


def _refusal(image, props, by_name, known, owners):
    """Why an OIM-tagged image is not adopted whatever its bytes, or None."""
    if image.get('owner') not in owners:
        return 'owned by project %s, not one of owners' % image.get('owner')
    if image.get('status') != 'active':
        return 'status %s, not active' % image.get('status')
    if image.get('protected'):
        return 'protected: never touched'
    group = props.get(GROUP)
    if group not in by_name:
        return ('its definition %r maps to no release here' % group if group in known
                else 'no OIM definition named %r (image_description)' % group)
    return None


def to_fetch(images, entries, owners, oim_tag=OIM_TAG, rewrites=None):
    """The files to download to prove OIM's images that Glance hashed with another algorithm than the
    digests known: the version OIM named (its ``url``, ``checksum``), else the vendor's build discovered in
    this run (``release``: an image OIM made from a latest pointer, named by its Last-Modified day).
    ``entries`` completed by ``proofs`` with the discovery; ``[{'oim_name', 'version', 'url', 'checksum'}
    or {'oim_name', 'version', 'release'}]``, once each; ``url`` rewritten by ``rewrites``
    (image_sync_url_rewrites: a mirror of the vendors' hosts; the discovered ``release`` is already)."""
    by_name = {e['oim_name']: e for e in entries if e.get('key')}
    wanted = {}
    for image in images:
        props = image.get('properties') or {}
        if oim_tag not in (image.get('tags') or ()) or _refusal(image, props, by_name, set(by_name), owners):
            continue
        entry = by_name[props[GROUP]]
        if _match(image, entry)[0] is not None:
            continue
        named = [v for v in entry['versions']
                 if v['version'] == str(props.get(VERSION)) and v['proof'] and v.get('url')]
        for version in named + [v for v in entry['versions'] if v.get('release')]:
            if not _comparable(image, version['proof']):
                item = ({'release': version['release']} if version.get('release') else
                        {'url': rewrite(version['url'], rewrites), 'checksum': version['checksum']})
                wanted[entry['oim_name'], version['version'], 'release' in item] = dict(
                    item, oim_name=entry['oim_name'], version=version['version'])
                break
    return [wanted[key] for key in sorted(wanted)]


def with_proofs(entries, fetched=(), discovered=()):
    """``proofs`` of every mapped entry; ``fetched``: image_fetch results, each with ``item`` (a to_fetch
    entry); ``discovered``: upstream_release results, each with ``item`` (a mapped entry) and ``release``
    (the vendor's newest build, its checksum verified in this run: signed or over TLS)."""
    by_entry, releases = {}, {}
    for result in fetched or ():
        item = result.get('item') or {}
        if not result.get('failed') and item.get('oim_name'):
            kind = 'release' if item.get('release') else 'file'
            by_entry.setdefault(item['oim_name'], {})[kind, str(item['version'])] = result
    for result in discovered or ():
        item = result.get('item') or {}
        if not result.get('failed') and item.get('oim_name') and result.get('release'):
            releases[item['oim_name']] = result['release']
    return [proofs(dict(entry, versions=[dict(v) for v in entry['versions']]), releases.get(entry['oim_name']),
                   by_entry.get(entry['oim_name'])) if entry.get('key') else entry for entry in entries]


def proofs(entry, discovered=None, fetched=None):
    """Fill each version of ``entry`` with ``proof`` (a list of ``algo:hex``), ``digest``, ``trust`` and
    ``build`` (the build id to record).

    The definition's checksum vouches as ``operator-checksum``. A discovered release (upstream_release's
    ``release``) with the same digest is that version: its build id and the vendor's trust (signed or
    tls-only) are recorded, whatever OIM's version string (contrib/update.py versions a latest_url build
    by the file's Last-Modified day, Debian's and Ubuntu's by their directory's date without the build
    number). A version named like the vendor's build with another digest of the same algorithm proves
    nothing (they disagree). A discovered build no version has is a version of its own (``release``), to
    prove an image OIM made from a latest pointer. ``fetched`` ``{('file'|'release', version):
    image_fetch result}`` adds the digests of the file downloaded and verified in this run (and of its
    raw conversion).
    """
    found = _digest_of((discovered or {}).get('checksum'))
    vendor_version = str(discovered['version']) if found else None
    vendor = None
    for version in entry['versions']:
        digest = _digest_of(version.get('checksum'))
        version.update(proof=[], trust='operator-checksum', build=version['version'])
        version['digest'] = '%s:%s' % digest if digest else None
        if found and (digest == found or not digest and version['version'] == vendor_version):
            digest, vendor = found, version
            version.update(build=vendor_version, digest='%s:%s' % found, trust=_managed.trust(discovered),
                           vendor=True)
        elif found and version['version'] == vendor_version and digest[0] == found[0]:
            vendor = version
            continue  # the vendor and the definition disagree: prove nothing
        if digest:
            version['proof'].append('%s:%s' % digest)
        _add_fetched(version, digest, (fetched or {}).get(('file', version['version'])))
    if found and vendor is None:
        version = {'version': vendor_version, 'build': vendor_version, 'digest': '%s:%s' % found, 'vendor': True,
                   'trust': _managed.trust(discovered), 'proof': ['%s:%s' % found], 'release': discovered}
        _add_fetched(version, found, (fetched or {}).get(('release', vendor_version)))
        entry['versions'].append(version)
    return entry


def _add_fetched(version, digest, result):
    """The digests of a download verified against ``digest`` in this run, as proofs of ``version``."""
    if result and digest and (result.get('upstream_digests') or {}).get(digest[0]) == digest[1]:
        for source in (result.get('digests') or {}, ((result.get('raw') or {}).get('digests') or {})):
            version['proof'] += ['%s:%s' % (a, str(v).lower()) for a, v in sorted(source.items())]
