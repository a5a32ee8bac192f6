/**
 * Time columns in generated SQL, correct for `timestamptz`, `timestamp` (naive, in the source's
 * `timezone`, default UTC) and `date` columns alike, whatever the session's TimeZone is and without
 * knowing the column's type:
 *  - window bounds are untyped parameters compared with the bare column (so an index serves), which
 *    PostgreSQL reads as the column's own type; their text is the wall time in the source's zone
 *    with that zone's offset, which a timestamptz reads as the exact instant and a timestamp (or
 *    date) reads as that wall time, ignoring the offset;
 *  - where the instant of a row is needed (bucketing, joins across tables), `instantSql` converts by
 *    the column's type, so a naive column is never converted with the session's zone.
 */
import { localMs } from "../../detectors/local-time.js";

/**
 * SQL for the instant (timestamptz) of time column `col` (a quoted identifier): itself for a
 * timestamptz, read as wall time in the zone bound at `zoneParam` (e.g. "$4") for a timestamp, and
 * for a date at midnight in the zone bound at `dateZoneParam` (a date names a local day, not an instant).
 */
export function instantSql(col: string, zoneParam: string, dateZoneParam = zoneParam): string {
  const date =
    dateZoneParam === zoneParam
      ? ""
      : `WHEN pg_typeof(${col}) = 'date'::regtype THEN ${col}::timestamp AT TIME ZONE ${dateZoneParam}::text `;
  return `(CASE WHEN pg_typeof(${col}) = 'timestamp with time zone'::regtype THEN ${col}::timestamptz ${date}ELSE ${col}::timestamp AT TIME ZONE ${zoneParam}::text END)`;
}

/**
 * Bound texts of instant `t` that keep every row a naive column (in `naiveZone`) or a date column
 * (in `dateZone`) may hold at or after it (`side` "from") or before it ("to"): of the two wall
 * times, the earlier for "from" and the later for "to". A timestamptz reads either as `t` exactly;
 * the caller drops the extra rows by their instant.
 */
export function widerBoundText(t: number, side: "from" | "to", naiveZone: string | undefined, dateZone: string | undefined): string {
  const a = localMs(t, naiveZone);
  const b = localMs(t, dateZone);
  return boundText(t, (side === "from" ? b < a : b > a) ? dateZone : naiveZone);
}

/**
 * The text of a window bound (instant `t`, epoch ms) for an untyped parameter compared with a time
 * column: "2026-03-29T03:00:00.000+02:00" = the wall time in `naiveZone` (default UTC) and its offset.
 */
export function boundText(t: number, naiveZone?: string): string {
  const local = localMs(t, naiveZone);
  const iso = new Date(local).toISOString().slice(0, -1);
  const off = Math.round((local - t) / 60_000);
  if (off === 0) return `${iso}+00:00`;
  const a = Math.abs(off);
  return `${iso}${off < 0 ? "-" : "+"}${String(Math.floor(a / 60)).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
}

/**
 * Several windows of one time column as SQL on untyped bounds (pushed onto `values`): `win` is the
 * 1-based index of the window a row falls in (windows must not overlap), `where` keeps the rows of
 * any window, one index range each. With a `dateZone` other than `naiveZone`, a date column's days
 * are those of `dateZone`: the index range is widened to hold both readings and the row's instant
 * decides.
 */
export function windowsSql(
  col: string,
  windows: ReadonlyArray<{ from: number; to: number }>,
  values: unknown[],
  naiveZone?: string,
  dateZone: string | undefined = naiveZone,
): { win: string; where: string } {
  const exact = (dateZone ?? "UTC") === (naiveZone ?? "UTC");
  let instant = "";
  if (!exact) {
    values.push(naiveZone ?? "UTC", dateZone ?? "UTC");
    instant = instantSql(col, `$${values.length - 1}`, `$${values.length}`);
  }
  const ranges = windows.map((w) => {
    // with one zone the wider bound is the bound itself, and the column's own comparison is exact
    values.push(widerBoundText(w.from, "from", naiveZone, dateZone), widerBoundText(w.to, "to", naiveZone, dateZone));
    const range = `${col} >= $${values.length - 1} AND ${col} < $${values.length}`;
    if (exact) return range;
    values.push(new Date(w.from).toISOString(), new Date(w.to).toISOString());
    return `${range} AND ${instant} >= $${values.length - 1}::timestamptz AND ${instant} < $${values.length}::timestamptz`;
  });
  return {
    win: `CASE ${ranges.map((r, i) => `WHEN ${r} THEN ${i + 1}`).join(" ")} END`,
    where: `(${ranges.map((r) => `(${r})`).join(" OR ")})`,
  };
}
