#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: auth
short_description: Log in once and hand the session to the other modules
version_added: 0.2.0
description:
  - Logs in to Keystone and returns the session (token and service catalog) as RV(auth_state).
  - Passed as O(auth_state) to the other modules of this collection, it spares each of them a
    login, so a run logs in once per cloud instead of once per module run, and the services
    validate one token.
  - Like C(openstack.cloud.auth), whose token serves C(auth_type=token); the session here also
    carries the catalog, so reusing it costs Keystone no request at all.
  - The result is a bearer credential until it expires. Register it in a task with C(no_log=true).
author:
  - cloudimages.openstack contributors (@cloudimages)
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.attributes.info_module
"""

EXAMPLES = r"""
- name: Log in once for this cloud
  cloudimages.openstack.auth:
    cloud: prod
  register: login
  no_log: true

- name: Later modules reuse the session
  cloudimages.openstack.image_info:
    cloud: prod
    auth_state: "{{ login.auth_state }}"
    tags: [managed_by_example]
"""

RETURN = r"""
auth_state:
  description: The session for O(auth_state) of the other modules. A secret.
  returned: success
  type: str
project_id:
  description: The project the session acts in.
  returned: success
  type: str
  sample: 0123456789abcdef0123456789abcdef
"""

from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule, export_auth_state


class AuthModule(OpenStackModule):
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        state = export_auth_state(self.conn)
        self.exit_json(changed=False, auth_state=state, project_id=self.conn.current_project_id)


def main():
    AuthModule()()


if __name__ == '__main__':
    main()
