# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Discover, download and prove upstream files: HTTP with one retry policy, the verified
cache, vendor checksum files, OpenPGP signatures; ``sources`` has one class per vendor.
"""
