#!/usr/bin/env bash
# ossnb's one entry point for set-up and jobs on a fresh machine (Debian/Ubuntu or any box with python3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")" && pwd)  # the clone; paths below are absolute, the caller's folder stays
VENV=$ROOT/.venv
PY=$VENV/bin/python

usage() {
  cat <<USAGE
usage: ./dev.sh COMMAND [ARGS...]

  setup       create .venv and install ossnb with its test dependencies (the others do it first)
  demo        run the multipart demo on the embedded emulator
  test        run lint, types, layers and every test (pytest ARGS...)
  lab         open the notebooks in JupyterLab
  ossnb ...   run the ossnb command in the caller's folder: files and ./.ossnb/emulator
              (the embedded emulator's data) are the caller's, e.g.
              ./dev.sh ossnb upload big.bin oss://demo/big.bin
USAGE
}

need_root_apt() {  # apt-get install, as root or through sudo, only where apt-get exists
  command -v apt-get >/dev/null || return 1
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

setup() {  # create the venv and install ossnb with its test extras; re-run when pyproject changes
  if [ ! -x "$PY" ]; then
    echo "== creating $VENV" >&2
    python3 -m venv "$VENV" 2>/dev/null || { need_root_apt python3-venv && rm -rf "$VENV" && python3 -m venv "$VENV"; }
  fi
  if [ ! -f "$VENV/.installed" ] || [ "$ROOT/pyproject.toml" -nt "$VENV/.installed" ]; then
    echo "== installing ossnb and its test dependencies into $VENV" >&2
    # the log is shown only if the install fails (pip and setuptools are chatty)
    if ! { "$PY" -m pip install -q --upgrade pip && "$PY" -m pip install -q -e "$ROOT[test]"; } \
        > "$VENV/install.log" 2>&1; then
      grep -v "^WARNING: Location" "$VENV/install.log" >&2
      echo "== installing failed; the log is in $VENV/install.log" >&2
      exit 1
    fi
    touch "$VENV/.installed"
  fi
  if [ "${cmd:-}" = test ] || [ "${cmd:-}" = setup ]; then  # the browser tests drive Debian's Chromium
    # (the look tests measure text, so the fonts are checked too, not only the browser)
    if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
      echo "== installing chromium and fonts-dejavu-core (browser tests)" >&2
      need_root_apt chromium fonts-dejavu-core || {
        echo "could not install chromium: browser tests will be skipped (a failure under CI)" >&2
        [ -z "${CI:-}" ] || exit 1
      }
    fi
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then  # ali-oss, the Node.js SDK
      echo "== installing nodejs and npm (the ali-oss tests)" >&2
      need_root_apt nodejs npm || {
        echo "could not install nodejs: the ali-oss tests will be skipped (a failure under CI)" >&2
        [ -z "${CI:-}" ] || exit 1
      }
    fi
  fi
}

checks() {  # lint, format, types, layering: the gates every change passes
  echo "== ruff" >&2
  "$VENV/bin/ruff" check ossnb tests benchmarks
  "$VENV/bin/ruff" format --check ossnb tests benchmarks
  echo "== mypy --strict ossnb" >&2
  "$VENV/bin/mypy"
  echo "== import-linter (layers of docs/ARCHITECTURE.md §1)" >&2
  "$VENV/bin/lint-imports" --no-cache
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
  demo)  setup; exec "$VENV/bin/ossnb" demo "$@" ;;
  test)  setup; cd "$ROOT"; checks; echo "== pytest" >&2; exec "$PY" -m pytest -q "$@" ;;
  lab)   setup; cd "$ROOT"; root=(); [ "$(id -u)" = 0 ] && root=(--allow-root)
         exec "$PY" -m jupyterlab notebooks "${root[@]}" "$@" ;;
  ossnb) setup; exec "$VENV/bin/ossnb" "$@" ;;
  setup) setup ;;
  help|-h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
