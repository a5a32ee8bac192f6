/**
 * One buffer per detector state, carved into typed views. A daemon keeps thousands of states, and
 * each separate backing store costs a few hundred bytes of bookkeeping (native and heap), as much
 * as a small array's data; one buffer per state also keeps a series' numbers together in memory.
 *
 * Sizes are planned first (`ArenaPlan`), then carved in the same order: 8-byte views from the
 * start of the buffer, then 4-, 2- and 1-byte ones, so every view is aligned.
 */

export interface ArenaPlan {
  f64: number;
  f32: number;
  u16: number;
  u8: number;
}

export function arenaPlan(): ArenaPlan {
  return { f64: 0, f32: 0, u16: 0, u8: 0 };
}

export class Arena {
  private readonly buf: ArrayBuffer;
  private at64: number;
  private at32: number;
  private at16: number;
  private at8: number;
  /** Where each region ends: the next one's start. */
  private readonly end64: number;
  private readonly end32: number;
  private readonly end16: number;
  private readonly end: number;

  constructor(plan: ArenaPlan) {
    this.at64 = 0;
    this.at32 = this.end64 = 8 * plan.f64;
    this.at16 = this.end32 = this.at32 + 4 * plan.f32;
    this.at8 = this.end16 = this.at16 + 2 * plan.u16;
    this.end = this.at8 + plan.u8;
    this.buf = new ArrayBuffer(this.end);
  }

  private take(at: number, bytes: number, limit: number): void {
    if (at + bytes > limit) throw new Error("arena: more views carved than planned");
  }
  f64(n: number): Float64Array {
    this.take(this.at64, 8 * n, this.end64);
    const v = new Float64Array(this.buf, this.at64, n);
    this.at64 += 8 * n;
    return v;
  }
  f32(n: number): Float32Array {
    this.take(this.at32, 4 * n, this.end32);
    const v = new Float32Array(this.buf, this.at32, n);
    this.at32 += 4 * n;
    return v;
  }
  u16(n: number): Uint16Array {
    this.take(this.at16, 2 * n, this.end16);
    const v = new Uint16Array(this.buf, this.at16, n);
    this.at16 += 2 * n;
    return v;
  }
  u8(n: number): Uint8Array {
    this.take(this.at8, n, this.end);
    const v = new Uint8Array(this.buf, this.at8, n);
    this.at8 += n;
    return v;
  }
}

/** `arena`, or when there is none a buffer of the caller's own, sized by `reserve`. */
export function arenaOr(arena: Arena | undefined, reserve: (plan: ArenaPlan) => void): Arena {
  if (arena) return arena;
  const plan = arenaPlan();
  reserve(plan);
  return new Arena(plan);
}
