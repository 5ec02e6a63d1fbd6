/**
 * A set of kernel workers over one shared kernel memory. Each call names a
 * worker and rejects, instead of hanging, when that worker dies; a dead
 * worker breaks the set, whose owner then replaces it.
 */
import { type Endpoint, type Remote, releaseProxy, wrap } from 'comlink';
import type { Kernel } from '../kernel/kernel.js';
import type { Ptr } from '../kernel/types.js';
import { KERNEL_TRAP, type KernelWorkerApi, type ReplicaHandle, type ReplicaSpec } from './protocol.js';
import { type SpawnedWorker, spawnKernelWorker } from './spawn.js';

/** Messages that crossed between this thread and its workers, and their payload size. */
export interface Traffic {
  messages: number;
  /** Bytes of values copied by the messages (shared memory and modules count 0). */
  bytes: number;
}

interface Slot {
  spawned: SpawnedWorker;
  remote: Remote<KernelWorkerApi>;
  pending: number;
  /** Why the worker died, once it has. */
  died?: Error;
  /**
   * The worker's thread number in the shared memory, under which the kernel
   * records what it allocates: its `close` frees its replicas; what a worker
   * that cannot be asked to close (or died mid-call) still held is freed by
   * this number once it has stopped.
   */
  thread?: number;
  /**
   * A one-float tensor the worker watches: raised, its running call stops
   * at the next step (so `dispose` need not kill it mid-call).
   */
  cancel?: Ptr;
}

const MAX_WORKERS = 64;

export class KernelWorkers {
  private readonly traffic: Traffic = { messages: 0, bytes: 0 };
  private deadWith: Error | undefined;
  private disposed = false;

  /** `shared`: the kernel whose memory the workers attach to. */
  private constructor(
    private readonly slots: Slot[],
    private readonly shared: Kernel | undefined,
  ) {}

  /**
   * Starts `count` workers. With `memory` 'shared', each attaches to
   * `kernel`'s memory; with 'copied', each loads a kernel of its own (the
   * same build as `kernel`'s), and data then travels in messages.
   */
  static async start(
    kernel: Kernel,
    count: number,
    memory: 'shared' | 'copied' = 'shared',
  ): Promise<KernelWorkers> {
    if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
      throw new Error(`workers: the count must be an integer from 1 to ${MAX_WORKERS}, got ${count}`);
    }
    if (memory === 'shared' && kernel.flavour !== 'threads') {
      throw new Error(
        "workers need the 'threads' kernel: shared memory, which Node has and browsers give crossOriginIsolated pages (COOP/COEP headers)",
      );
    }
    const workers = new KernelWorkers([], memory === 'shared' ? kernel : undefined);
    try {
      for (let i = 0; i < count; i++) {
        const spawned = await spawnKernelWorker(`kernel worker ${i}`);
        const remote = wrap<KernelWorkerApi>(counted(spawned.endpoint, workers.traffic));
        const slot: Slot = { spawned, remote, pending: 0 };
        spawned.failed.catch((error: Error) => {
          slot.died = error;
        });
        workers.slots.push(slot);
      }
      await Promise.all(
        workers.slots.map(async (slot, i) => {
          if (memory === 'copied') {
            await workers.call(i, 'loadKernel', (api) => api.loadKernel(kernel.relaxed));
            return;
          }
          const cancel = kernel.alloc(1);
          slot.cancel = cancel;
          slot.thread = await workers.call(i, 'attach', (api) =>
            api.attach(kernel.module, kernel.memory, kernel.relaxed, cancel),
          );
        }),
      );
    } catch (error) {
      await workers.dispose();
      throw error;
    }
    return workers;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Whether a call is running or waiting on any worker. */
  get busy(): boolean {
    return this.slots.some((slot) => slot.pending > 0);
  }

  /** Set when a worker died: every later call rejects with it. */
  get failure(): Error | undefined {
    return this.deadWith;
  }

  /** Messages and bytes exchanged so far. */
  trafficSoFar(): Traffic {
    return { ...this.traffic };
  }

