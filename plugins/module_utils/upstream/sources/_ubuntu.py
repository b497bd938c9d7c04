# -*- coding: utf-8 -*-
# Copyright (c) 2026 cloudimages.openstack contributors
# Apache License 2.0 (see LICENSES/Apache-2.0.txt or https://www.apache.org/licenses/LICENSE-2.0)
# SPDX-License-Identifier: Apache-2.0

"""Ubuntu Server and Ubuntu Minimal release images on cloud-images.ubuntu.com.

Discovery reads the simplestreams products file (newest serial of the product whose
``version``/``arch`` fields match, not its key, whose naming differs for Minimal); the digest is
then read from the serial directory's ``SHA256SUMS``, verified with its detached
``SHA256SUMS.gpg`` (UEC image signing key), and must equal the stream's. The URL is built from
the documented ``/releases/<codename>/release-<serial>/`` layout, so ``image_source`` carries
the prefix SCS checks, whatever alias path the stream uses.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.cloudimages.openstack.plugins.module_utils.upstream.sources._base import (
    DiscoveryError, EndOfLife, Source, catalog_entry, date_in, hint_of, same_digest, version_key,
)

HOST = 'https://cloud-images.ubuntu.com/'
# UEC Image Automatic Signing Key <cdimage@ubuntu.com>; pinned in roles/ubuntu*/defaults.
UEC_KEY = 'D2EB44626FDDC30B513D5BB71A5D6C4C7DB87C81'
SERIAL = re.compile(r'[0-9]{8}(\.[0-9]+)?')


def lifecycle(product):
    """What the product says of its own support: ``{'supported': bool or None, 'support_eol': ISO date or None}``.

    Ubuntu keeps end-of-life products in its streams, marked ``"supported": false``; ``support_eol``
    is the end of standard support (a product can still say supported after that date).
    """
    supported = product.get('supported')
    eol = str(product.get('support_eol') or '')
    try:
        eol = datetime.date.fromisoformat(eol).isoformat() if re.fullmatch(r'\d{4}-\d{2}-\d{2}', eol) else None
    except ValueError:
        eol = None
    return {'supported': supported if isinstance(supported, bool) else None, 'support_eol': eol}


def newest_version(products, release, arch, url):
    """``(product, serial, item)`` of the newest ``disk1.img`` of ``release``/``arch`` in a products:1.0 document."""
    if not isinstance(products, dict) or not isinstance(products.get('products'), dict):
        raise DiscoveryError('%s is not a simplestreams products document' % url)
    matches = [p for p in products['products'].values()
               if isinstance(p, dict) and str(p.get('version')) == release and p.get('arch') == arch]
    others = sorted({str(p.get('arch')) for p in products['products'].values()
                     if isinstance(p, dict) and str(p.get('version')) == release} - {arch})
    if not matches and others:  # 12.04: amd64, armhf and i386 only
        raise DiscoveryError('Ubuntu %s is not built for %s: %s lists it for %s only'
                             % (release, arch, url, ', '.join(others)))
    if not matches:
        raise DiscoveryError('Ubuntu %s (%s) is not in %s: the release has reached its end of life or does not exist'
                             % (release, arch, url))
    if len(matches) > 1:
        raise DiscoveryError('%s lists Ubuntu %s (%s) more than once' % (url, release, arch))
    product = matches[0]
    serials = [s for s, v in (product.get('versions') or {}).items() if SERIAL.fullmatch(s)
               and isinstance(v, dict) and isinstance((v.get('items') or {}).get('disk1.img'), dict)]
    if not serials:
        life = lifecycle(product)
        if life['supported'] is False:  # an old release (10.10) kept with tar.gz items only
            raise EndOfLife(life['support_eol'] or True, 'Ubuntu %s has reached its end of life%s (%s says '
                            '"supported": false)' % (release, ' on %s' % life['support_eol'] if life['support_eol']
                                                     else '', url))
        raise DiscoveryError('%s: Ubuntu %s (%s) has no build with a disk1.img item' % (url, release, arch))
    serial = max(serials, key=version_key)
    return product, serial, product['versions'][serial]['items']['disk1.img']


class Ubuntu(Source):
    name = 'ubuntu'
    distro = 'ubuntu'
    title = 'Ubuntu'
    tree = 'releases/'
    login_user = 'ubuntu'
    keyring_url = 'https://keyserver.ubuntu.com/pks/lookup?op=get&search=0x' + UEC_KEY
    keyring_name = 'ubuntu-cloudimage-keyring.asc'
    announce_lts_only = True

    def entry_url(self):
        return HOST + self.tree + 'streams/v1/com.ubuntu.cloud:released:download.json'

    def newest(self, ctx, entry):
        product, serial, item = newest_version(entry.json(), self.release, self.vendor_arch, entry.url)
        codename = str(product.get('release') or '')
        name = str(item.get('path') or '').rsplit('/', 1)[-1]
        if not re.fullmatch(r'[a-z]+', codename) or not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9._+-]*', name):
            raise DiscoveryError('%s: unusable codename %r or file name %r for Ubuntu %s'
                                 % (entry.url, codename, name, self.release))
        return {'version': serial, 'codename': codename, 'filename': name,
                'hint': hint_of('sha256', item.get('sha256')),
                'lifecycle': dict(lifecycle(product), vendor='Ubuntu', source=entry.url)}

    def resolve(self, ctx, entry, candidate):
        directory = '%s%s%s/release-%s/' % (HOST, self.tree, candidate['codename'], candidate['version'])
        sums_url = directory + 'SHA256SUMS'
        sums = ctx.get(sums_url, what='checksum file')
        fingerprint = ctx.verify_detached(self, sums.body, sums_url + '.gpg')
        checksum = ctx.find_checksum(sums.text, candidate['filename'], sums.url, 'sha256')
        same_digest(checksum, candidate['hint'], '%s %s' % (self.label(), candidate['version']))
        result = self.result(ctx, candidate['version'], date_in(candidate['version']),
                             directory + candidate['filename'], checksum, sums_url, 'detached',
                             sums_url + '.gpg', fingerprint)
        result['lifecycle'] = candidate['lifecycle']
        return result

    def catalog_url(self):
        return self.entry_url()

    def catalog(self, entry):
        doc = entry.json()
        if not isinstance(doc, dict) or not isinstance(doc.get('products'), dict):
            raise DiscoveryError('%s is not a simplestreams products document' % entry.url)
        found = {}
        for product in doc['products'].values():
            if not isinstance(product, dict) or product.get('arch') != self.vendor_arch:
                continue
            version = str(product.get('version') or '')
            if re.fullmatch(r'[0-9]{2}\.[0-9]{2}', version):
                title = str(product.get('release_title') or version)
                codename = product.get('release_codename') or ''
                found[version] = catalog_entry(version, ('%s %s %s' % (self.title, title, codename)).strip(),
                                               lts='LTS' in title, **lifecycle(product))
        return sorted(found.values(), key=lambda item: version_key(item['release']), reverse=True)


class UbuntuMinimal(Ubuntu):
    name = 'ubuntu_minimal'
    distro = 'ubuntu-minimal'
    title = 'Ubuntu Minimal'
    tree = 'minimal/releases/'
