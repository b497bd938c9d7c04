# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Web-download staging: the verified file is put once into a directory a web server serves, and
every region's Glance imports it from there (``web-download``), so the controller sends each
build about once however many regions there are.

The staging location is untrusted storage: anyone with write access to it (or to the web server)
can change the bytes. Nothing is believed from it: the upload compares Glance's stored hash with
the verified file's digests before the image is used, as for a direct upload. A file found there
under the build's name (another region's run, an earlier day) is reused without being read
again; when an import of it does not match, ``discard`` removes it so the next run puts it anew.
"""

from __future__ import annotations

import os
import re
import shutil

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream import _files

_DIGEST = re.compile(r'^[0-9a-f]{64}$')


def staged_name(sha256, disk_format):
    """The file's name in the staging directory: its content (sha256) and format, never a vendor's name."""
    if not _DIGEST.match(str(sha256 or '')):
        raise ValueError('staging needs the verified file\'s sha256 in expected_digests')
    return '%s.%s' % (sha256, disk_format)


def url_of(base_url, name):
    if not re.match(r'^https?://', base_url or ''):
        raise ValueError('staging_url must be an http:// or https:// URL, not %r' % (base_url,))
    return base_url.rstrip('/') + '/' + name


def put(filename, directory, name):
    """Put ``filename`` into ``directory`` as ``name`` unless a file of that name and size is there.

    Returns the bytes written (0 when reused). Several runs (regions) may stage the same build at
    once: a lock file makes one of them copy and the others reuse its copy; the copy is renamed
    into place complete, readable by the web server.
    """
    target = os.path.join(directory, name)
    size = os.path.getsize(filename)
    with _files.locked(os.path.join(directory, '.staging.lock')):
        if os.path.isfile(target) and os.path.getsize(target) == size:
            return 0
        tmp = _files.temp_path(target)
        try:
            shutil.copyfile(filename, tmp)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    return size


def discard(directory, name):
    """Remove a staged file whose import did not match the verified digests."""
    try:
        os.unlink(os.path.join(directory, name))
    except FileNotFoundError:
        pass
