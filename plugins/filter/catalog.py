# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters that build and render the image catalog; the logic is in plugin_utils/_catalog.py,
the HTML page in plugin_utils/templates/catalog_html.j2, an autoescaped Jinja2 template.

Documentation: catalog_model.yml, catalog_markdown.yml, catalog_html.yml next to this file.
"""

from __future__ import annotations

import base64
import hashlib
import os

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudimages.openstack.plugins.plugin_utils import _catalog


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


def catalog_ages(model, today, warn_days=90):
    return _catalog.ages(model, today, warn_days)


def catalog_markdown(model):
    return _catalog.render_markdown(model)


def csp_hash(text):
    """A Content-Security-Policy source that allows exactly this inline style or script."""
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(str(text).encode('utf-8')).digest()).decode('ascii')


def _pages():
    """The page lives beside the view it renders (plugin_utils/_catalog.py): plugins/filter holds plugins only."""
    templates = os.path.join(os.path.dirname(os.path.abspath(_catalog.__file__)), 'templates')
    pages = Environment(loader=FileSystemLoader(templates), autoescape=True, undefined=StrictUndefined,
                        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    pages.filters['csp_hash'] = csp_hash
    return pages


_PAGES = _pages()


def catalog_html(model):
    return _PAGES.get_template('catalog_html.j2').render(_catalog.html_view(model), width=_catalog.WIDTH)


class FilterModule:
    def filters(self):
        return {
            'catalog_model': _wrap(catalog_model),
            'catalog_ages': _wrap(catalog_ages),
            'catalog_markdown': _wrap(catalog_markdown),
            'catalog_html': _wrap(catalog_html),
        }
