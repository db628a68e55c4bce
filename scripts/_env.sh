# Shared by scripts/demo and scripts/test: create .venv and install the project into it.
# Sourced, not executed. Re-installs only when pyproject.toml, setup.py or the compiled part's
# source changed since the last install (or a C compiler appeared).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

# apt_ensure CMD PACKAGE [CMD PACKAGE ...]: install the Debian packages whose command is missing.
# A CMD starting with '/' is a file the package installs (for packages without a command, e.g. a
# library's header), checked with test -e.
apt_ensure() {
    local missing=()
    while [ $# -gt 0 ]; do
        if [ "${1#/}" != "$1" ]; then
            [ -e "$1" ] || missing+=("$2")
        else
            command -v "$1" >/dev/null 2>&1 || missing+=("$2")
        fi
        shift 2
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local SUDO=""
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
            echo "error: missing ${missing[*]}; install them with apt-get (needs root)" >&2; return 1
        fi
    fi
    echo "==> apt-get install ${missing[*]}" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV" >&2
    "$PY" -m venv "$VENV"
fi
# ASYMAP_NEED_CC=1 (scripts/test): install a C compiler first, so that setup.py builds the
# planner's compiled inner loops (asymap.partition._fast; without a compiler the install still
# works and the planner runs the same steps in numpy, slower). The stamp records whether a
# compiler was there, so a venv installed without one is re-installed once one is.
if [ "${ASYMAP_NEED_CC:-0}" = 1 ]; then apt_ensure gcc gcc; fi
CC_SEEN="$(command -v gcc >/dev/null 2>&1 && echo cc || echo nocc)"
STAMP="$VENV/.asymap-installed"
WANT="$(cat "$ROOT/pyproject.toml" "$ROOT/setup.py" "$ROOT/generator/asymap/partition/_fast.c" | sha256sum | cut -d' ' -f1)-${ASYMAP_EXTRAS:-test}-$CC_SEEN"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "==> installing asymap and its dependencies into .venv" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[${ASYMAP_EXTRAS:-test}]"
    echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

