/**
 * `gw.ready()`: one kernel per process. Asking for another flavour or build
 * once one is loading or loaded rejects, naming both; a load that failed
 * does not stick. (Vitest gives each test file a fresh module graph: nothing
 * is loaded when this file starts.)
 */
import { expect, it } from 'vitest';
import * as gw from '../ts/index.js';
import type { KernelFlavour } from '../ts/kernel/load.js';

it('refuses to switch kernels, even while the first is loading, and retries a failed load', async () => {
  await expect(gw.ready('gpu' as KernelFlavour)).rejects.toThrow(
    "unknown kernel flavour 'gpu': 'auto', 'simd' or 'threads'",
  );
  // Both asked before either has loaded.
  const first = gw.ready('simd');
  const second = gw.ready('threads');
  const kernel = await first;
  expect(kernel.flavour).toBe('simd');
  await expect(second).rejects.toThrow('the simd kernel is already loaded; cannot switch to threads');
  expect(await gw.ready()).toBe(kernel);
  expect(await gw.ready('simd')).toBe(kernel);
  const other = kernel.relaxed ? 'plain SIMD' : 'relaxed-SIMD';
  await expect(gw.ready('auto', { relaxed: !kernel.relaxed })).rejects.toThrow(
    `the ${kernel.relaxed ? 'relaxed-SIMD' : 'plain SIMD'} kernel is already loaded; cannot switch to ${other}`,
  );
  expect(gw.kernel()).toBe(kernel);
});
