#!/usr/bin/env bash
# Runs every test fil-fil has: Rust lints and tests, then the Solidity contract suite.
# Installs what it needs (Foundry and solc-js from npm) on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-shot build gains nothing from incremental caches, and they double the
# size of target/ (a full CI disk once killed the linker with SIGBUS).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "== disk: $(df -h . | awk 'NR==2 {print $4 " free on " $6}')"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== cargo nextest (Rust unit + integration tests)"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --locked --no-fail-fast
  # nextest does not run doctests
  cargo test --locked --doc
else
  cargo test --locked
fi

if [ -f contracts/package.json ]; then
  echo "== contracts (Foundry, offline)"
  bash contracts/test.sh
fi
