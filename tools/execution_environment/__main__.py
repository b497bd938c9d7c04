"""``python -m execution_environment build [LOG]``: build (or find) the EE of this working tree."""

import sys

from . import build

if len(sys.argv) < 2 or sys.argv[1] != 'build':
    sys.exit('usage: python -m execution_environment build [BUILD-LOG]')
TAG, TIMES = build(build_log=sys.argv[2] if len(sys.argv) > 2 else None)
print(TAG, ' '.join('%s=%.0fs' % item for item in TIMES.items()))
