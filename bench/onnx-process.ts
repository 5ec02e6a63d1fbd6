/**
 * ONNX Runtime Web's timings on one thread count, in a process of their own:
 * onnxruntime-web reads `env.wasm.numThreads` once, when its first session
 * starts its WebAssembly backend, and ignores later changes, so two thread
 * counts cannot be measured in one process. Run by bench/run.ts as
 * `tsx bench/onnx-process.ts '<config JSON>' <threads> '<repeat JSON>'`;
 * prints the timings as JSON.
 */
import { execFileSync } from 'node:child_process';
import type { Timing } from './harness.js';
import { onnxTimings } from './onnx.js';
import type { Config } from './training.js';

type Repeat = { warmup: number; reps: number };

/** Runs the timings in a fresh process (from bench/run.ts). */
export function onnxTimingsInProcess(
  c: Config,
  threads: number,
  options: Repeat,
): { predict: Timing; latency: Timing } {
  const output = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      new URL(import.meta.url).pathname,
      JSON.stringify(c),
      String(threads),
      JSON.stringify(options),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output) as { predict: Timing; latency: Timing };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [config, threads, options] = process.argv.slice(2);
  const timings = await onnxTimings(
    JSON.parse(config ?? '') as Config,
    Number(threads),
    JSON.parse(options ?? '') as Repeat,
  );
  console.log(JSON.stringify(timings));
  // onnxruntime-web's worker threads would keep the process alive.
  process.exit(0);
}
