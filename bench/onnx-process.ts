/**
 * ONNX Runtime Web in a process of its own per thread count: onnxruntime-web
 * reads `env.wasm.numThreads` once, when its first session starts its
 * WebAssembly backend, and ignores later changes, so two thread counts
 * cannot run in one process. The process stays up for the whole bench and
 * times one call at a time on request, so that bench/run.ts can alternate
 * its calls with gru-wasm's: a drift of the machine's speed then falls on
 * both, and their ratio holds.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { onnxSession } from './onnx.js';
import type { Config } from './training.js';

type Request = { op: 'open'; config: Config } | { op: 'time'; what: 'predict' | 'latency' } | { op: 'close' };
type Reply = { ok: true; ms?: number } | { ok: false; error: string };

/** The parent's handle on one such process. */
export class OnnxProcess {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly child: ChildProcess,
    readonly threads: number,
  ) {}

  static start(threads: number): OnnxProcess {
    const child = fork(new URL(import.meta.url).pathname, [String(threads)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new OnnxProcess(child, threads);
  }

  /** A session for config `c` (its output checked against gru-wasm's first). */
  async open(c: Config): Promise<void> {
    await this.request({ op: 'open', config: c });
  }

  /** Milliseconds of one `session.run` on the batch or on one sequence, timed in the process. */
  async time(what: 'predict' | 'latency'): Promise<number> {
    return (await this.request({ op: 'time', what })).ms as number;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.send({ op: 'close' } satisfies Request);
    await exited;
  }

  /** One request at a time; rejects if the process fails or exits first. */
  private request(request: Request): Promise<{ ok: true; ms?: number }> {
    const next = this.queue.then(
      () =>
        new Promise<{ ok: true; ms?: number }>((resolve, reject) => {
          // Whichever comes first removes the other's listener.
          const onExit = (code: number | null) => {
            this.child.off('message', onReply);
            reject(new Error(`ONNX Runtime process (${this.threads} threads) exited with ${code}`));
          };
          const onReply = (reply: Reply) => {
            this.child.off('exit', onExit);
            if (reply.ok) resolve(reply);
            else reject(new Error(`ONNX Runtime (${this.threads} threads): ${reply.error}`));
          };
          this.child.once('exit', onExit);
          this.child.once('message', onReply);
          this.child.send(request);
        }),
    );
    this.queue = next.catch(() => {});
    return next;
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const threads = Number(process.argv[2]);
  let session: Awaited<ReturnType<typeof onnxSession>> | undefined;
  const reply = (message: Reply) => process.send?.(message);
  process.on('message', async (request: Request) => {
    try {
      if (request.op === 'open') {
        await session?.release();
        session = undefined;
        session = await onnxSession(request.config, threads);
        reply({ ok: true });
      } else if (request.op === 'time') {
        if (!session) throw new Error('no session: open one first');
        reply({ ok: true, ms: await session.time(request.what) });
      } else {
        await session?.release();
        // onnxruntime-web's worker threads would keep the process alive.
        process.exit(0);
      }
    } catch (error) {
      reply({ ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  });
}
