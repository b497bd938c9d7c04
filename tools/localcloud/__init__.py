"""Real OpenStack services (Keystone, Glance, Nova, Cinder, ...) on 127.0.0.1 for integration tests.

The launcher itself uses only the standard library; the services and the bootstrap script run in a
separate cached virtualenv so their dependencies never leak into the collection's environment.
"""

from .cloud import LocalCloud, LocalCloudError, boots

__all__ = ['LocalCloud', 'LocalCloudError', 'boots']
