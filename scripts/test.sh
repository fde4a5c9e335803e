#!/usr/bin/env bash
# Every test: the Rust workspace with every feature on (the optional ones have their own tests).
# Extra arguments go to cargo test, e.g. `scripts/test.sh --test net_udp`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-features "$@"
