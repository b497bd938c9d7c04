# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""The collection's architecture names and each vendor's spelling of them, in one table.

The collection says ``x86_64`` and ``aarch64`` (Glance's and SCS's ``architecture``); vendors name
their trees, files and indexes their own way. An architecture missing from a vendor's row is one
the vendor publishes no cloud image for: its sources refuse it by name.
"""

from __future__ import annotations

# The architecture of a release that names none. SCS-0104's standard names mean it, so its images
# keep the plain names and release keys (``_managed.release_key``, ``_jobs.base_name``).
DEFAULT_ARCH = 'x86_64'
ARCHITECTURES = (DEFAULT_ARCH, 'aarch64', 'ppc64le', 's390x')
SAME = {'x86_64': 'x86_64', 'aarch64': 'aarch64'}
DEBIAN_STYLE = {'x86_64': 'amd64', 'aarch64': 'arm64'}

SPELLINGS = {
    'ubuntu': DEBIAN_STYLE,          # simplestreams "arch", ubuntu-24.04-server-cloudimg-arm64.img
    'ubuntu_minimal': DEBIAN_STYLE,
    'debian': DEBIAN_STYLE,          # debian-13-genericcloud-arm64.json
    'rocky': SAME,                   # /pub/rocky/10/images/aarch64/
    'almalinux': SAME,               # /almalinux/10/cloud/aarch64/images/
    'fedora': SAME,                  # releases.json "arch", Cloud/aarch64/images/
    'fedora_coreos': SAME,           # the stream's "architectures"
    'flatcar': {'x86_64': 'amd64-usr', 'aarch64': 'arm64-usr'},   # boards
    'cirros': SAME,                  # cirros-0.6.3-aarch64-disk.img
    # The operator's URLs and options say the architecture (options.architectures, see _base).
    'checksum_file': {arch: arch for arch in ARCHITECTURES},
    'local_artifact': {arch: arch for arch in ARCHITECTURES},
}


def spelling(source, arch):
    """The vendor's name of ``arch`` for the source named ``source``, or None when it builds none."""
    return SPELLINGS.get(source, {}).get(arch)
