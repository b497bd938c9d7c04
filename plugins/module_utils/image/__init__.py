# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Make a proven download uploadable: bounded decompression, safe inspection, conversion to
raw, each step at most once and proven again in the run that uses it.
"""
