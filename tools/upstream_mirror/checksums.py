"""Checksum-file grammars exactly as vendors print them (see reference/upstreams.md section 0)."""

from __future__ import annotations


def gnu(entries, binary=False):
    """``sha*sum`` output: ``<hex>  <name>`` (text mode) or ``<hex> *<name>`` (binary mode)."""
    marker = ' *' if binary else '  '
    return ''.join('%s%s%s\n' % (hexdigest, marker, name) for hexdigest, name in entries).encode()


def bsd(algo, entries):
    """BSD tag lines preceded by a size comment (Fedora, Rocky): entries are (hex, name, size)."""
    lines = []
    for hexdigest, name, size in entries:
        lines.append('# %s: %d bytes\n' % (name, size))
        lines.append('%s (%s) = %s\n' % (algo.upper(), name, hexdigest))
    return ''.join(lines).encode()


def flatcar_digests(name, digests):
    """Flatcar ``make_digests``: one section per algorithm, each a ``<algo>sum`` line."""
    out = []
    for algo in ('md5', 'sha1', 'sha512'):
        out.append('# %s HASH\n%s  %s\n' % (algo.upper(), digests[algo], name))
    return ''.join(out).encode()
