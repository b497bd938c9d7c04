# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

from __future__ import annotations


class ModuleDocFragment:
    # Option names and semantics match openstack.cloud, so an existing clouds.yaml,
    # module_defaults block or AWX OpenStack credential works unchanged. Every module with these
    # options is in the cloudimages.openstack.cloud action group, on any platform.
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - Name of a cloud in C(clouds.yaml), or a dict with the full cloud configuration
        (the same shape as a C(clouds.yaml) entry).
      - When not set, C(OS_CLOUD) and the C(OS_*) environment variables are used.
      - AWX/Tower's built-in OpenStack credential writes a C(clouds.yaml) with a single cloud
        named C(devstack) and points C(OS_CLIENT_CONFIG_FILE) at it.
      - A dict excludes the other authentication options.
      - Not logged (C(no_log)). Values under secret keys (passwords, application credential
        secrets, tokens) are hidden wherever they appear in results; its other values are not.
    type: raw
  auth:
    description:
      - Dictionary of authentication parameters, for example C(auth_url), C(username),
        C(password), C(project_name), C(user_domain_name), C(project_domain_name).
    type: dict
  auth_type:
    description:
      - Keystone authentication plugin, for example C(password), C(token),
        C(v3applicationcredential).
    type: str
  region_name:
    description:
      - Region of the cloud to act on.
    type: str
  interface:
    description:
      - Endpoint interface of the service catalog to use.
    type: str
    choices: [admin, internal, public]
    default: public
    aliases: [endpoint_type]
  validate_certs:
    description:
      - Whether to verify TLS certificates of the cloud's APIs.
      - When not set, the value from C(clouds.yaml) or openstacksdk's default (true) is used.
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - Path to a CA bundle used to verify the cloud's certificates.
    type: path
    aliases: [cacert]
  client_cert:
    description:
      - Path to a client certificate for mutual TLS.
    type: path
    aliases: [cert]
  client_key:
    description:
      - Path to the private key of O(client_cert).
    type: path
    aliases: [key]
  api_timeout:
    description:
      - Timeout in seconds for each API request (without an answer for that long, the request
        fails; repeatable requests are retried a few times).
      - Without it, the C(api_timeout) of the cloud's C(clouds.yaml) entry, else 120.
    type: int
  timeout:
    description:
      - How long in seconds to wait for a long operation (an upload, an import, a server boot)
        before failing.
    type: int
    default: 180
  auth_state:
    description:
      - The session of an earlier login, as returned by M(cloudimages.openstack.auth), so that this
        module sends no login request of its own.
      - Used only when it was made for the same Keystone, user and project as this module's
        configuration; otherwise the module logs in as usual. A token near its expiry is renewed.
    type: str
requirements:
  - python >= 3.11
  - openstacksdk >= 4.0.0
notes:
  - Authentication follows openstacksdk's rules; see
    U(https://docs.openstack.org/openstacksdk/latest/user/config/configuration.html).
attributes:
  action_group:
    description: Use C(group/cloudimages.openstack.cloud) in C(module_defaults) to set defaults for this module.
    support: full
    membership: [cloudimages.openstack.cloud]
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
"""
