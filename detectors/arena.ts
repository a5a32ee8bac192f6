/**
 * One buffer per detector state, with one view per element type. A daemon keeps thousands of
 * states: each separate backing store costs a few hundred bytes of bookkeeping (native and heap),
 * as much as a small array's data, and each typed-array view is a ~100-byte object that a point
 * reads (a cache line) before it reaches its numbers. So the parts of a state (windows, profiles,
 * small arrays) do not get views of their own: they reserve runs of the shared views and keep
 * their offsets. One buffer per state also keeps a series' numbers together in memory.
 *
 * Sizes are planned first (`ArenaPlan`), then reserved in the same order: the 8-byte region from
 * the start of the buffer, then the 4-, 2- and 1-byte ones, so every view is aligned.
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

// a region nothing was planned in has no view of its own
const NO_F64 = new Float64Array(0);
const NO_F32 = new Float32Array(0);
const NO_U16 = new Uint16Array(0);
const NO_U8 = new Uint8Array(0);

export class Arena {
  /** The whole 8-, 4-, 2- and 1-byte regions; parts index them from the offsets they reserved. */
  readonly f64: Float64Array;
  readonly f32: Float32Array;
  readonly u16: Uint16Array;
  readonly u8: Uint8Array;
  /** Values reserved so far in each region. */
  private readonly used: ArenaPlan = arenaPlan();

  constructor(plan: ArenaPlan) {
    const at32 = 8 * plan.f64;
    const at16 = at32 + 4 * plan.f32;
    const at8 = at16 + 2 * plan.u16;
    const buf = new ArrayBuffer(at8 + plan.u8);
    this.f64 = plan.f64 > 0 ? new Float64Array(buf, 0, plan.f64) : NO_F64;
    this.f32 = plan.f32 > 0 ? new Float32Array(buf, at32, plan.f32) : NO_F32;
    this.u16 = plan.u16 > 0 ? new Uint16Array(buf, at16, plan.u16) : NO_U16;
    this.u8 = plan.u8 > 0 ? new Uint8Array(buf, at8, plan.u8) : NO_U8;
  }

  /** Reserve `n` values of a region: their offset in that region's view (`f64`, `f32`...). */
  at(region: keyof ArenaPlan, n: number): number {
    const at = this.used[region];
    if (at + n > this[region].length) throw new Error("arena: more reserved than planned");
    this.used[region] = at + n;
    return at;
  }
}

/** `arena`, or when there is none a buffer of the caller's own, sized by `reserve`. */
export function arenaOr(arena: Arena | undefined, reserve: (plan: ArenaPlan) => void): Arena {
  if (arena) return arena;
  const plan = arenaPlan();
  reserve(plan);
  return new Arena(plan);
}

/** Where each named run of a state's numbers starts, and how many numbers they take in all. */
export interface Layout<Name extends string> {
  readonly at: Readonly<Record<Name, number>>;
  readonly length: number;
}

/**
 * A state's numbers declared once, as a list of named runs in the order they lie in its buffer:
 * each run's offset is the sum of the lengths before it, so no offset is written by hand.
 */
export function layout<const Name extends string>(fields: readonly (readonly [Name, number])[]): Layout<Name> {
  const at = {} as Record<Name, number>;
  let length = 0;
  for (const [name, n] of fields) {
    if (Object.hasOwn(at, name)) throw new Error(`layout: ${name} declared twice`);
    at[name] = length;
    length += n;
  }
  return { at, length };
}
