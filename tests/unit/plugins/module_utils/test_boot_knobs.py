"""The image_sync role hands its boot test knobs to image_boot_test (issue 22: the console wait was
fixed at the module's 300 s). The role's own files, read as Ansible reads them: the boot task of
tasks/release.yml passes image_sync_boot_console_timeout as console_timeout, and the role's
default and argument spec agree with the module's option. A run that waits for a marker no image
prints is test_two_days_unbootable_refused_killed_run_converges in
tests/integration/test_real_boot.py, where Nova boots for real."""

from __future__ import annotations

import os

import yaml

from ansible_collections.cloudimages.openstack.plugins.modules import image_boot_test

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'roles', 'image_sync')


def load(*parts):
    with open(os.path.join(ROLE, *parts), encoding='utf-8') as handle:
        return yaml.safe_load(handle)


def boot_tasks():
    (block,) = load('tasks', 'release.yml')
    return [task['cloudimages.openstack.image_boot_test'] for task in block['block']
            if 'cloudimages.openstack.image_boot_test' in task]


def test_the_boot_task_passes_the_console_knob_and_the_activity_timeout():
    (boot,) = boot_tasks()
    assert boot['console_timeout'] == '{{ image_sync_boot_console_timeout }}'
    assert boot['timeout'] == '{{ image_sync_boot_timeout }}'


def test_the_knob_is_declared_with_the_module_default():
    module = yaml.safe_load(image_boot_test.DOCUMENTATION)['options']['console_timeout']
    spec = load('meta', 'argument_specs.yml')['argument_specs']['main']['options']['image_sync_boot_console_timeout']
    assert load('defaults', 'main.yml')['image_sync_boot_console_timeout'] == module['default'] == 300
    assert spec['type'] == module['type'] == 'int' and spec['default'] == 300