  /**
   * Runs `call` on worker `index`. Rejects with the worker's own error (a
   * kernel error names its operation and argument), or when the worker dies.
   */
  async call<T>(index: number, what: string, call: (api: Remote<KernelWorkerApi>) => Promise<T>): Promise<T> {
    const slot = this.slots[index];
    if (!slot) throw new Error(`workers: no worker ${index} (of ${this.slots.length})`);
    if (this.disposed) throw new Error(`${what}: the workers were disposed`);
    if (this.deadWith) throw this.deadWith;
    slot.pending += 1;
    slot.spawned.keepAlive(true);
    try {
      return await Promise.race([call(slot.remote), slot.spawned.failed]);
    } catch (error) {
      // A worker that died, or is leaving after a trap, cannot be asked anything
      // again; an error it threw otherwise leaves it usable.
      if (slot.died) {
        const died = new Error(`${what}: ${slot.died.message}`, { cause: slot.died });
        this.deadWith ??= died;
        throw died;
      }
      const message = error instanceof Error ? error.message : String(error);
      const failed = new Error(`${what} in kernel worker ${index}: ${message}`, { cause: error });
      if (error instanceof Error && error.name === KERNEL_TRAP) this.deadWith ??= failed;
      throw failed;
    } finally {
      slot.pending -= 1;
      if (slot.pending === 0) slot.spawned.keepAlive(false);
    }
  }

  /** A replica of a model in worker `index`, over the shared memory (see `ReplicaSpec`). */
  createReplica(index: number, spec: ReplicaSpec): Promise<ReplicaHandle> {
    return this.call(index, 'createReplica', (api) => api.createReplica(spec));
  }

  /** @internal Kills worker `index` as a crash would (tests). */
  async kill(index: number): Promise<void> {
    await this.slots[index]?.spawned.terminate();
  }

  /** Frees what the workers hold in the shared memory, then stops them. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    // Once one worker died, none is asked anything (see `call`). Whatever a
    // worker still holds once stopped (its replicas, when it could not be
    // asked to close; the buffers of a call it died in) is freed here.
    const askToClose = !this.deadWith;
    // Running calls stop at their next step, instead of being killed mid-call.
    for (const slot of this.slots) if (slot.cancel !== undefined) this.shared?.cancelCalls(slot.cancel);
    const closing = this.slots.map(async (slot, i) => {
      if (askToClose) {
        await Promise.race([
          this.call(i, 'close', (api) => api.close()).catch(() => {}),
          new Promise((resolve) => setTimeout(resolve, 1000).unref?.()),
        ]);
      }
      slot.remote[releaseProxy]();
      await slot.spawned.terminate();
      try {
        if (slot.thread !== undefined) this.shared?.freeThread(slot.thread);
        if (slot.cancel !== undefined) this.shared?.free(slot.cancel);
      } catch (error) {
        // A worker was stopped inside the memory's allocator or a table:
        // the memory is unusable, every later call says so, and stopping
        // the other workers goes on.
        if (!this.shared?.unusable) throw error;
      }
    });
    this.disposed = true;
    await Promise.all(closing);
  }
}

/** `endpoint`, counting what crosses it in both directions. */
function counted(endpoint: Endpoint, traffic: Traffic): Endpoint {
  const wrappers = new WeakMap<object, EventListener>();
  const count = (message: unknown) => {
    traffic.messages += 1;
    traffic.bytes += payloadBytes(message, new Set());
  };
  return {
    postMessage(message: unknown, transfer?: Transferable[]) {
      count(message);
      endpoint.postMessage(message, transfer);
    },
    addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: object) {
      const wrapper: EventListener = (event) => {
        count((event as MessageEvent).data);
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      wrappers.set(listener, wrapper);
      endpoint.addEventListener(type, wrapper, options);
    },
    removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: object) {
      endpoint.removeEventListener(type, wrappers.get(listener) ?? listener, options);
      wrappers.delete(listener);
    },
  };
}

/** Bytes a structured clone of `value` copies (an estimate: 8 per number, 2 per character). */
function payloadBytes(value: unknown, seen: Set<object>): number {
  switch (typeof value) {
    case 'number':
    case 'bigint':
      return 8;
    case 'boolean':
      return 1;
    case 'string':
      return 2 * value.length;
    case 'object': {
      if (value === null || seen.has(value)) return 0;
      seen.add(value);
      if (value instanceof WebAssembly.Module || value instanceof WebAssembly.Memory) return 0;
      if (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer) return 0;
      if (ArrayBuffer.isView(value)) return value.buffer instanceof ArrayBuffer ? value.byteLength : 0;
      if (value instanceof ArrayBuffer) return value.byteLength;
      return Object.values(value).reduce((sum: number, v) => sum + payloadBytes(v, seen), 0);
    }
    default:
      return 0;
  }
}
