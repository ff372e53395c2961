# Shared by run.sh and test.sh.
pick_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"; return 0
    fi
  done
  echo "MentorLive needs Python 3.11 (python3.11 not found)" >&2
  return 1
}

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
  fi
  .venv/bin/pip install --quiet --disable-pip-version-check --upgrade "pip>=23.2" >/dev/null
}
