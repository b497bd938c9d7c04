"""The real openstack-image-manager (OIM) for the migration test: its own cached venv and definition files.

OIM needs Python >= 3.12 and pins its dependencies exactly, so it gets a venv of its own, cached
like tools/localcloud's services venv (built in a temp dir, renamed into place when complete).
Its definition files are the ones shipped in the wheel, with the versions replaced by builds of
the local mirror: the entries, names and metadata are OIM's own.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import subprocess
from pathlib import Path

import yaml

OIM_VERSION = '0.20261007.0'
PYTHONS = ('/root/.pyenv/versions/3.12.1/bin/python3', 'python3.12', 'python3.13')


def _python():
    """The first candidate that runs and is Python >= 3.12 (a pyenv shim may exist and fail)."""
    for candidate in [os.environ.get('CLOUDIMAGES_OIM_PYTHON')] + list(PYTHONS):
        found = candidate and shutil.which(candidate)
        if found and subprocess.run([found, '-c', 'import sys; sys.exit(sys.version_info < (3, 12))'],
                                    capture_output=True, check=False).returncode == 0:
            return found
    raise RuntimeError('openstack-image-manager needs Python >= 3.12: none of %s runs (set CLOUDIMAGES_OIM_PYTHON)'
                       % ', '.join(PYTHONS))


def ensure_venv():
    """The venv holding openstack-image-manager==OIM_VERSION; built once per machine."""
    from localcloud.install import _relocate as relocate, cache_dir  # pylint: disable=import-outside-toplevel
    final = cache_dir() / ('oim-venv-' + OIM_VERSION)
    if (final / 'bin' / 'openstack-image-manager').exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / ('%s.tmp-%d' % (final.name, os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        subprocess.run([_python(), '-m', 'venv', str(tmp)], check=True, timeout=300)
        subprocess.run([str(tmp / 'bin' / 'pip'), 'install', '-q', '--disable-pip-version-check',
                        'openstack-image-manager==' + OIM_VERSION], check=True, timeout=1800)
        relocate(tmp, final)  # scripts name their interpreter by path
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def shipped_definitions(venv):
    """``{file name: parsed YAML}`` of the definition files in the installed wheel."""
    found = list(venv.glob('lib/python3*/site-packages/openstack_image_manager/etc/images/*.yml'))
    assert found, 'no definition files in %s' % venv
    return {path.name: yaml.safe_load(path.read_text(encoding='utf-8')) for path in found}


def pick(files, file_name, name):
    return next(dict(image) for image in files[file_name]['images'] if image['name'] == name)


def pointed_at(definition, infos, server, algorithm):
    """``definition`` (an OIM entry) enabled, its versions the mirror builds ``infos`` (ReleaseInfo)."""
    definition = dict(definition, enable=True)
    for key in ('latest_url', 'latest_checksum_url'):
        if definition.get(key):
            definition[key] = server.rewrite(definition[key])
    definition['versions'] = [{'version': info.version, 'url': server.rewrite(info.image_url),
                               'checksum': '%s:%s' % (algorithm, getattr(info, algorithm)),
                               'build_date': datetime.date.fromisoformat(info.build_date)} for info in infos]
    return definition


def write(directory, definitions):
    """One file per definition, as OIM's catalog is laid out."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, definition in enumerate(definitions):
        (directory / ('%02d.yml' % index)).write_text(yaml.safe_dump({'images': [definition]}, sort_keys=False),
                                                      encoding='utf-8')
    return directory


def run_oim(venv, env, images, *args):
    """Run openstack-image-manager against the local cloud's admin; its log is the result's stderr."""
    return subprocess.run([str(venv / 'bin' / 'openstack-image-manager'), '--cloud', 'admin', '--images', str(images)]
                          + list(args), env=dict(env, PYTHONPATH=''), capture_output=True, text=True, timeout=900,
                          check=False)


def kill_tree(pid):
    """SIGKILL ``pid``'s process group and each of its descendants by id: ansible-core runs a module in a
    session of its own, which the group's kill does not reach (an operator's kill -9 of the whole job)."""
    children = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            fields = stat.read_text(encoding='utf-8', errors='replace').rsplit(')', 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    for current in found:
        try:
            os.kill(current, signal.SIGKILL)
        except ProcessLookupError:
            pass
