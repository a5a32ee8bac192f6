/**
 * Timestamps as `vigil detect` accepts them: ISO-8601 (`2014-04-01T00:00:00Z`, with an optional
 * fraction and offset) or `YYYY-MM-DD HH:MM:SS`. Text without a zone is read as UTC, which keeps the
 * result independent of the machine's TZ. The common shapes are parsed from char codes with the
 * date part cached, because a million `Date.parse` calls would dominate `vigil detect`.
 */

const C0 = 48;

function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - C0;
  const b = s.charCodeAt(i + 1) - C0;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Reusable parser: remembers the last date so consecutive rows of one day cost a few char reads. */
export class TimestampParser {
  private lastDate = "";
  private lastDateMs = 0;

  /** Epoch ms, or NaN when the text is not a timestamp. */
  parse(s: string): number {
    const n = s.length;
    if (
      n >= 19 &&
      s.charCodeAt(4) === 45 &&
      s.charCodeAt(7) === 45 &&
      (s.charCodeAt(10) === 32 || s.charCodeAt(10) === 84) &&
      s.charCodeAt(13) === 58 &&
      s.charCodeAt(16) === 58
    ) {
      const dayMs = this.dateMs(s);
      const hh = d2(s, 11);
      const mi = d2(s, 14);
      const ss = d2(s, 17);
      if (!Number.isNaN(dayMs) && hh >= 0 && hh <= 24 && mi >= 0 && mi <= 59 && ss >= 0 && ss <= 60) {
        let t = dayMs + hh * 3_600_000 + mi * 60_000 + ss * 1000;
        let i = 19;
        if (i < n && s.charCodeAt(i) === 46) {
          // fraction of a second: keep millisecond precision
          let scale = 100;
          let ms = 0;
          i++;
          while (i < n) {
            const c = s.charCodeAt(i) - C0;
            if (c < 0 || c > 9) break;
            ms += c * scale;
            scale /= 10;
            i++;
          }
          t += Math.round(ms);
        }
        if (i === n) return t;
        const c = s.charCodeAt(i);
        if ((c === 90 || c === 122) && i + 1 === n) return t; // Z
        if ((c === 43 || c === 45) && (n - i === 6 || n - i === 5 || n - i === 3)) {
          const oh = d2(s, i + 1);
          const om = n - i === 3 ? 0 : d2(s, n - 2);
          if (oh >= 0 && om >= 0) return t - (c === 43 ? 1 : -1) * (oh * 3_600_000 + om * 60_000);
        }
      }
    }
    return this.slow(s);
  }

  private dateMs(s: string): number {
    const date = s.slice(0, 10);
    if (date === this.lastDate) return this.lastDateMs;
    const y = d2(s, 0) * 100 + d2(s, 2);
    const m = d2(s, 5);
    const d = d2(s, 8);
    if (d2(s, 0) < 0 || d2(s, 2) < 0 || m < 1 || m > 12 || d < 1 || d > 31) return Number.NaN;
    const ms = Date.UTC(y, m - 1, d);
    this.lastDate = date;
    this.lastDateMs = ms;
    return ms;
  }

  private slow(s: string): number {
    const text = s.trim();
    // date only, or a space-separated date-time with some other precision: treat as UTC
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?$/.exec(text);
    if (m) {
      const frac = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
      return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0), frac);
    }
    if (!/^\d{4}-\d{2}-\d{2}T/.test(text)) return Number.NaN;
    return Date.parse(text);
  }
}

/** One-off parse (tests, small inputs). */
export function parseTimestamp(s: string): number {
  return new TimestampParser().parse(s);
}
