#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_fetch
short_description: Download an upstream cloud image once, verify, inspect and optionally convert it to raw
version_added: 0.1.0
description:
  - Downloads the image a release describes into a cache of verified files shared by every cloud
    of a run and by later runs, keyed by digest. N clouds cost one download.
  - One streamed pass computes the upstream digest and the md5, sha256 and sha512 later steps
    need. Dropped transfers resume with HTTP Range requests, also across runs; failed requests
    are retried with exponential backoff.
  - Verifies the vendor's detached signature over the image file when there is one
    (O(image_signature_url), Fedora CoreOS and Flatcar style) with C(gpgv), against the pinned
    fingerprints. It fails closed. A missing, bad or unpinned signature is an error, and the
    download is removed from the cache.
  - An image without O(image_signature_url) is accepted on its checksum alone. That is safe when
    the checksum comes from signed metadata, as the C(release) of
    M(cloudimages.openstack.upstream_release) does.
  - Expands xz, bz2 and gzip images in a stream, with a cap on the expanded size, and caches the
    expanded file too, so no later cloud or run decompresses again.
  - Inspects the image before anything can use it, with the format inspector Nova and Glance
    use. It rejects qcow2 images with a backing file, an external data file or encryption, and
    any mismatch with O(disk_format).
  - With O(convert_to_raw), converts the image with C(qemu-img) (explicit input format) to raw
    for clouds that store raw, and caches the result. The md5 of the raw file is the C(checksum)
    Glance shows on such a cloud.
  - A failed step leaves nothing half-made in the cache. A verified compressed download stays
    when decompression, inspection or conversion fails. An image that fails inspection, and any
    partly expanded or converted file, never stays.
  - A local file (O(path), or a C(file://) URL as a release of the C(local_artifact) source has)
    is copied into the cache, hashed in the same pass, and goes through the same checks.
  - Modules cannot print while they run. To watch a long download, set O(progress_file) and run
    C(tail -f) on it. Progress is also logged to syslog or the journal every 10%.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  release:
    description:
      - The C(release) dict returned by M(cloudimages.openstack.upstream_release).
      - Uses its keys C(url), C(checksum), C(image_signature_url), C(trust.keyring),
        C(trust.fingerprints), C(compression), C(disk_format) and C(filename).
      - Explicit options override the matching keys of the release.
    type: dict
  url:
    description:
      - URL of the image file as published (compressed if the vendor compresses it).
      - C(http), C(https) and C(file) URLs (C(file:///path/to/image), a file of the host the module
        runs on). A redirect that changes the scheme is refused.
    type: str
  path:
    description:
      - A local image file on the host the module runs on, instead of O(url); same as the
        C(file://) URL of its absolute path.
    type: path
  checksum:
    description:
      - Expected digest of the published file, C(<algorithm>:<hex>), for example C(sha256:9f86d0...).
      - A bare hex digest is accepted; the algorithm follows from its length.
      - C(sha256) or stronger; an C(md5) or C(sha1) digest is refused.
      - Required for a local file too, whose copy in the cache is verified against it.
    type: str
  image_signature_url:
    description:
      - URL of a detached OpenPGP signature over the published image file.
      - When set, O(keyring) and O(trusted_fingerprints) are required and the signature must verify.
      - An empty string is the same as not setting it (the release's URL, if any, is used).
    type: str
  keyring:
    description:
      - Local keyring file (binary, keybox or armored) holding the vendor's public key.
    type: path
  trusted_fingerprints:
    description:
      - Full fingerprints of the keys whose signatures are accepted. A signing subkey of a listed
        primary key is accepted.
    type: list
    elements: str
  compression:
    description:
      - Compression of the published file. V(auto) derives it from the file name's suffix
        (C(.xz), C(.bz2), C(.gz)). The file's magic bytes must agree.
      - Defaults to the release's C(compression), else V(auto).
    type: str
    choices: [auto, none, xz, bz2, gz, gzip]
  disk_format:
    description:
      - Expected disk format after decompression, for example V(qcow2), V(raw), V(vmdk), V(vhdx).
      - Any other detected format is an error.
      - Defaults to the release's C(disk_format); without it, V(qcow2) and V(raw) are accepted.
    type: str
  filename:
    description:
      - The file name as the vendor lists it, used for O(compression=auto) and messages.
      - Defaults to the release's C(filename), else the last part of the URL.
    type: str
  convert_to_raw:
    description:
      - Also provide a raw conversion of the image (for clouds that store raw), returned in RV(raw).
    type: bool
    default: false
  cache_dir:
    description:
      - Directory of the shared cache of verified files. Concurrent runs may share it. They wait on
        a per-file lock, and files appear only complete (atomic rename).
      - The cache is untrusted storage. Every file in it is proven in the run that uses it (the
        download against its digest, an expanded file by expanding the download again into hashes,
        a raw file by C(qemu-img compare)), so a group-writable directory (an execution environment,
        an C(fsGroup) volume) is fine. A symlinked directory is refused.
    type: path
    default: ~/.cache/cloudimages
  cache_max_age_days:
    description:
      - After its own work, remove from O(cache_dir) what was not used for this many days -
        downloads, their expansions and raw conversions, and partial transfers left by killed runs.
        A file's use is its last lookup by any module or cloud, so one in use is never removed.
      - Keyrings and the discovery state (which remembers the newest verified build of each release)
        are kept. The lock files of a download go with it, once no run holds them. V(0) keeps everything.
      - In check mode, the files are only named in RV(pruned).
    type: int
    default: 0
  max_size:
    description:
      - Largest download accepted, in bytes.
    type: int
    default: 21474836480
  max_expanded_size:
    description:
      - Largest decompressed size accepted, in bytes. Expansion stops at this size, so a
        decompression bomb fills no disk.
    type: int
    default: 68719476736
  max_virtual_size:
    description:
      - Largest virtual disk size accepted, in bytes. It also bounds the raw file of O(convert_to_raw).
    type: int
    default: 137438953472
  timeout:
    description:
      - Seconds to wait for a connection and for each read from it.
    type: int
    default: 60
  retries:
    description:
      - Retries of a failed request or a dropped transfer. A dropped transfer resumes where it broke.
      - The same policy applies to the image signature.
    type: int
    default: 5
  transfer_deadline:
    description:
      - Seconds one transfer (the image or its signature), all retries included, may take before
        it fails. Bounds a server that drips bytes slowly enough never to trip O(timeout). A
        download that runs out of time keeps what arrived; the next run resumes it.
    type: int
    default: 1800
  progress_file:
    description:
      - File to which progress lines are appended while the module runs (step, percent, MiB, MiB/s).
        Watch it with C(tail -f).
    type: path
requirements:
  - requests
  - oslo.utils >= 7.4 (format inspection)
  - gpgv (GnuPG), when the image is signed
  - qemu-img, for O(convert_to_raw)
notes:
  - The digests are computed inside the download stream, so the file is read only once.
    C(benchmarks/fetch.py) measured a 1 GiB image on 2 idle cores. Over a 100 MiB/s link
    limited by the server, fetch and verify took 1.01 times as long as C(curl) alone and 0.76
    times as long as C(curl) followed by C(sha256sum). Over unlimited loopback (665 MiB/s) the
    three digests are the bottleneck, at 3.1 times C(curl) alone and 0.66 times C(curl) plus
    C(sha256sum). Peak memory was 42 MiB for both 1 GiB and 4 GiB images.
  - Run the module on the controller (C(connection=local)) so that every cloud of the run shares
    the cache.
attributes:
  check_mode:
    support: full
    details: Downloads nothing. Returns the full result when everything is cached, otherwise
      C(changed=true) and no RV(path).
  diff_mode:
    support: full
    details: Lists the cache entries (download, expanded, raw) before and after.
extends_documentation_fragment:
  - cloudimages.openstack.attributes.posix
  - cloudimages.openstack.attributes
"""

EXAMPLES = r"""
- name: Fetch the release upstream_release found, once for all clouds
  cloudimages.openstack.image_fetch:
    release: "{{ ubuntu.release }}"
    progress_file: /tmp/image_fetch.progress   # tail -f /tmp/image_fetch.progress
  register: image
  run_once: true
  delegate_to: localhost

- name: A signed, compressed image given explicitly, converted for a raw-storing cloud
  cloudimages.openstack.image_fetch:
    url: "{{ fcos_base }}/fedora-coreos-{{ fcos_version }}-openstack.x86_64.qcow2.xz"
    checksum: sha256:0c4d8b1e5a2f6c9b7d3e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c
    image_signature_url: "{{ fcos_base }}/fedora-coreos-{{ fcos_version }}-openstack.x86_64.qcow2.xz.sig"
    keyring: /etc/cloudimages/keys/fedora.gpg
    trusted_fingerprints: [C6E7F081CF80E13146676E88829B606631645531]
    disk_format: qcow2
    convert_to_raw: true
  vars:
    fcos_base: https://builds.coreos.fedoraproject.org/prod/streams/stable/builds/43.20251110.3.1/x86_64
    fcos_version: 43.20251110.3.1
  register: fcos

- name: A local image file, verified against the checksum its build produced
  cloudimages.openstack.image_fetch:
    path: /srv/images/app-server-1.4.qcow2
    checksum: sha256:3556309da16293248e03d3f070368eecae7476f5aca5dd89f9a5115dd8f5eb83
    disk_format: qcow2
  register: own
"""

RETURN = r"""
pruned:
  description:
    - With O(cache_max_age_days), what was removed from the cache (in check mode, what would be) -
      C(removed), names such as C(files/sha256-<hex>) or C(partial/<name>), and C(bytes) freed.
  returned: success
  type: dict
  sample:
    removed: [files/sha256-3556309da16293248e03d3f070368eecae7476f5aca5dd89f9a5115dd8f5eb83]
    bytes: 629145600
path:
  description: The verified, inspected image in the cache (expanded when the vendor compresses it).
  returned: success, and in check mode when cached
  type: str
  sample: /home/ops/.cache/cloudimages/files/sha256-3556309da16293248e03d3f070368eecae7476f5aca5dd89f9a5115dd8f5eb83
size:
  description: Size in bytes of the file at RV(path).
  returned: success, and in check mode when cached
  type: int
  sample: 24576
format:
  description: Detected disk format of the file at RV(path).
  returned: success, and in check mode when cached
  type: str
  sample: qcow2
virtual_size:
  description: Virtual disk size in bytes.
  returned: success, and in check mode when cached
  type: int
  sample: 16777216
min_disk:
  description: Virtual size rounded up to whole GiB, for Glance's C(min_disk).
  returned: success, and in check mode when cached
  type: int
  sample: 1
digests:
  description: Hex digests of the file at RV(path) (md5, sha256, sha512 and the upstream algorithm).
  returned: success, and in check mode when cached
  type: dict
  sample: {md5: 6f7675e951cb58fade5374036d28d156, sha256: 949264ab..., sha512: 75ba7de4...}
upstream_digests:
  description: Hex digests of the published file as downloaded (before decompression).
  returned: success, and in check mode when cached
  type: dict
  sample: {md5: 3deb980d15072b1615885416fb60ffb1, sha256: 8ffd7789..., sha512: afd7a7ec...}
raw:
  description:
    - The raw conversion, when O(convert_to_raw) is set (RV(path) itself when that is raw already).
    - Null without O(convert_to_raw).
  returned: success, and in check mode when cached
  type: dict
  contains:
    path:
      description: Raw file in the cache.
      type: str
    size:
      description: Its size in bytes (the virtual size).
      type: int
    digests:
      description:
        - Its md5, sha256, sha512 (and upstream algorithm).
        - The md5 is Glance's C(checksum) on a raw-storing cloud.
      type: dict
signer:
  description: Fingerprint of the pinned key that signed the image file, null when the vendor signs no image file.
  returned: success, and in check mode when cached
  type: str
  sample: F9968AFA1E69FA456C9C10C8C139041AEB1EAA8B
from_cache:
  description: True when everything came from the cache (nothing downloaded, expanded or converted).
  returned: always
  type: bool
  sample: true
"""

import os
import pathlib

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudimages.openstack.plugins.module_utils.image._diskimage import (
    FORMAT_INSPECTOR_IMPORT_ERROR)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import (
    REQUESTS_IMPORT_ERROR, TRANSFER_DEADLINE, make_session)
from ansible_collections.cloudimages.openstack.plugins.module_utils.image._verified_image import (
    ImageFetchError, Limits, Progress, lookup, obtain, prune_cache, resolve_source)

ARGUMENT_SPEC = dict(
    release=dict(type='dict'),
    url=dict(type='str'),
    path=dict(type='path'),
    checksum=dict(type='str'),
    image_signature_url=dict(type='str'),
    keyring=dict(type='path'),
    trusted_fingerprints=dict(type='list', elements='str'),
    compression=dict(type='str', choices=['auto', 'none', 'xz', 'bz2', 'gz', 'gzip']),
    disk_format=dict(type='str'),
    filename=dict(type='str'),
    convert_to_raw=dict(type='bool', default=False),
    cache_dir=dict(type='path', default='~/.cache/cloudimages'),
    cache_max_age_days=dict(type='int', default=0),
    max_size=dict(type='int', default=20 * (1 << 30)),
    max_expanded_size=dict(type='int', default=64 * (1 << 30)),
    max_virtual_size=dict(type='int', default=128 * (1 << 30)),
    timeout=dict(type='int', default=60),
    retries=dict(type='int', default=5),
    transfer_deadline=dict(type='int', default=TRANSFER_DEADLINE),
    progress_file=dict(type='path'),
)


def _entries(result):
    if not result or not result.get('path'):
        return []
    entries = [result['path']]
    if result.get('raw') and result['raw']['path'] != result['path']:
        entries.append(result['raw']['path'])
    return entries


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_one_of=[('release', 'url', 'path')],
                           mutually_exclusive=[('url', 'path')], supports_check_mode=True)
    for error, library in ((REQUESTS_IMPORT_ERROR, 'requests'), (FORMAT_INSPECTOR_IMPORT_ERROR, 'oslo.utils>=7.4')):
        if error:
            module.fail_json(msg=missing_required_lib(library), exception=error)
    params = module.params
    for name in ('max_size', 'max_expanded_size', 'max_virtual_size', 'timeout', 'transfer_deadline'):
        if params[name] <= 0:
            module.fail_json(msg='%s must be positive, got %d' % (name, params[name]))
    for name in ('retries', 'cache_max_age_days'):
        if params[name] < 0:
            module.fail_json(msg='%s must not be negative, got %d' % (name, params[name]))
    limits = Limits(params['max_size'], params['max_expanded_size'], params['max_virtual_size'])
    try:
        url = pathlib.Path(os.path.abspath(params['path'])).as_uri() if params['path'] else params['url']
        source = resolve_source(params['release'], url, params['checksum'], params['image_signature_url'],
                                params['keyring'], params['trusted_fingerprints'], params['compression'],
                                params['disk_format'], params['filename'])
        before = None
        if module.check_mode or module._diff:
            before = lookup(source, params['cache_dir'], params['convert_to_raw'], limits)
        if module.check_mode:
            result = before or {'changed': True, 'from_cache': False}
        else:
            progress = Progress(params['progress_file'], module.log)
            result = obtain(source, params['cache_dir'], make_session(retries=params['retries']),
                            params['convert_to_raw'], limits, timeout=(params['timeout'], params['timeout']),
                            retries=params['retries'], deadline=params['transfer_deadline'], progress=progress)
        result['pruned'] = prune_cache(params['cache_dir'], params['cache_max_age_days'], source, result,
                                       dry_run=module.check_mode)
        result['changed'] = result['changed'] or bool(result['pruned']['removed'])
    except ImageFetchError as exc:
        module.fail_json(msg=str(exc))
    result.pop('made', None)
    if module._diff:
        after = _entries(result) or ['(new files for %s)' % source.url]
        result['diff'] = {'before': {'cached': _entries(before)}, 'after': {'cached': after}}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
