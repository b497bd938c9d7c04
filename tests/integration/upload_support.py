"""Helpers for the image_upload integration tests: distinct real images, module runs, cleanup."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

import yaml

MODULE = 'ansible_collections.cloudimages.openstack.plugins.modules.image_upload'


def digests(path):
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b''):
            md5.update(chunk)
            sha512.update(chunk)
    return {'md5': md5.hexdigest(), 'sha512': sha512.hexdigest()}


def make_qcow2(directory, size='64M'):
    """A real qcow2 with random content at a random offset, so every test uploads distinct bytes."""
    path = os.path.join(str(directory), 'img-%s.qcow2' % uuid.uuid4().hex[:8])
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', path, size], check=True)
    pattern = os.urandom(1).hex()
    offset = int.from_bytes(os.urandom(2), 'big') * 512
    subprocess.run(['qemu-io', '-c', 'write -q -P 0x%s %d 64k' % (pattern, offset), path], check=True, capture_output=True)
    return path


def to_raw(path):
    raw = path.rsplit('.', 1)[0] + '.raw'
    subprocess.run(['qemu-img', 'convert', '-q', '-O', 'raw', path, raw], check=True)
    return raw


def scs_properties(distro='cirros', version='0.6'):
    return {
        'architecture': 'x86_64', 'os_distro': distro, 'os_version': version, 'os_purpose': 'generic',
        'hw_disk_bus': 'scsi', 'hw_scsi_model': 'virtio-scsi', 'hw_rng_model': 'virtio', 'hypervisor_type': 'qemu',
        'replace_frequency': 'quarterly', 'provided_until': 'none', 'uuid_validity': 'last-3',
        'image_source': 'https://download.cirros-cloud.net/0.6.3/cirros-0.6.3-x86_64-disk.img',
        'image_description': 'https://github.com/cirros-dev/cirros', 'image_build_date': '2026-11-16',
        'image_original_user': 'cirros',
    }


def base_args(provider, filename=None, build=None, **extra):
    """Module arguments for one distinct identity (a random build id unless given)."""
    policy = dict(provider=provider, release_key='cirros-0.6', name='CirrOS 0.6', properties=scs_properties())
    args = dict(name='upload-test-%s' % provider, policy=policy,
                build=build or uuid.uuid4().hex[:12], digest='sha256:' + hashlib.sha256(os.urandom(8)).hexdigest(),
                disk_format='qcow2', min_disk=1, min_ram=128, wait_timeout=60)
    if filename:
        args['filename'] = filename
    args.update(extra)
    return args


def cloud_dict(clouds_yaml, name='admin', region='RegionOne', image_endpoint=None):
    """A ``cloud`` option dict for clouds.yaml's ``name``, optionally with Glance behind a proxy."""
    with open(clouds_yaml, encoding='utf-8') as handle:
        config = dict(yaml.safe_load(handle)['clouds'][name])
    config.pop('regions', None)
    config['region_name'] = region
    if image_endpoint:
        config['image_endpoint_override'] = image_endpoint
    return config


def module_command(tmp_path, args):
    """argv that runs the module in its own Python process, as Ansible does, with ``args``."""
    path = os.path.join(str(tmp_path), 'args-%s.json' % uuid.uuid4().hex[:8])
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, handle)
    return [sys.executable, '-m', MODULE, path]


def module_env(cloud):
    farm = os.environ['ANSIBLE_COLLECTIONS_PATH']    # set by tests/conftest.py
    return dict(os.environ, PYTHONPATH=farm, **cloud.env())


def result_of(stdout):
    """The module's JSON result (the last line that parses)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    raise AssertionError('no JSON result in module output: %r' % stdout[-2000:])


def run_module(cloud, tmp_path, args, timeout=300):
    proc = subprocess.run(module_command(tmp_path, args), env=module_env(cloud), capture_output=True, text=True,
                          timeout=timeout, check=False)
    return proc.returncode, result_of(proc.stdout + '\n')


def delete_image(conn, image_id, attempts=5):
    """Delete, retrying the 500s this sqlite-backed shared Glance gives under concurrent writes."""
    from openstack import exceptions  # pylint: disable=import-outside-toplevel
    for attempt in range(attempts):
        try:
            conn.image.delete_image(image_id, ignore_missing=True)
            return
        except exceptions.HttpException:
            if attempt + 1 == attempts:
                raise
            time.sleep(1 + attempt)


def identity_images(conn, provider, build=None):
    """Every image of the provider tag the connection's project can see (any visibility, hidden too)."""
    found = {}
    for hidden in (False, True):
        for image in conn.image.images(tag=['managed_by_%s' % provider], visibility='all', is_hidden=hidden):
            if build is None or image.properties.get('cloudimages_build') == build:
                found[image.id] = image
    return list(found.values())


class StagingServer:
    """The operator's web server for web-download staging: a directory served on 127.0.0.1."""

    def __init__(self, directory):
        import functools  # pylint: disable=import-outside-toplevel
        import http.server  # pylint: disable=import-outside-toplevel
        import threading  # pylint: disable=import-outside-toplevel
        quiet = type('Quiet', (http.server.SimpleHTTPRequestHandler,), {'log_message': lambda *args: None})
        handler = functools.partial(quiet, directory=str(directory))
        self.directory = directory
        self._server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.url = 'http://127.0.0.1:%d/' % self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
