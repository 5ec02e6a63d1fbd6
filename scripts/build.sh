#!/usr/bin/env bash
# Builds the two kernels and the TypeScript:
#   wasm/simd/     SIMD128, single-threaded, its own memory
#   wasm/threads/  SIMD128 + atomics, over an imported shared memory
#   dist/          the TypeScript facade, compiled
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

build_kernel() {
  local flavour=$1 rustflags=$2
  PATH="$WASM_CARGO_PATH" RUSTC_BOOTSTRAP=1 RUSTFLAGS="$rustflags" \
    CARGO_TARGET_DIR="target/wasm-$flavour" \
    wasm-pack --log-level warn build crates/gru-wasm --release --target web --mode force --no-pack \
    --out-dir "../../wasm/$flavour" --out-name gru_wasm -- -Zbuild-std=std,panic_abort --quiet
  rm -f "wasm/$flavour/.gitignore"
}

build_kernel simd "-C target-feature=+simd128"
# The relaxed-SIMD builds differ only in the GEMM micro-kernel: its multiply-
# adds (f32x4.relaxed_madd: fused where the machine has FMA) and 6-row tiles,
# which V8 keeps in registers only in LLVM's source order (see
# crates/gru-core/src/gemm/kernel.rs).
build_kernel simd-relaxed "-C target-feature=+simd128,+relaxed-simd -C llvm-args=-pre-RA-sched=source"

# The link arguments make rust-lld import a shared memory (up to 1 GiB) and
# export the thread-local-storage symbols wasm-bindgen's thread transform
# needs; the target features alone leave an unshared, exported memory.
THREADS_LINK="-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=1073741824 \
-C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
-C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
build_kernel threads "-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals $THREADS_LINK"
build_kernel threads-relaxed "-C target-feature=+simd128,+relaxed-simd,+atomics,+bulk-memory,+mutable-globals -C llvm-args=-pre-RA-sched=source $THREADS_LINK"

npx tsc -p tsconfig.build.json
