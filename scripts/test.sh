#!/usr/bin/env bash
# Quick start, command 2: install what is missing (GDAL and its command-line tools, which
# the tests use as outside references) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --release --locked --workspace
