/**
 * Transferring an ArrayBuffer to another thread detaches it, and the first detach in a thread
 * invalidates one of V8's global assumptions ("no buffer was ever detached"), on which every
 * optimised function that reads typed arrays relies: all of that code is thrown away and compiled
 * again. `vigil detect` transfers its batches between the two threads; detaching a throwaway
 * buffer in each thread before any step or parsing code runs moves that cost to a moment when
 * there is nothing to throw away (a deoptimisation of the whole ensemble a few batches into a run).
 */
let detached = false;

export function detachOnce(): void {
  if (detached) return;
  detached = true;
  const b = new ArrayBuffer(8);
  structuredClone(b, { transfer: [b] });
}
