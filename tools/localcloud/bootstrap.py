"""Keystone/Nova bootstrap with openstacksdk; runs inside the services venv, not the launcher.

One process per phase instead of ~60 `openstack` CLI calls (2-3 s of start-up each). Every step is
find-or-create, so re-running it on an existing stack is harmless.
usage: python bootstrap.py CONFIG.json identity|compute
"""

import json
import subprocess
import sys
import time

import openstack
from openstack import exceptions


def admin_connection(cfg, region='RegionOne'):
    return openstack.connect(auth_url=cfg['auth_url'], username='admin', password=cfg['admin_password'],
                             project_name='admin', user_domain_name='Default', project_domain_name='Default',
                             region_name=region, identity_api_version='3', interface='public')


def find_or_create(finder, creator, name, **attrs):
    found = finder(name, ignore_missing=True)
    return found if found is not None else creator(name=name, **attrs)


def identity(cfg):
    conn = admin_connection(cfg)
    ident = conn.identity
    for region in cfg['regions']:
        if ident.find_region(region, ignore_missing=True) is None:
            ident.create_region(id=region)
    roles = {name: find_or_create(ident.find_role, ident.create_role, name)
             for name in ('admin', 'member', 'reader', 'service')}
    projects = {name: find_or_create(ident.find_project, ident.create_project, name, domain_id='default')
                for name in cfg['projects']}
    for name, spec in cfg['users'].items():
        user = ident.find_user(name, ignore_missing=True)
        if user is None:
            user = ident.create_user(name=name, password=spec['password'], domain_id='default',
                                     default_project_id=projects[spec['project']].id)
        for role in spec['roles']:
            ident.assign_project_role_to_user(projects[spec['project']], user, roles[role])
    for service in cfg['services']:
        svc = ident.find_service(service['name'], ignore_missing=True)
        if svc is None:
            svc = ident.create_service(name=service['name'], type=service['type'], is_enabled=True)
        have = {(ep.region_id, ep.interface) for ep in ident.endpoints(service_id=svc.id)}
        for region, endpoint in service['endpoints'].items():
            for interface in ('public', 'internal', 'admin'):
                if (region, interface) not in have:
                    ident.create_endpoint(service_id=svc.id, interface=interface, url=endpoint, region_id=region)


def wait(what, check, timeout=120):
    start = time.monotonic()
    while True:
        try:
            if check():
                print('%s after %.1f s' % (what, time.monotonic() - start), flush=True)
                return
        except exceptions.SDKException as exc:  # service still warming up
            print('%s: %s' % (what, exc), flush=True)
        if time.monotonic() - start > timeout:
            raise SystemExit('timed out waiting for %s' % what)
        time.sleep(0.5)


def services_up(services, binaries):
    states = {(s.binary, s.state) for s in services}
    return all((binary, 'up') in states for binary in binaries)


def compute(cfg):
    conn = admin_connection(cfg)
    wait('nova services up', lambda: services_up(conn.compute.services(),
                                                 ('nova-conductor', 'nova-scheduler', 'nova-compute')))
    wait('hypervisor listed', lambda: list(conn.compute.hypervisors()))
    # Map the compute host now instead of waiting for the scheduler's periodic discovery.
    subprocess.run(cfg['discover_hosts'], check=True, stdout=sys.stdout, stderr=sys.stderr)
    for flavor in cfg['flavors']:
        if conn.compute.find_flavor(flavor['name'], ignore_missing=True) is None:
            conn.compute.create_flavor(is_public=True, **flavor)
    # Neutron 29: the first GET /v2.0/ports in a fresh process is a 500 until the ORM mappers are
    # configured by some other query. Do that query now, before nova's first server GET does it.
    list(conn.network.networks())
    wait('neutron ports list', lambda: list(conn.network.ports()) or True, timeout=30)
    wait('cinder services up', lambda: services_up(conn.block_storage.services(),
                                                   ('cinder-scheduler', 'cinder-volume')))


def main():
    with open(sys.argv[1], encoding='utf-8') as handle:
        cfg = json.load(handle)
    {'identity': identity, 'compute': compute}[sys.argv[2]](cfg)


if __name__ == '__main__':
    main()
