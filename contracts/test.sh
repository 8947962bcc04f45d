#!/usr/bin/env bash
# FilFil contract suite, fully offline apart from the npm registry:
# installs pinned Foundry (forge) and solc-js from npm, then build, test, fmt check, gas snapshot check.
set -euo pipefail
cd "$(dirname "$0")"

echo "== npm ci (pinned @foundry-rs/forge, solc-js, forge-std)"
npm ci --no-audit --no-fund --loglevel=error

FORGE=(node_modules/.bin/forge)
"${FORGE[@]}" --version | head -1

echo "== forge build"
"${FORGE[@]}" build

echo "== forge test"
"${FORGE[@]}" test --summary

echo "== forge fmt --check"
"${FORGE[@]}" fmt --check

echo "== forge snapshot --check (unit tests; fuzz and invariant runs excluded)"
"${FORGE[@]}" snapshot --check --no-match-test "testFuzz_|invariant_"

echo "contracts: all checks passed"
