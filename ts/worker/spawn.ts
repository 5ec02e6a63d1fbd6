/**
 * Starts one kernel worker: a module Web Worker in browsers, a
 * worker_threads Worker in Node. Either way the caller gets a comlink
 * endpoint and a promise that rejects, with the cause, when the worker dies.
 */
import type { Endpoint } from 'comlink';
import { isNode } from '../kernel/load.js';
import { exitingReason, isReadyMessage } from './protocol.js';

export interface SpawnedWorker {
  endpoint: Endpoint;
  /** Never resolves; rejects when the worker fails or exits. */
  readonly failed: Promise<never>;
  /** Stops the worker at once (a running call is cut short). */
  terminate(): Promise<void>;
  /** Node: whether the worker keeps the process alive (only while a call is pending). */
  keepAlive(alive: boolean): void;
}

/** Starts a worker and waits until it listens (or fails to start). */
export async function spawnKernelWorker(name: string): Promise<SpawnedWorker> {
  const spawned = isNode ? await spawnNode(name) : spawnBrowser(name);
  let onMessage: (event: MessageEvent) => void = () => {};
  const listening = new Promise<void>((resolve) => {
    onMessage = (event) => {
      if (isReadyMessage(event.data)) resolve();
    };
  });
  spawned.endpoint.addEventListener('message', onMessage as EventListener);
  spawned.keepAlive(true);
  try {
    await Promise.race([listening, spawned.failed]);
  } catch (error) {
    await spawned.terminate();
    throw error;
  } finally {
    spawned.endpoint.removeEventListener('message', onMessage as EventListener);
    spawned.keepAlive(false);
  }
  return spawned;
}

/** A promise that rejects with the first reason given to `fail` (later ones are ignored). */
function failureSignal(): { failed: Promise<never>; fail: (error: Error) => void } {
  let fail: (error: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  // Rejecting before anyone awaits it is expected, not an unhandled rejection.
  failed.catch(() => {});
  return { failed, fail };
}

function spawnBrowser(name: string): SpawnedWorker {
  // This exact form lets bundlers (Vite, webpack, esbuild) find and emit the worker.
  const worker = new Worker(new URL('./kernel-worker.js', import.meta.url), { type: 'module', name });
  const { failed, fail } = failureSignal();
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(new Error(`${name} failed: ${event.message || 'it could not start or threw outside a call'}`));
  });
  worker.addEventListener('message', (event) => {
    const reason = exitingReason(event.data);
    if (reason !== undefined) fail(new Error(`${name} exited: ${reason}`));
  });
  worker.addEventListener('messageerror', () => {
    fail(new Error(`${name} received a message it could not read`));
  });
  return {
    endpoint: worker,
    failed,
    async terminate() {
      worker.terminate();
      fail(new Error(`${name} was terminated`));
      // A page's worker stops later, at its thread's next check for
      // interrupts (microseconds into a kernel loop; a bulk fill of a large
      // buffer takes longer). What it holds in the shared memory is freed
      // after this (`Kernel.freeThread`), and must not be while it may
      // still run. (Node's `terminate` resolves once the thread stopped.)
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
    keepAlive() {},
  };
}

async function spawnNode(name: string): Promise<SpawnedWorker> {
  const { Worker } = await import('node:worker_threads');
  const { default: nodeEndpoint } = await import('comlink/dist/esm/node-adapter.mjs');
  // Workers inherit the process's flags, but `--input-type` (node -e) is refused for a file.
  const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
  const script = await nodeWorkerScript();
  let worker: InstanceType<typeof Worker>;
  try {
    worker = new Worker(script, { name, execArgv });
  } catch (error) {
    // V8 and process-wide flags (`--max-old-space-size`,
    // `--experimental-wasm-relaxed-simd`) are refused in a worker's execArgv;
    // they apply to its threads anyway. Node names them: drop those.
    if ((error as { code?: string }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    const refused = new Set((error as Error).message.split(': ').slice(1).join(': ').split(', '));
    worker = new Worker(script, { name, execArgv: execArgv.filter((arg) => !refused.has(arg)) });
  }
  const { failed, fail } = failureSignal();
  worker.on('error', (error) => fail(new Error(`${name} failed: ${error.message}`, { cause: error })));
  worker.on('message', (data: unknown) => {
    const reason = exitingReason(data);
    if (reason !== undefined) fail(new Error(`${name} exited: ${reason}`));
  });
  worker.on('messageerror', () => fail(new Error(`${name} received a message it could not read`)));
  worker.on('exit', (code) => fail(new Error(`${name} exited (code ${code})`)));
  worker.unref();
  return {
    endpoint: nodeEndpoint(worker),
    failed,
    async terminate() {
      await worker.terminate();
    },
    keepAlive(alive) {
      if (alive) worker.ref();
      else worker.unref();
    },
  };
}

/**
 * The worker's script. From the TypeScript sources (tests, bench, demo, run
 * through tsx), the `.ts` worker is started with tsx registered in the worker,
 * which Node's `execArgv` cannot do for ES modules.
 */
async function nodeWorkerScript(): Promise<URL> {
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const built = new URL('./kernel-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  const source = new URL(built.href.replace(/\.js$/, '.ts'));
  if (!existsSync(fileURLToPath(source)))
    throw new Error(`kernel worker script not found: ${fileURLToPath(built)}`);
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(source.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`);
}
