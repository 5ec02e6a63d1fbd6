/**
 * A worker killed while it holds the memory's allocator or one of its
 * tables never lets go of it. Nothing may hang on that: the other threads
 * (the page's own included) find the lock stuck after a bounded wait, the
 * memory is declared unusable, and every call then fails with an error
 * naming what was held. (Before, the next allocation or table lookup on any
 * thread spun for ever.)
 *
 * Each case runs in a process of its own (its memory ends unusable), with a
 * raw worker that attaches to the kernel's memory and holds one lock until
 * it is killed; the library's own workers, started before, still stop.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './support/script.js';

const index = fileURLToPath(new URL('../ts/index.ts', import.meta.url));
const workersModule = fileURLToPath(new URL('../ts/worker/workers.ts', import.meta.url));
const wasm = new URL('../wasm/', import.meta.url).href;

/** The worker: attaches as `Kernel.attach` does, says which thread it is, then holds `lock` for a minute. */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const glue = await import(workerData.glue);
  const exports = await glue.default({ module_or_path: workerData.module, memory: workerData.memory });
  glue.recordThreadMemory(exports.__tls_base.value, exports.__stack_alloc.value);
  parentPort.postMessage(glue.threadId());
  glue.holdLockForTests(workerData.lock, 60000);
})();`;

function script(lock: number): string {
  return `
import { Worker } from 'node:worker_threads';
import * as gw from ${JSON.stringify(index)};
import { KernelWorkers } from ${JSON.stringify(workersModule)};
const kernel = await gw.ready();
const kept = kernel.alloc(4);
// Workers of the library's own, started while the memory is sound.
const workers = await KernelWorkers.start(kernel, 1);
const glue = ${JSON.stringify(wasm)} + (kernel.relaxed ? 'threads-relaxed' : 'threads') + '/gru_wasm.js';
const worker = new Worker(${JSON.stringify(workerSource)}, {
  eval: true,
  workerData: { glue, module: kernel.module, memory: kernel.memory, lock: ${lock} },
});
const thread = await new Promise((resolve) => worker.once('message', resolve));
await new Promise((resolve) => setTimeout(resolve, 200));
await worker.terminate();
const outcome = (call) => {
  const start = performance.now();
  try {
    call();
    return { error: null, ms: performance.now() - start };
  } catch (error) {
    return { error: error.message, ms: performance.now() - start };
  }
};
const report = {
  freeThread: outcome(() => kernel.freeThread(thread)),
  alloc: outcome(() => kernel.alloc(4)),
  lookup: outcome(() => kernel.view(kept)),
  withString: outcome(() => kernel.initialize('zeros', kept, 2, 2, 1)),
  product: outcome(() => kernel.gemm({ m: 2, n: 2, k: 1 }, { a: kept, b: kept, c: kept })),
  // Freeing is moot then, and never fails: cleanup goes on.
  free: outcome(() => kernel.free(kept)),
  unusable: kernel.unusable?.message ?? null,
  // Stopping them still works, whatever their memory.
  dispose: await workers.dispose().then(() => 'stopped', (error) => error.message),
};
console.log(JSON.stringify(report));
`;
}

const held = ['the memory allocator', 'the tensor table', 'the thread table'];

describe('a worker stopped inside a lock', () => {
  for (const [lock, what] of held.entries()) {
    it(`holding ${what}: calls fail with an error naming it, nothing hangs`, async () => {
      const { code, output } = await runScript(script(lock), { timeoutMs: 60_000 });
      expect(code).toBe(0);
      const report = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as Record<
        string,
        { error: string | null; ms: number } | string | null
      >;
      const expected = `the kernel's memory is unusable: a worker was stopped while it held ${what}`;
      expect(report.unusable).toContain(expected);
      for (const call of ['freeThread', 'alloc', 'lookup', 'withString', 'product']) {
        const outcome = report[call] as { error: string | null; ms: number };
        expect(outcome.error, call).toContain(expected);
      }
      expect((report.free as { error: string | null }).error).toBeNull();
      expect(report.dispose).toBe('stopped');
      // The first call waits out the holder (2 s without a change); later ones fail at once.
      expect((report.alloc as { ms: number }).ms).toBeLessThan(100);
    }, 90_000);
  }
});
