#!/usr/bin/env bash
# Install what building and testing minewatch needs on Debian 12, idempotently:
# GDAL (library, headers, command-line tools and their Python scripts, which the tests
# use as outside references), pkg-config, a CJK font, headless Chromium (package page test;
# skip with MINEWATCH_NO_BROWSER=1), `just`, and moto_server (a local S3-compatible
# server for the object-storage shard test). Safe to run again: it installs
# only what is missing.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v gdal-config >/dev/null 2>&1 || need_apt+=(libgdal-dev)
command -v gdalinfo >/dev/null 2>&1 || need_apt+=(gdal-bin)
command -v gdal_sieve.py >/dev/null 2>&1 || need_apt+=(python3-gdal)
/usr/bin/python3 -c "import numpy" >/dev/null 2>&1 || need_apt+=(python3-numpy)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# A CJK font for the Chinese text of county maps and chips (minewatch package).
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_apt+=(fonts-wqy-microhei)
# Headless Chromium renders the offline package page in the tests (as a person would see it).
if [ "${MINEWATCH_NO_BROWSER:-}" = "" ]; then command -v chromium >/dev/null 2>&1 || need_apt+=(chromium); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v just >/dev/null 2>&1; then
  echo "setup: installing just" >&2
  # Debian 12 has no `just` package; the PyPI wheel ships the binary (seconds, vs minutes for cargo install).
  if python3 -m pip install -q rust-just==1.59.0 2>/dev/null || python3 -m pip install -q --break-system-packages rust-just==1.59.0; then
    bin=$(python3 -c 'import shutil,sysconfig,os; p=os.path.join(sysconfig.get_path("scripts"),"just"); print(p if os.path.exists(p) else (shutil.which("just") or ""))')
    if [ -n "$bin" ] && [ ! -e /usr/local/bin/just ]; then $SUDO cp "$bin" /usr/local/bin/just; fi
  fi
  command -v just >/dev/null 2>&1 || cargo install just --locked
fi
# A local S3-compatible server for the test of shards exchanged through object storage
# (moto, from PyPI, in its own virtualenv; linked as /usr/local/bin/moto_server).
if ! command -v moto_server >/dev/null 2>&1; then
  echo "setup: installing moto_server (S3-compatible test server)" >&2
  S3VENV=${MINEWATCH_S3_VENV:-$HOME/.cache/minewatch/s3venv}
  python3 -m venv "$S3VENV" 2>/dev/null || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$S3VENV"; }
  "$S3VENV/bin/pip" install -q 'moto[server]==5.2.5'
  $SUDO ln -sf "$S3VENV/bin/moto_server" /usr/local/bin/moto_server
fi
echo "setup: ok (GDAL $(gdal-config --version), $(just --version))" >&2
