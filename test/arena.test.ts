import { describe, expect, it } from "vitest";
import { Arena, arenaPlan } from "../detectors/arena.js";

describe("arena", () => {
  it("has one aligned view per element type over one buffer, and hands out runs of them in the planned sizes", () => {
    const plan = { ...arenaPlan(), f64: 3, f32: 5, u16: 3, u8: 7 };
    const a = new Arena(plan);
    const d = a.f64;
    const f = a.f32;
    const h = a.u16;
    const b = a.u8;
    expect(new Set([d.buffer, f.buffer, h.buffer, b.buffer]).size).toBe(1);
    expect(d.buffer.byteLength).toBe(3 * 8 + 5 * 4 + 3 * 2 + 7);
    expect([d.byteOffset, f.byteOffset, h.byteOffset, b.byteOffset]).toEqual([0, 24, 44, 50]);
    expect([d.length, f.length, h.length, b.length]).toEqual([3, 5, 3, 7]);
    // runs follow one another and do not overlap
    expect([a.at("f64", 1), a.at("f64", 2)]).toEqual([0, 1]);
    expect([a.at("f32", 2), a.at("f32", 3)]).toEqual([0, 2]);
    expect([a.at("u16", 3), a.at("u8", 4), a.at("u8", 3)]).toEqual([0, 0, 4]);
    d.fill(1);
    f.fill(2);
    h.fill(3);
    b.fill(4);
    expect([...d, ...f, ...h, ...b]).toEqual([1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4]);
  });
  it("refuses to hand out more than planned", () => {
    const a = new Arena({ ...arenaPlan(), f64: 2, f32: 1 });
    a.at("f64", 2);
    expect(() => a.at("f64", 1)).toThrow(/more reserved than planned/);
    expect(() => a.at("f32", 2)).toThrow(/more reserved than planned/);
    expect(() => a.at("u8", 1)).toThrow(/more reserved than planned/);
  });
});
