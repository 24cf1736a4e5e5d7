import { KernelMemory } from '../../src/ml/wasm/kernels.js';

type KernelArray = Float64Array | Uint32Array | Uint8Array;

/** A fresh kernel memory holding copies of `arrays` (same names, types and values), for a kernel to work on. */
export function inKernelMemory<T extends Record<string, KernelArray>>(
  arrays: T,
): { memory: KernelMemory; views: T } {
  const memory = new KernelMemory();
  const at = Object.fromEntries(Object.entries(arrays).map(([k, a]) => [k, memory.reserve(a.byteLength)]));
  memory.commit();
  const views = Object.fromEntries(
    Object.entries(arrays).map(([k, a]) => {
      const view =
        a instanceof Float64Array
          ? memory.f64(at[k], a.length)
          : a instanceof Uint32Array
            ? memory.u32(at[k], a.length)
            : memory.u8(at[k], a.length);
      view.set(a);
      return [k, view];
    }),
  ) as T;
  return { memory, views };
}
