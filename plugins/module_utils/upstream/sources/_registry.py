# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Source classes by the name the module's ``source`` option takes."""

from __future__ import annotations

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._checksum_dir import (
    AlmaLinux, ChecksumFile, Rocky,
)
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._cirros import CirrOS
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._debian import Debian
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._fedora import Fedora, FedoraCoreOS
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._flatcar import Flatcar
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._local import LocalArtifact
from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._ubuntu import (
    Ubuntu, UbuntuMinimal)

SOURCES = {cls.name: cls for cls in (
    Ubuntu, UbuntuMinimal, Debian, Rocky, AlmaLinux, Fedora, FedoraCoreOS, Flatcar, CirrOS,
    ChecksumFile, LocalArtifact)}
