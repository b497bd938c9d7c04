# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Publish and retire: the rotation planner, its application to Glance, names, and who uses
an image (Nova servers, Cinder volumes) before anything is deleted.
"""
