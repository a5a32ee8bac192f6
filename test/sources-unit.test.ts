import { describe, expect, it } from "vitest";
import type { MetricConfig } from "../src/config/types.js";
import {
  alignWindow,
  buildRawQuery,
  buildStructuredQuery,
  closedBefore,
  collectSeries,
  formatSeriesKey,
  highestPlaceholder,
  isBucketClosed,
  parseSeriesKey,
  toValue,
} from "../src/sources/index.js";

const MIN = 60_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 15);

function metric(partial: Partial<MetricConfig>): MetricConfig {
  return {
    name: "m",
    granularityMs: HOUR,
    lookbackMs: 14 * 24 * HOUR,
    delayMs: 0,
    detectors: [],
    direction: "both",
    minChange: null,
    for: 1,
    severity: "warning",
    repeatEveryMs: null,
    resolveAfter: 1,
    notify: [],
    schedule: "*/5 * * * *",
    mute: [],
    fill: "none",
    minRows: null,
    rowCounts: false,
    calendar: null,
    ...partial,
  };
}

describe("series keys", () => {
  it("formats in the given order and round-trips, escaping separators", () => {
    expect(formatSeriesKey([])).toBe("");
    expect(
      formatSeriesKey([
        ["platform", "ios"],
        ["country", "BR"],
      ]),
    ).toBe("platform=ios,country=BR");
    const odd: [string, string][] = [
      ["a,b", "x=y"],
      ["back\\slash", ""],
      ["n", "(null)"],
    ];
    const key = formatSeriesKey(odd);
    expect(key).toBe("a\\,b=x\\=y,back\\\\slash=,n=(null)");
    expect(parseSeriesKey(key)).toEqual(odd);
    expect(parseSeriesKey("")).toEqual([]);
    expect(parseSeriesKey("novalue")).toBeNull();
    expect(parseSeriesKey("a=b=c")).toBeNull();
  });
});

describe("toValue", () => {
  it("accepts finite numbers and numeric text, and says why it rejects the rest", () => {
    expect(toValue(3)).toEqual({ v: 3 });
    expect(toValue(10n)).toEqual({ v: 10 });
    expect(toValue(" 2.5 ")).toEqual({ v: 2.5 });
    expect(toValue(null)).toEqual({ v: null, issue: "null" });
    expect(toValue(undefined)).toEqual({ v: null, issue: "null" });
    expect(toValue(Number.NaN)).toEqual({ v: null, issue: "nan" });
    expect(toValue(Number.NEGATIVE_INFINITY)).toEqual({ v: null, issue: "nan" });
    expect(toValue("NaN")).toEqual({ v: null, issue: "nan" });
    expect(toValue("Infinity")).toEqual({ v: null, issue: "nan" });
    expect(toValue("abc")).toEqual({ v: null, issue: "non_numeric" });
    expect(toValue("")).toEqual({ v: null, issue: "non_numeric" });
    expect(toValue(true)).toEqual({ v: null, issue: "non_numeric" });
  });
});

describe("closed buckets", () => {
  it("closes a bucket [s, s+g) once now >= s + g + delay", () => {
    const m = metric({ granularityMs: HOUR, delayMs: 5 * MIN });
    const s = T0 + 10 * HOUR;
    expect(isBucketClosed(m, s, s + HOUR + 5 * MIN - 1)).toBe(false);
    expect(isBucketClosed(m, s, s + HOUR + 5 * MIN)).toBe(true);
    expect(closedBefore(m, s + HOUR + 5 * MIN - 1)).toBe(s);
    expect(closedBefore(m, s + HOUR + 5 * MIN)).toBe(s + HOUR);
    expect(closedBefore(metric({ granularityMs: HOUR }), s + HOUR)).toBe(s + HOUR);
  });

  it("agrees with isBucketClosed for every offset", () => {
    const m = metric({ granularityMs: 15 * MIN, delayMs: 7 * MIN });
    for (let now = T0; now < T0 + 2 * HOUR; now += MIN) {
      const b = closedBefore(m, now);
      expect(isBucketClosed(m, b - m.granularityMs, now)).toBe(true);
      expect(isBucketClosed(m, b, now)).toBe(false);
    }
  });
});

