# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Glance: the one client, the candidate upload and its stored-hash check, web-download
staging, listings, what makes an image ours, SCS metadata checks, sharing.
"""
