#!/usr/bin/env bash
# The main job end to end on embedded defaults: set up, start a local nats-server if none
# is reachable, run intake + aggregator + reporter, feed them realistic desk traffic,
# and print the statistical appendix.  Extra arguments go to `tthc demo` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/tthc demo "$@"
