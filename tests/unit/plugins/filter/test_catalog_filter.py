from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloudimages.openstack.plugins.filter.catalog import FilterModule

FILTERS = FilterModule().filters()
IMAGES = {'c1': [{'id': 'i1', 'name': 'Debian 12 - Latest', 'visibility': 'public', 'created_at': '2026-01-02T00:00:00Z',
                  'properties': {'cloudimages_release': 'debian-12', 'cloudimages_build': '20260101'}}]}


def test_filters_chain():
    assert sorted(FILTERS) == ['catalog_ages', 'catalog_html', 'catalog_markdown', 'catalog_model']
    model = FILTERS['catalog_model'](IMAGES, provider='example', usage={})
    assert model['provider'] == 'example' and model['usage_known'] is True
    assert '| Debian 12 \\- Latest |' not in FILTERS['catalog_markdown'](model)     # "-" needs no escape
    assert '| Debian 12 - Latest |' in FILTERS['catalog_markdown'](model)
    assert '<th scope="row">Debian 12 - Latest</th>' in FILTERS['catalog_html'](model)


@pytest.mark.parametrize('name, args', [
    ('catalog_model', (['not', 'a', 'mapping'],)),
    ('catalog_markdown', ({'schema': 0},)),
    ('catalog_html', ('text',)),
])
def test_bad_input_is_a_filter_error(name, args):
    with pytest.raises(AnsibleFilterError, match='mapping|catalog_model'):
        FILTERS[name](*args)
