#!/usr/bin/env bash
# candor set-up: everything a fresh Debian 12 machine with Node/npm needs, then (unless --no-demo) the main job.
#
#   bash tools/setup.sh            # install what is missing, then run `deno task demo`
#   bash tools/setup.sh --no-demo  # install only (CI)
#
# Idempotent: each step checks before it installs. Needs root (or sudo) for the Debian packages.
set -euo pipefail

DENO_VERSION=2.9.6
APT_PACKAGES=(libxgboost0 libopenblas0-pthread jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel)

run_demo=1
for arg in "$@"; do
  case "$arg" in
    --no-demo) run_demo=0 ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (expected --no-demo)" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Deno, from the npm registry, pinned.
deno_is_pinned() { [[ "$(deno --version 2>/dev/null)" == "deno ${DENO_VERSION} "* ]]; }
if ! deno_is_pinned; then
  say "installing Deno ${DENO_VERSION} from npm"
  as_root npm install -g --no-fund --no-audit "deno@${DENO_VERSION}"
  hash -r # forget where the shell last found deno
  if ! deno_is_pinned; then
    npm_bin="$(npm prefix -g 2>/dev/null)/bin"
    found="$(command -v deno || true)"
    if [ -z "$found" ]; then
      echo "setup.sh: npm installed Deno ${DENO_VERSION} into ${npm_bin}, but no deno is on PATH; add ${npm_bin} to PATH and run setup again" >&2
    else
      echo "setup.sh: npm installed Deno ${DENO_VERSION} into ${npm_bin}, but ${found} comes first on PATH and is" \
        "'$(deno --version 2>/dev/null | head -n 1)'; remove it or put ${npm_bin} before $(dirname "$found") in PATH," \
        "then run setup again" >&2
    fi
    exit 1
  fi
fi
say "$(deno --version | head -n 1)"

# 2. Debian packages: XGBoost's C library, OpenBLAS (neural training's matrix products) and Jupyter (classic notebook +
#    nbconvert) for notebooks and reports.
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 3. The Deno Jupyter kernel (notebooks and `deno task report`).
if ! /usr/bin/python3 -c "import sys; from jupyter_client.kernelspec import find_kernel_specs as f; sys.exit('deno' not in f())" 2>/dev/null; then
  say "registering the Deno Jupyter kernel"
  deno jupyter --install >/dev/null
fi

# 4. npm dependencies, exactly as locked.
say "installing dependencies from deno.lock"
deno install --frozen

if [ "$run_demo" -eq 1 ]; then
  say "running the main job: deno task demo"
  exec deno task demo
fi
