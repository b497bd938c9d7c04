# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Upstream cloud-image sources: one small class per vendor family, found by name.

``_base`` holds the shared plumbing (HTTP with URL rewrites and validators, signature checks,
the result dict); ``_engine.discover`` runs one source with the remembered state of the last
run. See ``_engine`` for the flow.
"""
