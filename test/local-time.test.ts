import { describe, expect, it } from "vitest";
import { localMs, offsetAt, utcMs } from "../detectors/local-time.js";

const HOUR = 3_600_000;
const iso = (t: number) => new Date(t).toISOString();

/** The offset Intl reports, the slow way, to compare the cached helper with. */
const formats = new Map<string, Intl.DateTimeFormat>();
function intlLocal(t: number, tz: string): number {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formats.set(tz, f);
  }
  const p = Object.fromEntries(f.formatToParts(t).map((x) => [x.type, Number(x.value)])) as Record<string, number>;
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) + (t % 1000);
}

describe("localMs", () => {
  it("is the identity for UTC and no zone", () => {
    const t = Date.parse("2026-03-29T01:30:00Z");
    expect(localMs(t, undefined)).toBe(t);
    expect(localMs(t, "UTC")).toBe(t);
    expect(localMs(t, "Etc/UTC")).toBe(t);
  });

  it("follows Berlin across both DST changes of 2026", () => {
    expect(iso(localMs(Date.parse("2026-03-29T00:59:59Z"), "Europe/Berlin"))).toBe("2026-03-29T01:59:59.000Z");
    expect(iso(localMs(Date.parse("2026-03-29T01:00:00Z"), "Europe/Berlin"))).toBe("2026-03-29T03:00:00.000Z");
    expect(iso(localMs(Date.parse("2026-10-25T00:59:00Z"), "Europe/Berlin"))).toBe("2026-10-25T02:59:00.000Z");
    expect(iso(localMs(Date.parse("2026-10-25T01:00:00Z"), "Europe/Berlin"))).toBe("2026-10-25T02:00:00.000Z");
  });

  it("agrees with Intl hour by hour over two years in zones with odd rules, going forwards and backwards", () => {
    const zones = [
      "Europe/Berlin",
      "America/Havana",
      "America/Santiago",
      "America/Asuncion",
      "Australia/Lord_Howe",
      "Asia/Kolkata",
      "Pacific/Chatham",
    ];
    const start = Date.parse("2024-01-01T00:00:00Z");
    const end = Date.parse("2026-01-01T00:00:00Z");
    const wrong: string[] = [];
    for (const tz of zones) {
      for (let t = start; t < end; t += HOUR) if (localMs(t, tz) !== intlLocal(t, tz)) wrong.push(`${tz} ${iso(t)}`);
      for (let t = end; t > start; t -= 7 * HOUR + 60_000) if (localMs(t, tz) !== intlLocal(t, tz)) wrong.push(`${tz} ${iso(t)}`);
    }
    expect(wrong).toEqual([]);
  });

  it("alternates between zones without mixing their offsets", () => {
    const t = Date.parse("2026-07-01T12:00:00Z");
    for (let i = 0; i < 3; i++) {
      expect(offsetAt(t, "Europe/Berlin")).toBe(2 * HOUR);
      expect(offsetAt(t, "America/New_York")).toBe(-4 * HOUR);
    }
  });
});

describe("utcMs", () => {
  it("inverts localMs, taking the earlier instant of a repeated hour", () => {
    const local = Date.parse("2026-10-25T02:30:00Z"); // 02:30 happens twice in Berlin
    expect(iso(utcMs(local, "Europe/Berlin"))).toBe("2026-10-25T00:30:00.000Z");
    expect(iso(utcMs(Date.parse("2026-07-01T00:00:00Z"), "Europe/Berlin"))).toBe("2026-06-30T22:00:00.000Z");
  });

  it("reads a skipped local time with the offset before the change", () => {
    // 02:30 does not exist in Berlin on 29 Mar 2026; read as CET it is 01:30Z (03:30 CEST)
    expect(iso(utcMs(Date.parse("2026-03-29T02:30:00Z"), "Europe/Berlin"))).toBe("2026-03-29T01:30:00.000Z");
  });

  it("gives the instant a day starts where DST skips midnight", () => {
    // Havana 10 Mar 2024: 00:00 CST becomes 01:00 CDT, at 05:00Z
    expect(iso(utcMs(Date.parse("2024-03-10T00:00:00Z"), "America/Havana"))).toBe("2024-03-10T05:00:00.000Z");
    // Santiago 8 Sep 2024: 00:00 -04 becomes 01:00 -03, at 04:00Z
    expect(iso(utcMs(Date.parse("2024-09-08T00:00:00Z"), "America/Santiago"))).toBe("2024-09-08T04:00:00.000Z");
    // Santiago 7 Apr 2024: 24:00 -03 becomes 23:00 -04 of the 6th; the 7th starts once, at 04:00Z
    expect(iso(utcMs(Date.parse("2024-04-07T00:00:00Z"), "America/Santiago"))).toBe("2024-04-07T04:00:00.000Z");
    // Asuncion 6 Oct 2024: 00:00 -04 becomes 01:00 -03
    expect(iso(utcMs(Date.parse("2024-10-06T00:00:00Z"), "America/Asuncion"))).toBe("2024-10-06T04:00:00.000Z");
  });
});
