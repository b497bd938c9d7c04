"""Vendor writers, one module per vendor family, in catalog order."""

from __future__ import annotations

from .almalinux import AlmaLinux
from .cirros import GITHUB_PREFIX, OBJECTS_PREFIX, CirrOS
from .debian import Debian
from .fcos import FedoraCoreOS
from .fedora import REDIRECTOR, Fedora
from .flatcar import Flatcar
from .provider import Windows
from .rocky import Rocky
from .ubuntu import Ubuntu, UbuntuMinimal

VENDORS = {vendor.distro: vendor for vendor in (
    Ubuntu(), UbuntuMinimal(), Debian(), Rocky(), AlmaLinux(), Fedora(), FedoraCoreOS(), Flatcar(), CirrOS(), Windows())}

# Path-prefix redirects the server answers with 302 (redirector hosts, GitHub release assets).
REDIRECTS = [
    (REDIRECTOR + '/', Fedora.host + '/'),
    (GITHUB_PREFIX, OBJECTS_PREFIX),
]
