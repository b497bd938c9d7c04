# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters that build and render the image catalog; the logic is in module_utils/_catalog.py.

Documentation: catalog_model.yml, catalog_markdown.yml, catalog_html.yml next to this file.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudimages.openstack.plugins.module_utils import _catalog


def _wrap(function):
    def filter_function(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except _catalog.CatalogError as exc:
            raise AnsibleFilterError(str(exc)) from exc
    filter_function.__name__ = function.__name__
    filter_function.__doc__ = function.__doc__
    return filter_function


def catalog_model(clouds, usage=None, provider=None, title=None, generated_at=None):
    return _catalog.build_model(clouds, usage=usage, provider=provider, title=title, generated_at=generated_at)


def catalog_markdown(model):
    return _catalog.render_markdown(model)


def catalog_html(model):
    return _catalog.render_html(model)


class FilterModule:
    def filters(self):
        return {
            'catalog_model': _wrap(catalog_model),
            'catalog_markdown': _wrap(catalog_markdown),
            'catalog_html': _wrap(catalog_html),
        }
