#!/usr/bin/env bash
# Installs MentorLive into .venv, migrates the SQLite database, loads demo data and serves it
# on http://127.0.0.1:8080 (override with MENTORLIVE_WEB_HOST / MENTORLIVE_WEB_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_venv
.venv/bin/pip install --quiet --disable-pip-version-check -e .
exec .venv/bin/mentorlive serve --demo "$@"
