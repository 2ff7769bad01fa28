# minewatch tasks. `just --list` shows them.

# Install system packages the build and tests need (idempotent).
setup:
    bash scripts/setup.sh

# Run detect → overlay → rank → package on the bundled real Landsat pair (Nanjing, Yangtze corridor, Jiangsu) and print where the results are.
demo:
    bash scripts/demo.sh

# The full test suite.
test:
    bash scripts/test.sh

# Formatting and lints as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --release --locked --all-targets -- -D warnings

# Criterion benches: hot kernels, the overlay at national scale, the ledger and ranking of 10⁵ sites.
bench:
    cargo bench --locked -p minewatch-benches

# minewatch vs the GDAL CLI and Python peers on the peers' synthetic scene (N = 2048, 8192, 16384).
bench-peers N="8192" RUNS="3":
    bash scripts/bench-peers.sh {{N}} {{RUNS}}
