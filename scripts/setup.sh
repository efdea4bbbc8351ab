#!/usr/bin/env bash
# Set up the project on a fresh machine: .venv/ with .venv/bin/tthc, and a nats-server.
# Idempotent: a second run only checks. Used by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup: $PYTHON not found; install Python 3.11 or newer" >&2; exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: Python 3.11 or newer is needed ($("$PYTHON" --version))" >&2; exit 1
fi

stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
if [ ! -f "$stamp" ]; then
  echo "setup: installing the project and its test tools into .venv" >&2
  .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
  .venv/bin/python -m pip install --quiet -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# nats-server: on PATH, in /usr/sbin, or Debian's package where apt-get exists.
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's nats-server package" >&2
    apt-get update -qq >/dev/null && apt-get install -y -qq nats-server >/dev/null
  else
    echo "setup: nats-server not found. Install it (Debian/Ubuntu: sudo apt-get install nats-server;" \
         "elsewhere the NATS project's release binary on PATH), or set TTHC_NATS_URL to a" \
         "running server with JetStream." >&2
    exit 1
  fi
fi

# Optional test tools (`scripts/setup.sh --test-tools`, as scripts/test.sh runs it):
# promtool from Debian's prometheus package, for the alert-rule tests. Best effort: a
# failure here only warns (the test then fails in CI and skips elsewhere).
if [ "${1:-}" = "--test-tools" ] && ! command -v promtool >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "setup: installing Debian's prometheus package (promtool)" >&2
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends prometheus; } >/dev/null 2>&1 \
      || echo "setup: could not install promtool; alert-rule tests will not run" >&2
  else
    echo "setup: promtool not found (Debian: apt-get install prometheus); alert-rule tests will not run" >&2
  fi
fi
