"""The AWX execution environment, built for real with ansible-builder and podman.

``examples/execution-environment.yml`` is built as it is (a byte-identical copy), on a base made
here from Debian packages instead of its production base image, which is not reachable from
these machines: build arguments swap the base, its Python and its package manager. The
collection goes in as the tarball of the working tree, served on 127.0.0.1 and named by URL in
the requirements file beside the definition (the tarball form examples/requirements.yml shows).

Images are cached in podman's storage under a tag made of a hash of their inputs: a second build
of the same tree is a lookup, and podman's layer cache keeps the steps before the collection.
``python -m execution_environment build`` prints the tag and where the time went.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / 'examples' / 'execution-environment.yml'
CONTAINERS_CONF = Path(__file__).resolve().parent / 'containers.conf'
BIN = Path(sys.executable).parent
# Debian 12 with a venv Python on PATH: ansible-builder's pip step runs ensurepip, which Debian's
# system Python refuses and a venv's accepts. apt's lists stay, for bindep's installs.
SUITE = 'bookworm'
BASE_RECIPE = (
    '--variant=minbase', '--include=python3,python3-venv,ca-certificates', '--skip=cleanup/apt/lists',
    '--customize-hook=chroot "$1" python3 -m venv /opt/py',
    SUITE, '-',  # the rootfs tar on stdout
    'deb http://deb.debian.org/debian bookworm main',
    'deb http://deb.debian.org/debian bookworm-updates main',
    'deb http://deb.debian.org/debian-security bookworm-security main',
)
BASE_PATH = '/opt/py/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# What the production definition names for CentOS Stream, swapped for the Debian base.
DEBIAN_ARGS = {'PYCMD': '/opt/py/bin/python3', 'PYPKG': 'python3', 'PKGMGR': '/usr/bin/apt-get',
               'PKGMGR_PRESERVE_CACHE': 'always'}  # "apt-get clean all" is not apt's syntax
# Host network: the build reaches PyPI and Debian's mirror, and the collection on 127.0.0.1. The
# host's CA directory: pip trusts what the host trusts (a proxy's CA where there is one).
BUILD_CLI = '--network host --volume /etc/ssl/certs:/etc/ssl/certs:ro'
EE_REPO = 'localhost/cloudimages-ee'
BASE_REPO = 'localhost/cloudimages-ee-base'


def env():
    """The environment for podman and ansible-builder: this directory's containers.conf."""
    return dict(os.environ, CONTAINERS_CONF=str(CONTAINERS_CONF), PATH='%s:%s' % (BIN, os.environ['PATH']))


def podman(*args, timeout=600, **kwargs):
    return subprocess.run(['podman', *args], env=env(), check=True, timeout=timeout, **kwargs)


def exists(tag):
    return subprocess.run(['podman', 'image', 'exists', tag], env=env(), check=False).returncode == 0


def digest(*parts):
    sha = hashlib.sha256()
    for part in parts:
        sha.update(part if isinstance(part, bytes) else str(part).encode())
        sha.update(b'\0')
    return sha.hexdigest()[:16]


def base_image(log=print):
    """The Debian base (mmdebstrap into ``podman import``), built once per recipe."""
    tag = '%s:%s' % (BASE_REPO, digest(*BASE_RECIPE, BASE_PATH))
    if exists(tag):
        return tag
    log('execution environment: making the Debian base %s' % tag)
    with tempfile.TemporaryDirectory(prefix='cloudimages-ee-base-') as tmp:
        rootfs = Path(tmp) / 'rootfs.tar'
        with rootfs.open('wb') as out:
            subprocess.run(['mmdebstrap', '--quiet', *BASE_RECIPE], stdout=out, check=True, timeout=900)
        podman('import', '--change', 'ENV PATH=' + BASE_PATH, str(rootfs), tag, stdout=subprocess.DEVNULL)
    return tag


def collection_tarball(dest):
    """``ansible-galaxy collection build`` of the working tree; returns (path, hash of its contents).

    The hash is of FILES.json and MANIFEST.json, which list every file's sha256 (the tar itself
    carries timestamps)."""
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'build', str(ROOT), '--output-path', str(dest)],
                   check=True, capture_output=True, timeout=300)
    (tarball,) = Path(dest).glob('cloudimages-openstack-*.tar.gz')
    with tarfile.open(tarball) as tar:
        contents = [tar.extractfile(name).read() for name in ('MANIFEST.json', 'FILES.json')]
    return tarball, digest(*contents)


@contextlib.contextmanager
def serve(directory):
    """A file server for ``directory`` on 127.0.0.1; yields its URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # pylint: disable=arguments-differ
            pass
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def build_args(base):
    return dict(DEBIAN_ARGS, EE_BASE_IMAGE=base)


def build(log=print, build_log=None):
    """Build (or find) the EE of this working tree; returns ``(tag, seconds per step)``."""
    times = {}
    started = time.monotonic()
    base = base_image(log)
    times['base'] = time.monotonic() - started
    with tempfile.TemporaryDirectory(prefix='cloudimages-ee-') as tmp:
        tmp = Path(tmp)
        (tmp / 'dist').mkdir()
        tarball, collection = collection_tarball(tmp / 'dist')
        args = build_args(base)
        inputs = (DEFINITION.read_bytes(), json.dumps(args, sort_keys=True), BUILD_CLI, collection, version('ansible-builder'))
        tag = '%s:%s' % (EE_REPO, digest(*inputs))
        if exists(tag):
            times['ee'] = 0.0
            return tag, times
        log('execution environment: building %s' % tag)
        project = tmp / 'definition'
        project.mkdir()
        shutil.copyfile(DEFINITION, project / DEFINITION.name)
        started = time.monotonic()
        with serve(tmp / 'dist') as url:
            (project / 'requirements.yml').write_text(
                'collections:\n  - name: %s/%s\n    type: url\n' % (url, tarball.name), encoding='utf-8')
            command = [str(BIN / 'ansible-builder'), 'build', '-f', str(project / DEFINITION.name), '--context',
                       str(tmp / 'context'), '--tag', tag, '--container-runtime', 'podman', '-v', '3',
                       '--extra-build-cli-args', BUILD_CLI]
            for name, value in sorted(args.items()):
                command += ['--build-arg', '%s=%s' % (name, value)]
            with open(build_log or os.devnull, 'w', encoding='utf-8') as out:
                proc = subprocess.run(command, env=env(), stdout=out, stderr=subprocess.STDOUT, timeout=1800, check=False)
        if proc.returncode:
            raise RuntimeError('ansible-builder build failed (exit %d); see %s' % (proc.returncode, build_log or 'its output'))
        times['ee'] = time.monotonic() - started
    forget_older(tag)
    return tag, times


def forget_older(tag):
    """Untag the EEs of earlier trees (about 650 MB each); one a container still runs stays."""
    listed = podman('images', '--format', '{{.Repository}}:{{.Tag}}', EE_REPO, capture_output=True, text=True).stdout
    for old in set(listed.split()) - {tag}:
        subprocess.run(['podman', 'rmi', old], env=env(), capture_output=True, check=False)


def version(tool):
    return subprocess.run([str(BIN / tool), '--version'], capture_output=True, text=True, check=True).stdout.strip()
