"""The sync's metrics and the documented alert rules, checked by Prometheus's own promtool.

``check_metrics``: ``promtool check metrics`` on a textfile the sync wrote. ``firing``: which of
the alert rules of docs/operations.md fire on the series of such a file, by ``promtool test
rules``: the file's samples become constant input series, timestamps relative to the run (the
test clock's 0 is the run's end), and each expected alert is asserted by promtool itself.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import yaml

DOCS = Path(__file__).resolve().parents[1] / 'docs' / 'operations.md'
_SAMPLE = re.compile(r'^(?P<series>[a-z_]+(?:\{.*\})?) (?P<value>\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def documented_rules():
    """The alert rules block of docs/operations.md, as the operator copies it."""
    text = DOCS.read_text(encoding='utf-8')
    block = text.split('Alert rules (Prometheus):', 1)[1].split('```yaml\n', 1)[1].split('```', 1)[0]
    return yaml.safe_load(block)


def check_metrics(text):
    """``promtool check metrics`` (lint and parse) of a textfile; AssertionError with its output on failure."""
    done = subprocess.run(['promtool', 'check', 'metrics'], input=text, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def samples(text):
    """``[(metric, labels, value)]`` of a textfile."""
    found = []
    for line in text.splitlines():
        if line and not line.startswith('#'):
            match = _SAMPLE.match(line)
            assert match, line
            name, labels = (match['series'] + '{').split('{', 2)[:2]
            found.append((name, dict(_LABEL.findall(labels)), float(match['value'])))
    return found


def _series(text):
    run = [sample[2] for sample in samples(text) if sample[0] == 'cloudimages_sync_run_timestamp_seconds'][0]
    series = []
    for name, labels, value in samples(text):
        if name.endswith('_timestamp_seconds'):
            value -= run  # the test clock starts at the run
        selector = ','.join('%s="%s"' % item for item in sorted(labels.items()))
        series.append({'series': '%s{%s}' % (name, selector), 'values': '%r+0x%d' % (value, 48 * 6)})  # two days
    return series


def rules_fire(text, expected, at='2h', rules=None):
    """Run promtool test rules: the documented rules on the series of ``text``, evaluated ``at`` after
    the run. ``expected``: ``{alertname: [labels of each alert that must fire]}``; an alertname with
    ``[]`` must not fire at all. AssertionError with promtool's output when reality differs."""
    rules = rules or documented_rules()
    wanted = {rule['alert']: rule for group in rules['groups'] for rule in group['rules']}
    tests = []
    for alertname, alerts in expected.items():
        rule = wanted[alertname]
        exp = [{'exp_labels': dict(labels, **rule.get('labels', {})),
                'exp_annotations': _annotations(rule, labels)} for labels in alerts]
        tests.append({'eval_time': at, 'alertname': alertname, 'exp_alerts': exp})
    with tempfile.TemporaryDirectory(prefix='promtool-') as tmp:
        (Path(tmp) / 'rules.yml').write_text(yaml.safe_dump(rules), encoding='utf-8')
        (Path(tmp) / 'test.yml').write_text(yaml.safe_dump({
            'rule_files': ['rules.yml'], 'evaluation_interval': '1m',
            'tests': [{'interval': '10m', 'input_series': _series(text), 'alert_rule_test': tests}]}), encoding='utf-8')
        done = subprocess.run(['promtool', 'test', 'rules', 'test.yml'], cwd=tmp, capture_output=True, text=True,
                              check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _annotations(rule, labels):
    """The rule's annotations with {{ $labels.x }} filled in (promtool compares them exactly);
    rules whose annotations use $value are left to the caller (none of the tested ones)."""
    out = {}
    for key, template in (rule.get('annotations') or {}).items():
        if '$value' in template:
            raise ValueError('annotation %s of %s uses $value: give it explicitly' % (key, rule['alert']))
        out[key] = re.sub(r'\{\{ \$labels\.(\w+) \}\}', lambda m: labels[m.group(1)], template)
    return out
