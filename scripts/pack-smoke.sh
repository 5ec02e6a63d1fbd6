#!/usr/bin/env bash
# Installs the package as npm would publish it into an empty project and
# trains a tiny model through its public entry point: checks the exports
# map, the files list and the kernel's location inside the package.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack --pack-destination "$work" --silent >/dev/null
cd "$work"
npm init -y >/dev/null
npm install ./gru-wasm-*.tgz --no-audit --no-fund --loglevel=error >/dev/null
cat > smoke.mjs <<'JS'
import * as gw from 'gru-wasm';
const kernel = await gw.ready();
if (kernel.relaxed !== (await gw.relaxedAvailable())) throw new Error('the relaxed-SIMD build was not chosen where the runtime has relaxed SIMD');
const x = gw.tensor(Float32Array.from({ length: 8 * 5 * 2 }, (_, i) => Math.sin(i)), [8, 5, 2]);
const y = gw.tensor(Float32Array.from({ length: 8 }, (_, i) => i % 2), [8, 1]);
const model = gw.sequential();
model.add(gw.layers.gru({ units: 4, inputShape: [5, 2] }));
model.add(gw.layers.dense({ units: 1, activation: 'sigmoid' }));
model.compile({ optimizer: 'adam', loss: 'binaryCrossentropy', workers: 2 });
const history = await model.fit(x, y, { epochs: 2, verbose: 0 });
const losses = history.history.loss;
if (!losses.every(Number.isFinite)) throw new Error(`non-finite losses ${losses}`);
const pool = await gw.createInferencePool(model, { size: 1 });
const served = (await pool.predict(x)).dataSync();
const local = (await model.predict(x)).dataSync();
if (served.some((v, i) => v !== local[i])) throw new Error('the inference pool disagrees with predict');
await pool.dispose();
model.dispose();
console.log(`installed package trains on 2 kernel workers (${kernel.flavour}${kernel.relaxed ? '-relaxed' : ''} kernel, Node ${process.versions.node}) and serves from a pool: losses ${losses.map((v) => v.toFixed(4)).join(', ')}`);
JS
node smoke.mjs
# On Node 24 the package loads its relaxed-SIMD build.
"$NODE_LTS" smoke.mjs
