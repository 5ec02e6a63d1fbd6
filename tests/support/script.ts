import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { within } from './within.js';

/**
 * Runs `source` as a TypeScript module (through tsx) in a Node process of
 * its own, with `flags`; resolves with its exit code and standard output.
 * `onOutput` sees the output as it arrives. The process is killed if it
 * outlives `timeoutMs`.
 */
export async function runScript(
  source: string,
  options: { flags?: string[]; timeoutMs: number; onOutput?: (text: string) => void },
): Promise<{ code: number | null; output: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gru-wasm-script-'));
  const script = join(dir, 'script.mts');
  await writeFile(script, source);
  try {
    const child = spawn(process.execPath, [...(options.flags ?? []), '--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      options.onOutput?.(output);
    });
    const code = await within(
      new Promise<number | null>((resolve) => child.on('exit', resolve)),
      `the script ${script}`,
      options.timeoutMs,
    ).finally(() => child.kill());
    return { code, output };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
