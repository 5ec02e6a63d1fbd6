#!/usr/bin/env bash
# The tests, once set up and built: the kernel's Rust tests, then the
# TypeScript suite on the machine's Node (plain SIMD builds) and on the
# Node 24 LTS (relaxed-SIMD builds, chosen by default there). The
# browser test drives Chromium, whatever Node serves its pages: it runs once.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo test --workspace
# The relaxed-SIMD builds' 6-row GEMM tiles, on the native lanes.
cargo test -p gru-core --features tall-tiles
echo "vitest on $(node --version)"
npx vitest run
echo "vitest on $("$NODE_LTS" --version)"
"$NODE_LTS" node_modules/vitest/vitest.mjs run --exclude tests/browser.test.ts
