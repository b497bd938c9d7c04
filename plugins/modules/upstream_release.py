#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: upstream_release
short_description: Find the newest verified upstream build of a cloud image release
version_added: 0.1.0
description:
  - Finds the newest build of one release of a vendor's cloud image (Ubuntu, Ubuntu Minimal,
    Debian, Rocky Linux, AlmaLinux, Fedora Cloud, Fedora CoreOS, Flatcar, CirrOS), of any
    directory with a checksum file, or describes a provider-built image (local artifact).
  - Returns the download URL, the canonical C(image_source) URL and the published digest, read
    from the vendor's checksum metadata after checking its OpenPGP signature against the pinned
    fingerprints of O(signing_keys) (or O(trusted_fingerprints)). Verification fails closed.
  - The pins are data - the distribution roles ship them as C(<distribution>_signing_keys) - so
    adding a release's key is a data change. The vendor's keyring is downloaded into O(cache_dir)
    and fetched again when it lacks every pinned key, when it is older than 7 days, or when a
    signature names a missing or expired key (a rotated subkey); the signature is then checked
    once more. The pins stay the trust anchor, so a new keyring cannot make another signer pass.
  - Lines of a checksum file that do not parse and do not concern the chosen file are ignored
    and reported in RV(release.warnings); the chosen file's own line is read strictly.
  - Debian, Rocky Linux 9 and CirrOS publish no signature over their checksums. They need
    O(allow_unsigned=true), and their checksum metadata must then come over HTTPS (plain HTTP
    only from a loopback host, so a local mirror keeps working).
  - A day without a new build costs one conditional request per release. The validators
    (ETag, Last-Modified) of the release's entry document and the last verified result are kept
    under O(cache_dir); a C(304 Not Modified) answer reuses that result.
  - "Rollback guard. The newest build verified by this module (or given in O(published)) for each
    release is remembered under O(cache_dir) (C(state/newest/)), whatever the other settings. A
    verified build older than it (a replayed old index; old signed checksum files stay valid) fails
    the release with C(upstream index went back from X to Y: refusing a rollback). If upstream
    really withdrew the newer build, accept that step back with O(accept_withdrawal)."
  - Fedora CoreOS artifacts must be on C(https://builds.coreos.fedoraproject.org/), in the
    directory of the release the stream names (checked before O(url_rewrites) apply); the
    rewritten URL must be HTTPS or plain HTTP from a loopback host. The stream's major version
    picks the signing key only among the pinned Fedora keys above.
  - Never changes anything but its own cache, so it always reports C(changed=false). In check
    mode it writes no state file and no key file.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  source:
    description:
      - The kind of upstream.
      - V(checksum_file) is a directory with a checksum file; O(options) give C(url) (the
        directory), C(checksum_file) (default C(SHA256SUMS)), C(pattern) (a regex matching the
        whole image file name, the version in a group named C(version) or group 1; the highest
        version wins, compared version-aware), and optionally C(signature) (V(none), V(detached)
        with C(signature_file), default the checksum file name plus C(.asc), or V(clearsigned)),
        C(distro), C(login_user), C(disk_format), C(compression), C(image_source),
        C(architectures) (the architectures the provider builds it for, such as V([x86_64])), and
        C(version_from) (V(name), default, or V(last_modified), which versions a fixed file name such as
        C(...-latest.qcow2) C(YYYYMMDD) by the checksum file's Last-Modified date, as
        openstack-image-manager versions its C(latest_url)).
      - V(local_artifact) is a provider-built image; O(options) give C(path) or C(url),
        C(checksum) (C(sha256:<hex>)), C(version), and optionally C(build_date) (default the
        date in the version, or the file's modification date), C(filename), C(distro),
        C(login_user), C(disk_format), C(compression), C(image_source) (default C(private)),
        C(architectures) as for V(checksum_file).
        No request is made.
      - V(rocky) takes C(variant) in O(options) (V(Base), default, or V(LVM)).
      - V(debian) takes C(codename) in O(options) for a release newer than the collection
        knows (up to 15, V(duke)), the directory of its cloud images, such as V(forky).
    type: str
    required: true
    choices: [ubuntu, ubuntu_minimal, debian, rocky, almalinux, fedora, fedora_coreos, flatcar, cirros, checksum_file,
              local_artifact]
  release:
    description:
      - The release, as the vendor numbers it, for example V(24.04), V(12), V(9), V(44);
        the stream for Fedora CoreOS (V(stable)), the channel for Flatcar (V(stable)), the
        series for CirrOS (V(0.6)).
      - V(current) for Fedora is the newest release in C(releases.json) (no beta); the result
        names the concrete release.
    type: str
    required: true
  arch:
    description:
      - Architecture, mapped to the vendor's name (V(amd64) and V(arm64) for Ubuntu and Debian,
        the boards V(amd64-usr) and V(arm64-usr) for Flatcar) by one table,
        C(module_utils/upstream/sources/_arches.py).
      - A vendor that builds no image for it, a release the vendor lists for other architectures
        only, or a provider artifact whose O(options) C(architectures) leaves it out fails with a
        message that says so.
    type: str
    default: x86_64
    choices: [x86_64, aarch64, ppc64le, s390x]
  options:
    description:
      - Source-specific settings, see O(source).
    type: dict
    default: {}
  url_rewrites:
    description:
      - Canonical URL prefix to replacement, applied (longest prefix first) to every URL
        fetched and to every URL returned except RV(release.image_source).
      - 'A local mirror that serves C(https://HOST/PATH) at C(http://127.0.0.1:PORT/HOST/PATH) is
        mapped with V({"https://": "http://127.0.0.1:PORT/"}).'
    type: dict
    default: {}
  keyring:
    description:
      - OpenPGP keyring (binary, keybox or armored) to verify signatures with, instead of the
        vendor key downloaded from the vendor's site into O(cache_dir).
      - Signers must still match the pinned fingerprints, or O(trusted_fingerprints).
    type: path
  trusted_fingerprints:
    description:
      - Full fingerprints of the accepted signers, replacing O(signing_keys).
    type: list
    elements: str
  signing_keys:
    description:
      - Pinned signer fingerprints by version - the release (Fedora, AlmaLinux, Rocky Linux), the
        Fedora major version of the build (Fedora CoreOS) - or C(*) for any version (Ubuntu,
        Flatcar). A value is a fingerprint or a list of them (full fingerprints; a signing subkey of
        a listed primary key is accepted).
      - The distribution roles pass C(<distribution>_signing_keys). Without it or
        O(trusted_fingerprints) a signing source fails with "no pinned signing key".
    type: dict
    default: {}
  allow_unsigned:
    description:
      - Accept sources that publish no signature (Debian, Rocky Linux, CirrOS, an unsigned
        V(checksum_file)). Their checksum metadata must come over HTTPS, or plain HTTP from a
        loopback host.
      - Has no effect on sources that sign; their signatures are always checked.
    type: bool
    default: false
  cache_dir:
    description:
      - Directory for the remembered state (C(state/)) and downloaded vendor keys (C(keys/)).
    type: path
    default: ~/.cache/cloudimages
  published:
    description:
      - A C(release) this module returned, now published in a cloud (verified, uploaded, boot-tested,
        promoted). Discovers nothing; remembers it for the rollback guard (C(state/newest/)) unless a
        build at least as new is remembered, since discovery in the daily sync
        (M(cloudimages.openstack.release_status_info)) remembers only published builds. The daily sync
        has M(cloudimages.openstack.image_rotate) do the same when it promotes
        (O(cloudimages.openstack.image_rotate#module:remember)).
    type: dict
  accept_withdrawal:
    description:
      - The operator accepts that the vendor withdrew build O(accept_withdrawal.withdrawn) (the newest
        remembered) and went back to O(accept_withdrawal.back_to) - exactly that step back, and only
        while the memory holds the withdrawn build; any other older build is still a refused rollback.
      - The memory keeps the withdrawn build, so keep the option until upstream publishes a newer build
        than it (it has no effect from then on). The rollback error names both builds.
      - The same value as the rotation policy's C(accept_withdrawal) (M(cloudimages.openstack.image_rotate)).
  checked_since:
    description:
      - Reuse, without asking upstream, a result checked at or after this time (seconds since the
        epoch). The daily sync passes the start of its run; the clouds of a run check a release
        one after another (they wait for each other on a lock per release), so a run makes one
        upstream request per release however many clouds it syncs.
      - Unset, upstream is asked (conditionally) every time.
    type: float
  timeout:
    description:
      - Timeout in seconds of each HTTP request.
    type: int
    default: 30
  transfer_deadline:
    description:
      - Seconds one transfer (a document, signature or key), all retries included, may take before
        the release fails. Bounds a server that drips bytes too slowly for O(timeout) to fire.
      - A dropped transfer or a connection error is retried like an image download.
    type: int
    default: 1800
  retries:
    description:
      - Retries of a failed request (connection error, HTTP 408, 429, 5xx) or a dropped transfer,
        with exponential backoff, as for image downloads.
    type: int
    default: 5
  today:
    description:
      - The date (YYYY-MM-DD) the vendor's end-of-support dates are compared with; UTC today when unset.
      - A release the vendor says has reached its end of life (Ubuntu C(supported=false) or a past
        C(support_eol), a release Fedora no longer lists) fails with RV(end_of_life) set.
    type: str
requirements:
  - python-requests
  - gpgv (GnuPG) for sources that sign
extends_documentation_fragment:
  - cloudimages.openstack.policy.withdrawal
  - cloudimages.openstack.attributes.info_module
  - cloudimages.openstack.attributes.posix
"""

EXAMPLES = r"""
- name: Newest Ubuntu 24.04 build
  cloudimages.openstack.upstream_release:
    source: ubuntu
    release: "24.04"
    signing_keys:
      "*": [D2EB44626FDDC30B513D5BB71A5D6C4C7DB87C81]
  register: ubuntu

- name: Debian 12 publishes no signature; accept HTTPS-only integrity
  cloudimages.openstack.upstream_release:
    source: debian
    release: "12"
    allow_unsigned: true

- name: Through a local mirror; image_source keeps the canonical URL
  cloudimages.openstack.upstream_release:
    source: almalinux
    release: "9"
    signing_keys:
      "9": [BF18AC2876178908D6E71267D36CB86CB86B3716]
    url_rewrites:
      "https://": "http://127.0.0.1:8080/"

- name: A provider's own Windows build in an artifact store with a SHA256SUMS file
  cloudimages.openstack.upstream_release:
    source: checksum_file
    release: "2022"
    allow_unsigned: true
    options:
      url: https://artifacts.example.com/windows/2022/
      pattern: 'windows-server-2022-datacenter-gui-([0-9]{8})\.qcow2'
      distro: windows
      login_user: Admin
      image_source: private

- name: A provider-built image given by path and checksum
  cloudimages.openstack.upstream_release:
    source: local_artifact
    release: "2025"
    options:
      path: /srv/images/windows-server-2025-20261116.qcow2
      checksum: "sha256:{{ windows_sha256 }}"
      version: "20261116"
      distro: windows
      login_user: Admin
"""

RETURN = r"""
release:
  description: The newest build, as every later step (image_fetch, image_upload) takes it.
  returned: success
  type: dict
  contains:
    key:
      description: Release key, the release group in Glance (C(-<arch>) appended unless x86_64).
      type: str
      sample: ubuntu-24.04
    distro:
      description: Source family.
      type: str
      sample: ubuntu
    release:
      description: The release asked for.
      type: str
      sample: "24.04"
    version:
      description: Upstream build id (serial, build, compose, version).
      type: str
      sample: "20261116"
    build_date:
      description: ISO date of the upstream build.
      type: str
      sample: "2026-11-16"
    url:
      description: Where to download the bytes (rewritten by O(url_rewrites)).
      type: str
      sample: https://cloud-images.ubuntu.com/releases/noble/release-20261116/ubuntu-24.04-server-cloudimg-amd64.img
    image_source:
      description: Canonical upstream URL (SCS C(image_source)), never rewritten; C(private) for provider images.
      type: str
      sample: https://cloud-images.ubuntu.com/releases/noble/release-20261116/ubuntu-24.04-server-cloudimg-amd64.img
    filename:
      description: The file name as the vendor lists it.
      type: str
      sample: ubuntu-24.04-server-cloudimg-amd64.img
    checksum:
      description: C(<algorithm>:<hex>) of the published file (compressed if compressed).
      type: str
      sample: "sha256:8f3c..."
    checksum_url:
      description: The metadata the digest was read from.
      type: str
    signature:
      description: Signature over that metadata.
      type: dict
      contains:
        kind:
          description: V(detached), V(clearsigned) or V(none).
          type: str
        url:
          description: Signature URL (the document itself when clearsigned).
          type: str
        fingerprint:
          description: Verified signer (primary key fingerprint), null when V(none).
          type: str
    image_signature_url:
      description: Detached signature over the image itself (Fedora CoreOS, Flatcar), verified by image_fetch.
      type: str
    trust:
      description: Keyring path and pinned fingerprints the signatures were (and are to be) checked with.
      type: dict
      contains:
        keyring:
          description: Keyring file.
          type: str
        fingerprints:
          description: Accepted signers.
          type: list
          elements: str
    disk_format:
      description: Disk format after decompression.
      type: str
      sample: qcow2
    compression:
      description: V(none), V(xz), V(bz2) or V(gz).
      type: str
      sample: none
    login_user:
      description: Default login user (SCS C(image_original_user)).
      type: str
      sample: ubuntu
    warnings:
      description: What discovery ignored, for example checksum lines about other files that do not parse.
      type: list
      elements: str
    lifecycle:
      description: What the vendor's index says of the release's support (Ubuntu), absent for other vendors.
      type: dict
      returned: when the vendor says it
      contains:
        supported:
          description: The vendor's C(supported) flag.
          type: bool
        support_eol:
          description: The vendor's end of support (ISO date).
          type: str
end_of_life:
  description: On failure because the vendor says the release has reached its end of life, the date or true.
  returned: failed
  type: raw
upstream_unchanged:
  description: True when upstream has no new build since the last run and the remembered verified result was returned.
  returned: success
  type: bool
requests:
  description: Number of HTTP requests made (redirects count).
  returned: always
  type: int
  sample: 1
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream._http import REQUESTS_IMPORT_ERROR
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, EndOfLife)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._engine import (
    DISCOVER_SPEC, discover_from, remember_published)


def main():
    module = AnsibleModule(argument_spec=dict(DISCOVER_SPEC, published=dict(type='dict')), supports_check_mode=True)
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    if module.params['published'] is not None:
        try:
            changed = remember_published(module.params, module.params['published'], module.check_mode)
        except (DiscoveryError, OSError) as exc:
            module.fail_json(msg='upstream_release: %s' % exc, requests=0)
        module.exit_json(changed=changed, release=module.params['published'], upstream_unchanged=True, requests=0)
    try:
        release, unchanged, count = discover_from(module.params, check_mode=module.check_mode)
        for warning in release.get('warnings') or ():
            module.warn(warning)
    except EndOfLife as exc:
        module.fail_json(msg=str(exc), end_of_life=exc.date, requests=exc.requests)
    except DiscoveryError as exc:
        module.fail_json(msg=str(exc), requests=getattr(exc, 'requests', 0))
    except OSError as exc:  # the local cache or state directory
        module.fail_json(msg='upstream_release: %s' % exc, requests=0)
    module.exit_json(changed=False, release=release, upstream_unchanged=unchanged, requests=count)


if __name__ == '__main__':
    main()