describe("structured SQL", () => {
  const m = metric({
    source: {
      table: "analytics.events",
      time_column: "ts",
      value: "count(DISTINCT user_id)",
      where: "event = 'view' -- views only",
      split_by: ["platform", "country"],
      dimensions: [],
    },
  });

  it("filters on the raw time column with bound values and quotes identifiers", () => {
    const q = buildStructuredQuery(m, { from: T0, to: T0 + 2 * HOUR });
    // untyped: PostgreSQL reads the bounds as the column's own type (see time-sql.ts)
    expect(q.text).toContain(`"ts" >= $1\n`);
    expect(q.text).toContain(`"ts" < $2\n`);
    expect(q.text).toContain(
      `date_bin($3::interval, (CASE WHEN pg_typeof("ts") = 'timestamp with time zone'::regtype THEN "ts"::timestamptz`,
    );
    expect(q.text).toContain(`TIMESTAMPTZ 'epoch')`);
    expect(q.text).toContain(`FROM "analytics"."events"`);
    expect(q.text).toContain(`("platform")::text AS "k0"`);
    expect(q.text).toContain(`(\nevent = 'view' -- views only\n)`);
    expect(q.text).not.toContain("2024");
    expect(q.values).toEqual(["2024-01-15T00:00:00.000+00:00", "2024-01-15T02:00:00.000+00:00", "3600000 milliseconds", "UTC"]);
    expect(q.labels).toEqual(["platform", "country"]);
  });

  it("aligns the window start up to a bucket boundary", () => {
    expect(alignWindow({ from: T0 + 1, to: T0 + 5 * HOUR }, HOUR)).toEqual({ from: T0 + HOUR, to: T0 + 5 * HOUR });
    expect(alignWindow({ from: T0, to: T0 + 1 }, HOUR)).toEqual({ from: T0, to: T0 + 1 });
  });
});

describe("raw SQL", () => {
  it("counts placeholders outside strings, identifiers, comments and dollar quotes", () => {
    expect(highestPlaceholder("SELECT 1")).toBe(0);
    expect(highestPlaceholder("SELECT t FROM x WHERE t >= $1 AND t < $2")).toBe(2);
    expect(highestPlaceholder("SELECT '$3', \"$4\", $$ $5 $$, $tag$ $6 $tag$ -- $7\n/* $8 */ FROM x WHERE t >= $1")).toBe(1);
    expect(highestPlaceholder("SELECT 'it''s $9' WHERE a = $2")).toBe(2);
  });

  it("binds only the placeholders the query uses", () => {
    const w = { from: T0, to: T0 + HOUR };
    expect(buildRawQuery("SELECT 1", w).values).toEqual([]);
    expect(buildRawQuery("SELECT $1::timestamptz", w).values).toEqual(["2024-01-15T00:00:00.000Z"]);
    expect(() => buildRawQuery("SELECT $3", w)).toThrow(/only \$1 .* and \$2/);
  });
});

describe("collectSeries", () => {
  it("keeps the last duplicate, sorts out-of-order rows and counts both", () => {
    const r = collectSeries(
      ["k"],
      [
        { t: 3, keyValues: ["a"], value: 3 },
        { t: 1, keyValues: ["a"], value: 1 },
        { t: 3, keyValues: ["a"], value: 30 },
        { t: 2, keyValues: [null], value: "x" },
      ],
    );
    expect(r.series).toEqual([
      { key: "k=(null)", labels: { k: "(null)" }, points: [{ t: 2, v: null }] },
      {
        key: "k=a",
        labels: { k: "a" },
        points: [
          { t: 1, v: 1 },
          { t: 3, v: 30 },
        ],
      },
    ]);
    expect(r.issues).toEqual(
      expect.arrayContaining([
        { key: "k=a", kind: "out_of_order", count: 1 },
        { key: "k=a", kind: "duplicate", count: 1 },
        { key: "k=(null)", kind: "non_numeric", count: 1 },
      ]),
    );
    expect(r.issues).toHaveLength(3);
  });
});
