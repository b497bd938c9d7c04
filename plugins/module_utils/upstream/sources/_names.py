# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""What a controller-side report needs of the sources, without importing them.

``_registry`` imports every source class with its parsers, keys and HTTP; the ``sync`` filter
only words an image_description and needs the source names and default compressions. The
classes read their ``compression`` from here (a unit test checks both agree with ``_registry``).
"""

from __future__ import annotations

COMPRESSIONS = ('none', 'xz', 'bz2', 'gz')

NAMES = ('ubuntu', 'ubuntu_minimal', 'debian', 'rocky', 'almalinux', 'fedora', 'fedora_coreos', 'flatcar', 'cirros',
         'checksum_file', 'local_artifact')

# The compression of a source's upstream file when its options name none, if not 'none'.
COMPRESSION = {'fedora_coreos': 'xz', 'flatcar': 'bz2'}
