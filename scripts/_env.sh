# Shared by scripts/demo and scripts/test: create .venv and install the project into it.
# Sourced, not executed. Re-installs only when pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV" >&2
    "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.asymap-installed"
WANT="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)-${ASYMAP_EXTRAS:-test}"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "==> installing asymap and its dependencies into .venv" >&2
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -e "$ROOT[${ASYMAP_EXTRAS:-test}]"
    echo "$WANT" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

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
