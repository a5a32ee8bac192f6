import { describe, expect, it } from "vitest";
import { Arena, arenaPlan } from "../detectors/arena.js";

describe("arena", () => {
  it("carves aligned views of one buffer, in the planned sizes", () => {
    const plan = { ...arenaPlan(), f64: 3, f32: 5, u16: 3, u8: 7 };
    const a = new Arena(plan);
    const d = a.f64(3);
    const f = a.f32(5);
    const h = a.u16(3);
    const b = a.u8(7);
    expect(new Set([d.buffer, f.buffer, h.buffer, b.buffer]).size).toBe(1);
    expect(d.buffer.byteLength).toBe(3 * 8 + 5 * 4 + 3 * 2 + 7);
    expect([d.byteOffset, f.byteOffset, h.byteOffset, b.byteOffset]).toEqual([0, 24, 44, 50]);
    // views do not overlap
    d.fill(1);
    f.fill(2);
    h.fill(3);
    b.fill(4);
    expect([...d, ...f, ...h, ...b]).toEqual([1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4]);
  });
  it("refuses to carve more than planned", () => {
    const a = new Arena({ ...arenaPlan(), f64: 2, f32: 1 });
    a.f64(2);
    expect(() => a.f64(1)).toThrow(/more views carved than planned/);
    expect(() => a.f32(2)).toThrow(/more views carved than planned/);
  });
});
