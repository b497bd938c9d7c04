"""Independent little parsers so the mirror's tests do not trust the code under test."""

from __future__ import annotations

import json
import re
import subprocess

GNU = re.compile(r'^([0-9a-f]{32,128})( \*|  )(\S.*)$')
BSD = re.compile(r'^(SHA256|SHA512) \((.+)\) = ([0-9a-f]+)$')
SIZE = re.compile(r'^# (.+): (\d+) bytes$')


def read(path, mode='r'):
    with open(path, mode) as handle:  # pylint: disable=unspecified-encoding
        return handle.read()


def gnu_sums(text):
    """{name: (hex, marker)}; asserts every non-empty line matches the grammar."""
    out = {}
    for line in text.splitlines():
        match = GNU.match(line)
        assert match, 'bad GNU checksum line %r' % line
        out[match.group(3)] = (match.group(1), match.group(2))
    return out


def bsd_sums(text):
    """{name: (hex, size from the comment line)}."""
    out, sizes = {}, {}
    for line in text.splitlines():
        if SIZE.match(line):
            name, size = SIZE.match(line).groups()
            sizes[name] = int(size)
        elif line.strip():
            match = BSD.match(line)
            assert match, 'bad BSD checksum line %r' % line
            out[match.group(2)] = (match.group(3), sizes.get(match.group(2)))
    return out


def clearsigned_body(text):
    assert text.startswith('-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n'), text[:80]
    return text.split('\n\n', 1)[1].split('-----BEGIN PGP SIGNATURE-----')[0]


def qemu_info(path):
    out = subprocess.run(['qemu-img', 'info', '--output=json', path], check=True, stdout=subprocess.PIPE).stdout
    return json.loads(out)


def gpgv(keyring, *files):
    return subprocess.run(['gpgv', '--keyring', str(keyring)] + [str(name) for name in files],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False).returncode == 0
