"""Directory listings in the style each vendor's web server produces.

Ubuntu wraps Apache's ``<pre>`` autoindex in a branded page (title "Ubuntu Cloud Images");
everyone else gets Apache 2.4's table-style fancy index (Debian's real pages are those). Links
are relative so they keep working under the mirror's ``/<host>/`` prefix. Times are the
simulated publish times (a directory shows its newest entry), not when the files were written.
"""

from __future__ import annotations

import html
import os
import time
import urllib.parse


def _human(size):
    """Apache's SizeFmt: 24K, 1.2M, ..."""
    for unit in ('', 'K', 'M', 'G'):
        if size < 1024 or unit == 'G':
            if unit and size < 10:
                return '%.1f%s' % (size, unit)
            return '%d%s' % (size, unit)
        size /= 1024.0
    return str(size)


def _newest(directory):
    """Newest file mtime below ``directory``: directory mtimes are real time, files carry publish time.

    Follows directory symlinks (``release/``, the cdimage alias) once each; ``releases/server``
    points at its own ancestor, hence the visited set.
    """
    newest, pending, seen = None, [directory], set()
    while pending:
        current = os.path.realpath(pending.pop())
        if current in seen:
            continue
        seen.add(current)
        for entry in os.scandir(current):
            if entry.is_dir():
                pending.append(entry.path)
            elif entry.is_file():
                stamp = entry.stat().st_mtime
                newest = stamp if newest is None else max(newest, stamp)
    return newest if newest is not None else os.stat(directory).st_mtime


def _entries(directory):
    rows = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not os.path.exists(path):
            continue  # dangling symlink
        if os.path.isdir(path):
            rows.append((name + '/', _newest(path), None))
        else:
            stat = os.stat(path)
            rows.append((name, stat.st_mtime, stat.st_size))
    return rows


def _stamp(mtime):
    return time.strftime('%Y-%m-%d %H:%M', time.gmtime(mtime))


def render(host, vendor_path, directory):
    """HTML listing of ``directory`` as ``host`` would show ``vendor_path`` (e.g. ``/releases/noble/``)."""
    rows = _entries(directory)
    if host == 'cloud-images.ubuntu.com':
        return _ubuntu(rows)
    return _apache(vendor_path, rows)


def _ubuntu(rows):
    lines = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">', '<html>', ' <head>',
             '  <title>Ubuntu Cloud Images</title>', ' </head>', ' <body>', '<h1>Ubuntu Cloud Images</h1>',
             '<pre><img src="/icons/blank.gif" alt="Icon "> <a href="?C=N;O=D">Name</a>                    '
             '<a href="?C=M;O=A">Last modified</a>      <a href="?C=S;O=A">Size</a>  <a href="?C=D;O=A">Description</a><hr>'
             '<img src="/icons/back.gif" alt="[PARENTDIR]"> <a href="../">Parent Directory</a>                             -   ']
    for name, mtime, size in rows:
        icon = '<img src="/icons/folder.gif" alt="[DIR]">' if size is None else '<img src="/icons/unknown.gif" alt="[   ]">'
        shown = name if len(name) <= 50 else name[:47] + '..&gt;'
        pad = ' ' * max(1, 51 - len(name))
        lines.append('%s <a href="%s">%s</a>%s%s  %5s   ' % (icon, urllib.parse.quote(name), html.escape(shown), pad,
                                                             _stamp(mtime), '-' if size is None else _human(size)))
    lines += ['<hr></pre>', '</body></html>', '']
    return '\n'.join(lines).encode()


def _apache(vendor_path, rows):
    title = 'Index of %s' % html.escape(vendor_path.rstrip('/') or '/')
    lines = ['<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">', '<html>', ' <head>', '  <title>%s</title>' % title,
             ' </head>', ' <body>', '<h1>%s</h1>' % title, '  <table>',
             '   <tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th>'
             '<th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th>'
             '<th><a href="?C=D;O=A">Description</a></th></tr>',
             '   <tr><th colspan="5"><hr></th></tr>',
             '<tr><td valign="top"><img src="/icons/back.gif" alt="[PARENTDIR]"></td><td><a href="../">Parent Directory</a></td>'
             '<td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>']
    for name, mtime, size in rows:
        icon = '<img src="/icons/folder.gif" alt="[DIR]">' if size is None else '<img src="/icons/unknown.gif" alt="[   ]">'
        lines.append('<tr><td valign="top">%s</td><td><a href="%s">%s</a></td><td align="right">%s  </td>'
                     '<td align="right">%4s </td><td>&nbsp;</td></tr>' % (
                         icon, urllib.parse.quote(name), html.escape(name), _stamp(mtime), '-' if size is None else _human(size)))
    lines += ['   <tr><th colspan="5"><hr></th></tr>', '</table>', '</body></html>', '']
    return '\n'.join(lines).encode()
