"""More regions on a running stack: one light Glance API per region, as providers run them.

Region N (N >= 3) is Glance ``glanceN`` on a port of its own, with its own SQLite database and
stores under BASE/data/glanceN, and an image endpoint in Keystone's catalog; Keystone stays one.
A database is migrated once per stack, then copied (the same empty schema) for every further
region. A restarted stack does not restart these: run ``regions`` again.
"""

import concurrent.futures
import functools
import random
import shutil

from . import configs
from .ports import PortInUse, port_free


def names(total):
    """{region: Glance daemon name} of regions 3..total."""
    return {'Region%d' % index: 'glance%d' % index for index in range(3, total + 1)}


def free_port(taken):
    """A free port at offset 11-19 of a 20-port block: outside every block ports.auto_base plans."""
    for _attempt in range(500):
        port = random.randrange(20000, 32000, 20) + random.randrange(11, 20)
        if port not in taken and port_free(port):
            return port
    raise PortInUse('no free port for another region on 127.0.0.1')


def add(cloud, total, parallel=4):
    """Start the Glance of every region 3..total not running yet and add it to the catalog;
    return {region: Glance URL} of every region of the stack."""
    layout, ports = cloud.layout, cloud.ports
    wanted = names(total)
    for name in wanted.values():
        if name not in ports:
            ports[name] = free_port(set(ports.values()))
    layout.write_json(layout.ports_file, ports)
    stack = cloud._stack()  # pylint: disable=protected-access
    template = layout.data / 'glance-region-template.sqlite'
    todo = [name for name in wanted.values() if not cloud.daemons.running(name)]
    for name in todo:
        configs.glance(layout, ports, stack.venv, name, [], False)
        db = layout.data / name / 'glance.sqlite'
        if not layout.marker(name + '-db').exists():
            if template.exists():
                shutil.copyfile(template, db)
                layout.marker(name + '-db').touch()
            else:
                stack.glance_db(name)
                shutil.copyfile(db, template)
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        list(pool.map(stack.uwsgi, todo))
    url = functools.partial(configs.url, ports)
    catalog = dict({'RegionOne': url('glance'), 'RegionTwo': url('glance2')},
                   **{region: url(name) for region, name in wanted.items()})
    extra = {region: url(name) for region, name in wanted.items()}
    if extra:
        config = layout.etc / 'bootstrap-regions.json'
        layout.write_json(config, {
            'auth_url': url('keystone', '/v3'), 'admin_password': configs.ADMIN_PASSWORD,
            'regions': list(extra), 'projects': [], 'users': {},
            'services': [{'name': 'glance', 'type': 'image', 'endpoints': extra}]})
        stack.bootstrap('identity', ['keystone'], config)
    configs.clouds_yaml(layout, ports, list(catalog))  # openstacksdk refuses a region it does not list
    return catalog
