#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_boot_test
short_description: Boot a server from a candidate image before it is promoted, then delete it
version_added: 0.1.0
description:
  - Boots one server from O(image) (usually a private candidate uploaded by
    M(cloudimages.openstack.image_upload)) with O(flavor) and O(network), waits up to
    O(timeout) seconds for C(ACTIVE), then optionally for a console-log line matching
    O(console_marker) and for an SSH banner, and deletes the server again, waiting until it is
    gone. The server is deleted whatever happens, also on failure or timeout.
  - The task fails when the test fails, so a later promotion step does not run. The message
    says why; RV(console_tail) holds the end of the console log.
  - When the image is to blame (the server went to C(ERROR), never became C(ACTIVE), never
    showed the marker, never answered on SSH) and O(delete_image_on_failure) is set, the image
    is deleted, but only while it is still a candidate (V(private) or V(shared), not protected)
    of the caller's own project; otherwise a warning says why it was kept.
  - When Nova refuses the request itself (no quota left, a flavor whose disk is smaller than the
    image's C(min_disk), an unknown key pair or security group) the image was never tried and is
    kept.
  - Test servers are named O(server_name_prefix) + image ID + a random suffix and carry the
    metadata C(cloudimages_boot_test=<image ID>). At the start, this project's servers with that
    name and that metadata that are older than a run can take are deleted, since they are
    leftovers of a run that was killed. A server with the prefix but without the metadata, or of
    another project, is never deleted.
author:
  - cloudimages.openstack contributors (@cloudimages)
options:
  image:
    description:
      - ID of the image to boot.
      - Without it, only the settings are checked, before anything is uploaded (O(flavor) exists and
        fits O(min_ram) and O(min_disk), O(network) exists). Nothing is booted or deleted, and
        leftover test servers are not looked for.
    type: str
  flavor:
    description:
      - Flavor name or ID. Its disk must be at least the image's C(min_disk).
    type: str
    required: true
  min_ram:
    description:
      - RAM (MB) the flavor must have at least, as the image's C(min_ram) will ask. Checked before
        anything is created.
    type: int
    default: 0
  min_disk:
    description:
      - Disk (GB) the flavor must have at least (a flavor with disk 0 takes the image's size).
        Checked before anything is created.
    type: int
    default: 0
  architecture:
    description:
      - The architecture the image is tested as, for example V(aarch64). Defaults to the image's
        C(architecture) property (V(x86_64) without one).
      - The image must carry what Nova needs to boot that architecture, emulated where the compute
        host's differs (QEMU TCG) - C(architecture), and for V(aarch64) C(hw_firmware_type=uefi) and
        C(hw_machine_type=virt). One that lacks them fails before anything is created
        (RV(setting) V(architecture)), since Nova would boot it as a PC.
    type: str
  network:
    description:
      - Network name or ID for the server's port.
      - V(auto) lets Nova pick the only network of the project or allocate one (auto-allocated
        topology); V(none) boots without a network (enough for C(ACTIVE) and the console, not
        for SSH). Both need compute API microversion 2.37, which openstacksdk negotiates.
    type: str
    default: auto
  key_name:
    description:
      - Nova key pair to inject, for images whose boot you check by logging in later.
    type: str
  security_groups:
    description:
      - Security group names for the server. Open the SSH port when O(ssh) is set.
    type: list
    elements: str
    default: []
  console_marker:
    description:
      - Regular expression a line of the server's console log must match, for example V(login:),
        what Linux cloud images print on the serial console (the image_sync role's default), or
        V(Cloud-init v\\. \\S+ finished) for cloud-init's final message.
      - Needs a hypervisor that records the console (libvirt does; Nova's fake driver returns a
        fixed text).
    type: str
  console_failure:
    description:
      - Regular expression that fails the test as soon as a console line matches it, without
        waiting for O(console_timeout). Only read while O(console_marker) is set.
      - Set it to an empty string to wait for the marker whatever the console shows.
    type: str
    default: Kernel panic
  console_build:
    description:
      - A string the console log must contain besides the marker, for images that print their
        build on the console, as the local test mirror's images do (a line with their distribution,
        release and build). Proves that the build that booted is the one uploaded. Only read while
        O(console_marker) is set.
    type: str
  console_timeout:
    description:
      - Seconds to wait for O(console_marker) after the server is C(ACTIVE).
    type: int
    default: 300
  console_lines:
    description:
      - Lines of the console log to return in RV(console_tail).
    type: int
    default: 40
  ssh:
    description:
      - Check that the server answers with an SSH identification line (C(SSH-2.0-...)) on TCP.
      - This proves that the guest configured its network and started sshd; it does not log in.
      - The controller must reach the server's address (a fixed address on a provider network,
        or a floating address the cloud assigns on its own).
    type: dict
    suboptions:
      address:
        description:
          - Which of the server's addresses to connect to.
        type: str
        choices: [fixed, floating]
        default: fixed
      host:
        description:
          - Connect here instead of a server address, for example a port forward.
        type: str
      port:
        description:
          - TCP port of sshd.
        type: int
        default: 22
      timeout:
        description:
          - Seconds to keep trying after the console check (or C(ACTIVE)).
        type: int
        default: 300
  server_name_prefix:
    description:
      - Prefix of the test servers' names; also how leftovers of killed runs are recognised,
        so use one prefix per kind of test and project.
    type: str
    default: cloudimages-boot-test-
  delete_image_on_failure:
    description:
      - Delete the image when it fails the test (only a V(private) or V(shared), unprotected image
        of the caller's project).
    type: bool
    default: true
  keep_server_on_failure:
    description:
      - Keep the server after a failed test for debugging. A later run deletes it as an orphan
        once it is older than a run can take.
    type: bool
    default: false
  orphan_age:
    description:
      - This project's test servers (named with O(server_name_prefix), with the test's metadata)
        that are older than this many seconds are leftovers of killed runs and are deleted at the start.
      - Defaults to the longest a run with these options can take
        (2 * O(timeout), plus O(console_timeout) and O(ssh.timeout) when those checks are on),
        so a run in progress elsewhere is never disturbed.
    type: int
extends_documentation_fragment:
  - cloudimages.openstack.openstack
  - cloudimages.openstack.attributes
attributes:
  check_mode:
    support: full
    details: Looks up image, flavor, network and orphans; boots nothing and deletes nothing.
  diff_mode:
    support: full
    details: Shows the image and orphan servers that are (or would be) deleted.
notes:
  - O(timeout) is how long to wait for C(ACTIVE), and also for the server's deletion.
  - A passing test leaves nothing behind and reports C(changed=false); deleting orphans or a
    failed image reports C(changed=true).
"""

EXAMPLES = r"""
- name: Boot the candidate before promoting it
  cloudimages.openstack.image_boot_test:
    cloud: prod1
    image: "{{ upload.image.id }}"
    flavor: SCS-1V-2
    network: boot-test-net
    security_groups: [ssh-from-controller]
    console_marker: 'Cloud-init v\. \S+ finished'
    console_timeout: 600
    ssh:
      address: fixed
      timeout: 300
  register: boot

- name: Before uploading anything, check that the flavor exists and fits, and the network exists
  cloudimages.openstack.image_boot_test:
    cloud: prod1
    flavor: m1.tiny
    network: boot-test-net
    min_ram: 512

- name: Only check that Nova can start it (no network)
  cloudimages.openstack.image_boot_test:
    cloud: prod1
    image: "{{ upload.image.id }}"
    flavor: m1.tiny
    network: none
    timeout: 300
"""

RETURN = r"""
passed:
  description: Whether the test passed; null in check mode.
  returned: always
  type: bool
reason:
  description: Why the test failed (also the task's C(msg)); null when it passed.
  returned: always
  type: str
  sample: "server 0c4f... went to ERROR: No valid host was found. (code 500)"
server:
  description: The test server; null when none was created.
  returned: always
  type: dict
  contains:
    id:
      description: Server ID.
      type: str
    name:
      description: Server name, O(server_name_prefix) + image ID + random suffix.
      type: str
    status:
      description: Last status seen before deletion (C(ACTIVE), C(ERROR), C(BUILD)).
      type: str
    fault:
      description: Nova's fault (C(code), C(message), C(details)) of a server in C(ERROR).
      type: dict
    deleted:
      description: Whether the server is gone.
      type: bool
console_tail:
  description: Last O(console_lines) lines of the console log (empty when Nova has none).
  returned: always
  type: list
  elements: str
console_match:
  description: The console line that matched O(console_marker).
  returned: always
  type: str
ssh_banner:
  description: The SSH identification line the server sent.
  returned: always
  type: str
  sample: SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13
architecture:
  description: The architecture the image was (or would be) booted as; RV(passed) says whether it was
    boot-tested on it.
  returned: always
  type: str
  sample: aarch64
duration:
  description: Seconds the test took, cleanup included.
  returned: when not in check mode
  type: float
image_deleted:
  description: Whether the image was deleted because it failed.
  returned: always
  type: bool
orphans_deleted:
  description: IDs of leftover test servers of earlier runs that were (or would be) deleted.
  returned: always
  type: list
  elements: str
setting:
  description: On a bad setting found before anything was created, the option at fault (V(flavor), V(min_ram),
    V(min_disk), V(network), V(architecture)); on a wait that ran out, the option that set it (V(timeout),
    V(console_timeout)).
  returned: on such a failure
  type: str
plan:
  description: What was (or would be) booted; C(image_id) is null when only the settings were checked.
  returned: always
  type: dict
  sample: {image_id: 5b0b..., flavor_id: 2352..., flavor_name: m1.boot, networks: none}
"""

from ansible_collections.cloudimages.openstack.plugins.module_utils._openstack import OpenStackModule
from ansible_collections.cloudimages.openstack.plugins.module_utils.boot._boot_test import (
    DEFAULT_PREFIX, BootTest, BootTestError)


class ImageBootTestModule(OpenStackModule):
    argument_spec = dict(
        image=dict(type='str'),
        flavor=dict(type='str', required=True),
        min_ram=dict(type='int', default=0),
        min_disk=dict(type='int', default=0),
        architecture=dict(type='str'),
        network=dict(type='str', default='auto'),
        key_name=dict(type='str', no_log=False),
        security_groups=dict(type='list', elements='str', default=[]),
        console_marker=dict(type='str'),
        console_failure=dict(type='str', default='Kernel panic'),
        console_build=dict(type='str'),
        console_timeout=dict(type='int', default=300),
        console_lines=dict(type='int', default=40),
        ssh=dict(type='dict', options=dict(
            address=dict(type='str', default='fixed', choices=['fixed', 'floating']),
            host=dict(type='str'),
            port=dict(type='int', default=22),
            timeout=dict(type='int', default=300),
        )),
        server_name_prefix=dict(type='str', default=DEFAULT_PREFIX),
        delete_image_on_failure=dict(type='bool', default=True),
        keep_server_on_failure=dict(type='bool', default=False),
        orphan_age=dict(type='int'),
    )
    module_kwargs = dict(supports_check_mode=True)

    def run(self):
        test = BootTest(self.conn, self.params)
        try:
            if not self.params['image']:
                flavor, networks = test.resolve_settings()
                self.exit_json(changed=False, passed=None, reason=None, server=None, console_tail=[], architecture=None,
                               console_match=None, ssh_banner=None, image_deleted=False, orphans_deleted=[],
                               plan=dict(image_id=None, flavor_id=flavor.id, flavor_name=flavor.name,
                                         networks=networks))
            image, flavor, networks = test.resolve()
        except BootTestError as exc:
            self.fail_json(msg=str(exc), setting=exc.setting)
        stale = test.find_orphans()
        plan = dict(image_id=image.id, flavor_id=flavor.id, flavor_name=flavor.name, networks=networks)
        if self.check_mode:
            result = dict(passed=None, reason=None, server=None, console_tail=[], console_match=None, ssh_banner=None,
                          image_deleted=False, orphans_deleted=[s['id'] for s in stale], architecture=test.arch)
        else:
            result = test.run(image, flavor, networks, stale)
        for warning in test.warnings:
            self.ansible.warn(warning)
        result.update(plan=plan, changed=bool(result['image_deleted'] or result['orphans_deleted']))
        if self.ansible._diff:
            result['diff'] = dict(before=dict(image=image.id, servers=result['orphans_deleted']),
                                  after=dict(image=None if result['image_deleted'] else image.id, servers=[]))
        if result['passed'] is False:
            self.fail_json(msg=result['reason'], **result)
        self.exit_json(**result)


def main():
    ImageBootTestModule()()


if __name__ == '__main__':
    main()
