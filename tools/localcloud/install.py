"""Install what the services need: Debian packages (only if missing) and a cached services venv.

The venv is separate from the collection's so OpenStack's ~180 pinned dependencies never leak into
it. Its name carries a hash of constraints.txt, so a new pin set builds a new venv and old ones can be
deleted. It is built in a temp dir and renamed into place when complete: an interrupted install is
never mistaken for a good one.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from .process import StepFailed, run

CONSTRAINTS = Path(__file__).with_name('constraints.txt')
REQUIREMENTS = ('keystone', 'glance', 'openstack-placement', 'neutron', 'nova', 'cinder', 'uWSGI', 'PyMySQL',
                'openstacksdk', 'python-openstackclient')
DEBS_LIGHT = ('qemu-utils',)
DEBS_FULL = ('qemu-utils', 'mariadb-server', 'rabbitmq-server')
# For the libvirt driver (a full stack's default; not with CLOUDIMAGES_COMPUTE=fake): libvirt + QEMU
# (TCG) for nova-compute (-system creates the libvirt-qemu user the QEMU driver looks up even when
# qemu.conf says root); libvirt-python is an sdist that compiles against libvirt-dev and Python.h,
# added to the services venv when first needed. qemu-system-arm and its UEFI firmware (AAVMF, with the
# descriptors libvirt picks firmware from) let Nova emulate aarch64 guests (libvirt lists them then).
DEBS_LIBVIRT = ('libvirt-daemon-system', 'libvirt-daemon-driver-qemu', 'qemu-system-x86', 'libvirt-dev', 'pkg-config',
                'gcc', 'python3-dev', 'qemu-system-arm', 'qemu-efi-aarch64')
LIBVIRT_REQUIREMENTS = ('libvirt-python',)


def cache_dir():
    return Path(os.environ.get('CLOUDIMAGES_CACHE') or Path.home() / '.cache' / 'cloudimages')


def venv_path():
    digest = hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:12]
    return cache_dir() / ('localcloud-venv-' + digest)


def missing_debs(packages):
    missing = []
    for package in packages:
        result = subprocess.run(['dpkg-query', '-W', '-f=${Status}', package], capture_output=True, text=True,
                                check=False)
        if 'install ok installed' not in result.stdout:
            missing.append(package)
    return missing


def ensure_debs(full, log, libvirt=False):
    missing = missing_debs((DEBS_FULL if full else DEBS_LIGHT) + (DEBS_LIBVIRT if libvirt else ()))
    if not missing:
        return False
    if os.geteuid() != 0:
        raise StepFailed('missing Debian packages %s; run: sudo apt-get install -y --no-install-recommends %s'
                         % (', '.join(missing), ' '.join(missing)))
    # The packaged services must not start (policy-rc.d usually prevents it in containers); we run our own.
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    run(['apt-get', 'update', '-q'], log, env=env, timeout=600)
    run(['apt-get', 'install', '-y', '-q', '--no-install-recommends'] + missing, log, env=env, timeout=1200)
    return True


def _relocate(tmp, final):
    """venv scripts hard-code their interpreter path; point them at the final location."""
    # Whole-path matches only (followed by "/", a quote, space or end of line).
    pattern = re.compile(re.escape(str(tmp).encode()) + rb'(?=[/"\'\s]|$)', re.M)
    for script in (tmp / 'bin').iterdir():
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        if not data.startswith(b'\x7fELF') and pattern.search(data):
            script.write_bytes(pattern.sub(str(final).encode(), data))


def ensure_venv(log, libvirt=False):
    """Return (venv path, True if it was built now)."""
    final = venv_path()
    if (final / 'bin' / 'uwsgi').exists():
        if libvirt and subprocess.run([str(final / 'bin' / 'python'), '-c', 'import libvirt'], capture_output=True,
                                      check=False).returncode:
            run([str(final / 'bin' / 'pip'), 'install', '--disable-pip-version-check', '-q', '-c', str(CONSTRAINTS)]
                + list(LIBVIRT_REQUIREMENTS), log, timeout=1800)
            return final, True
        return final, False
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / ('%s.tmp-%d' % (final.name, os.getpid()))
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        # sys._base_executable: when the launcher itself runs inside a venv, build on the real interpreter.
        python = getattr(sys, '_base_executable', None) or sys.executable
        run([python, '-m', 'venv', str(tmp)], log, timeout=300)
        run([str(tmp / 'bin' / 'pip'), 'install', '--disable-pip-version-check', '-q', '-c', str(CONSTRAINTS)]
            + list(REQUIREMENTS + (LIBVIRT_REQUIREMENTS if libvirt else ())), log, timeout=3600)
        _relocate(tmp, final)
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / 'bin' / 'uwsgi').exists():  # lost a race only if the winner is complete
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final, True
