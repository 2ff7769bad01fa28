# minewatch tasks. `just --list` shows them.

# Install system packages the build and tests need (idempotent).
setup:
    bash scripts/setup.sh

# Run detection on the bundled real Landsat pair (Nanjing, Yangtze) and print where the results are.
demo: setup
    cargo build --release --locked -p minewatch-cli
    ./target/release/minewatch detect fixtures/real/nanjing_L5TM_20000503_clip400.tif fixtures/real/nanjing_L5TM_20020712_clip400.tif --params pipelines/peer-rule.toml --out out/demo --quicklook
    @echo "results in out/demo/ (patches.geojson, patches.gpkg, patches.csv, manifest.json, quicklook.png)"

# The full test suite.
test: setup
    cargo test --release --locked --workspace

# Formatting and lints as CI runs them.
lint:
    cargo fmt --all -- --check
    cargo clippy --release --locked --all-targets -- -D warnings

# Criterion benches of the hot kernels.
bench:
    cargo bench --locked -p minewatch-benches

# minewatch vs the GDAL CLI and Python peers on the peers' synthetic scene (N = 2048, 8192, 16384).
bench-peers N="8192" RUNS="3":
    bash scripts/bench-peers.sh {{N}} {{RUNS}}
