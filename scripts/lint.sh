#!/usr/bin/env bash
# Formatting and static checks, Rust and TypeScript. Needs `npm run build`
# first (the TypeScript imports the generated kernel bindings).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
npx tsc --noEmit
npx tsc --noEmit -p bench
npx biome ci .
