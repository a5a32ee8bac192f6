/**
 * A series that has never gone below zero (a count, a sum of amounts) cannot: its band and expected
 * value stop at zero, in the alert and in its chart alike. Detectors stay unaware of it (their band
 * is arithmetic, "mean ± 3σ" of a count near zero reaches below it); only what is shown is floored,
 * never what is judged.
 */

/** No floor: the series has had a negative value. */
export const NO_FLOOR = Number.NEGATIVE_INFINITY;

/** What a detector says a value should be: the expected value and the band, null where it has none. */
export interface Band {
  expected: number | null;
  lower: number | null;
  upper: number | null;
}

/** The floor after seeing `v` (null or NaN = no value): `floor` until a value is negative. */
export function floorAfter(floor: number, v: number | null): number {
  return v !== null && v < 0 ? NO_FLOOR : floor;
}

/** `x` raised to `floor` when below it. */
export function atFloor(x: number | null, floor: number): number | null {
  return x !== null && x < floor ? floor : x;
}

/** The band with nothing below `floor`. */
export function bandAtFloor(b: Band, floor: number): Band {
  return { expected: atFloor(b.expected, floor), lower: atFloor(b.lower, floor), upper: atFloor(b.upper, floor) };
}
