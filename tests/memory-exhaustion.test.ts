/**
 * Running the shared memory out of space is an error for the call that
 * asked, never a trap that leaves the kernel unusable: every failed
 * allocation says what it could not allocate (its size too while the
 * message itself still fits), and once the tensors are freed the kernel
 * computes as before. Tensors of shrinking sizes fill the memory to its
 * 1 GiB maximum, down to single floats. (Before, the last failures trapped
 * while formatting their message. The table of live tensors failing to grow
 * under its lock is tested in the kernel's Rust tests.)
 *
 * In a file of its own: the filled memory would slow every test after it.
 */
import { describe, expect, it } from 'vitest';
import type { Ptr } from '../ts/index.js';
import * as gw from '../ts/index.js';
import { productHere } from './support/product-here.js';

const kernel = await gw.ready();

describe('an exhausted memory', () => {
  it('fails allocations with an error and works again once freed', () => {
    expect(kernel.flavour).toBe('threads');
    const before = kernel.live();
    const held: Ptr[] = [];
    for (let floats = 1 << 24; floats >= 1; floats >>= 2) {
      for (;;) {
        try {
          held.push(kernel.alloc(floats));
        } catch (error) {
          // The size is left out of the message only when even that has no room.
          expect(String(error)).toMatch(
            new RegExp(`allocF32: out of memory( allocating ${floats} floats|$)`),
          );
          break;
        }
      }
    }
    // Every size, from 64 MiB down to one float, ran out at its maximum.
    expect(kernel.memory.buffer.byteLength).toBe(2 ** 30);
    for (const p of held) kernel.free(p);
    expect(kernel.live()).toEqual(before);
    expect(productHere(kernel)).toBe(16);
  }, 60_000);
});
