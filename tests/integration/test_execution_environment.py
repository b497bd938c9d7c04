"""The AWX execution environment: ansible-builder accepts examples/execution-environment.yml and
finds the collection's Python and system requirements. The image itself is not built here (no
container engine and no registry in CI); ``ansible-builder create`` writes the build context a
``build`` would run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILDER = str(Path(sys.executable).parent / 'ansible-builder')


def run(*args, cwd=None):
    proc = subprocess.run([BUILDER] + list(args), cwd=cwd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_builder_finds_the_collection_requirements(tmp_path):
    farm = tmp_path / 'collections'
    (farm / 'ansible_collections' / 'cloudimages').mkdir(parents=True)
    (farm / 'ansible_collections' / 'cloudimages' / 'openstack').symlink_to(ROOT)
    found = run('introspect', '--sanitize', str(farm))
    for requirement in ('openstacksdk>=4', 'requests>=', 'oslo.utils>=', 'qemu-img [platform:rpm]', 'gnupg2 [platform:rpm]'):
        assert requirement in found, found
    # The browser is for the report's test only (bindep profile "test"), not for the image.
    assert 'chromium [platform:dpkg test]' in found


def test_builder_accepts_the_example_definition(tmp_path):
    context = tmp_path / 'context'
    run('create', '-f', 'execution-environment.yml', '--context', str(context), cwd=ROOT / 'examples')
    containerfile = (context / 'Dockerfile').read_text()
    assert 'ansible-core>=2.19,<2.20' in containerfile
    assert 'ansible-galaxy collection install' in containerfile and 'requirements.yml' in containerfile
    assert 'mkdir -p /runner/.cache/cloudimages' in containerfile
    assert (context / '_build' / 'requirements.yml').read_text() == (ROOT / 'examples' / 'requirements.yml').read_text()
