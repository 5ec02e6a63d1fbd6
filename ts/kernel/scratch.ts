/**
 * Named scratch buffers in the kernel's memory, kept between batches and
 * replaced when a length changes (an epoch's last, shorter batch), so a
 * training loop allocates nothing in its steady state.
 */
import type { Kernel } from './kernel.js';
import type { Ptr } from './types.js';

export class ScratchBuffers {
  private readonly held = new Map<string, { ptr: Ptr; length: number }>();

  constructor(private readonly kernel: Kernel) {}

  /** The buffer `name`, of exactly `length` floats (contents unspecified). */
  get(name: string, length: number): Ptr {
    const current = this.held.get(name);
    if (current && current.length === length) return current.ptr;
    if (current) this.kernel.free(current.ptr);
    const ptr = this.kernel.alloc(length);
    this.held.set(name, { ptr, length });
    return ptr;
  }

  dispose(): void {
    for (const { ptr } of this.held.values()) this.kernel.free(ptr);
    this.held.clear();
  }
}
