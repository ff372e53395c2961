#!/usr/bin/env bash
# Installs everything the tests need, starts it, then runs ruff, mypy and the whole pytest suite.
# On a bare Debian 12 (root, or sudo) it installs from Debian's packages whatever is missing: chromium (browser
# tests), postgresql and redis-server; creates the PostgreSQL role and database the tests use (role `root`,
# database `test`, trusted on loopback); starts PostgreSQL and Redis when they are down, and waits for them.
# A server already answering on its port (say a CI service container) is used as it is. Safe to run again.
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --fast     skip the slow browser and media tests
#   scripts/test.sh -- ARGS    extra pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

fast=0
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fast) fast=1 ;;
    --) shift; pytest_args+=("$@"); break ;;
    *) pytest_args+=("$1") ;;
  esac
  shift
done

# What tests/support/database.py and the Redis tests connect to.
PG_HOST=127.0.0.1 PG_PORT=5432 PG_ROLE=root PG_DATABASE=test
REDIS_HOST=127.0.0.1 REDIS_PORT=6379

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
# Bash's /dev/tcp: works before any client tool is installed.
port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_for() {  # wait_for NAME COMMAND...: up to 30 s, then fail loudly
  local name="$1"; shift
  for _ in $(seq 1 30); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "$name did not come up on time" >&2
  return 1
}

missing=()
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/lib/chromium/chromium ]; then missing+=(chromium); fi
if ! port_open "$PG_HOST" "$PG_PORT" && ! command -v pg_ctlcluster >/dev/null 2>&1; then missing+=(postgresql); fi
if ! port_open "$REDIS_HOST" "$REDIS_PORT" && ! command -v redis-server >/dev/null 2>&1; then missing+=(redis-server); fi
# `ip` and `tc`: the tests that build network namespaces (no-egress, lossy and narrow links).
if ! command -v ip >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1; then missing+=(iproute2); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian's ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

ensure_venv
.venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev]"

# PostgreSQL: the local Debian cluster on the tests' port (made if the package's install did not make one),
# started when down.
pg_cluster() { pg_lsclusters -h | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }'; }
if command -v pg_ctlcluster >/dev/null 2>&1; then
  if [ -z "$(pg_cluster)" ]; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
    name=main
    if [ -d "/etc/postgresql/$version/main" ]; then name=mentorlive; fi  # a `main` on another port stays as it is
    echo "== creating PostgreSQL cluster $version/$name on port $PG_PORT"
    as_root pg_createcluster --port "$PG_PORT" "$version" "$name" >/dev/null
  fi
  if ! pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; then
    read -r version cluster < <(pg_cluster)
    echo "== starting PostgreSQL $version/$cluster"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
    wait_for PostgreSQL pg_isready -q -h "$PG_HOST" -p "$PG_PORT"
  fi
  # The role and database the tests log in to, without a password, from loopback only.
  if ! psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DATABASE" -Atqc 'SELECT 1' >/dev/null 2>&1; then
    echo "== creating PostgreSQL role $PG_ROLE and database $PG_DATABASE"
    # Superuser: the tests create and drop schemas and whole databases (migrations, CLI).
    [ "$(as_postgres psql -p "$PG_PORT" -Atqc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_ROLE'")" = 1 ] \
      || as_postgres psql -p "$PG_PORT" -qc "CREATE ROLE \"$PG_ROLE\" LOGIN SUPERUSER"
    [ "$(as_postgres psql -p "$PG_PORT" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" = 1 ] \
      || as_postgres psql -p "$PG_PORT" -qc "CREATE DATABASE \"$PG_DATABASE\" OWNER \"$PG_ROLE\""
    hba="$(as_postgres psql -p "$PG_PORT" -Atqc 'SHOW hba_file')"
    if ! grep -q "mentorlive tests" "$hba"; then
      # First matching line wins: put ours above Debian's password rules for loopback.
      as_root sed -i "1i host all $PG_ROLE 127.0.0.1/32 trust  # mentorlive tests\nhost all $PG_ROLE ::1/128 trust  # mentorlive tests" "$hba"
      as_postgres psql -p "$PG_PORT" -Atqc 'SELECT pg_reload_conf()' >/dev/null
    fi
    wait_for "PostgreSQL login as $PG_ROLE" psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_ROLE" -d "$PG_DATABASE" -Atqc 'SELECT 1'
  fi
fi

# Redis: no persistence, loopback only; started when installed but down.
if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  echo "== starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for Redis redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping
fi

echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
.venv/bin/mypy  # the packages and tests/ ([tool.mypy] files in pyproject.toml)
echo "== pytest"
# One worker per core (pytest-xdist); tests/conftest.py keeps the media and browser tests on a single worker,
# one after another, so their timings never compete with each other. `-- -n 0` runs everything in-process.
run_pytest=(.venv/bin/pytest -n auto --dist loadgroup --durations=25)
if [ "$fast" = 1 ]; then
  exec "${run_pytest[@]}" -m "not browser and not media" "${pytest_args[@]}"
fi
exec "${run_pytest[@]}" "${pytest_args[@]}"
