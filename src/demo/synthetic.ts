/**
 * Synthetic product events with the shape of real ones: daily and weekly seasonality, Poisson-like
 * noise, a few platforms and countries, and anomalies injected on purpose. Deterministic (seeded).
 */
export interface EventRow {
  ts: number;
  userId: number;
  event: "view" | "signup" | "purchase";
  platform: string;
  country: string;
  revenue: number | null;
}

/** A multiplier on the event rate of matching cells during [from, to). */
export interface Injection {
  from: number;
  to: number;
  factor: number;
  platform?: string;
  country?: string;
  event?: EventRow["event"];
  label: string;
}

export const PLATFORMS: Record<string, number> = { ios: 0.4, android: 0.45, web: 0.15 };
export const COUNTRIES: Record<string, number> = { US: 0.35, DE: 0.2, BR: 0.25, IN: 0.2 };
const HOUR = 3_600_000;

/** mulberry32: tiny, fast, good enough for synthetic data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Events per hour at time t before injections: a daily curve peaking in the evening, quieter weekends. */
export function baseRate(t: number, perHour: number): number {
  const d = new Date(t);
  const hour = d.getUTCHours() + d.getUTCMinutes() / 60;
  const daily = 1 + 0.55 * Math.sin(((hour - 14) / 24) * 2 * Math.PI);
  const dow = d.getUTCDay();
  const weekly = dow === 0 || dow === 6 ? 0.8 : 1.05;
  return perHour * daily * weekly;
}

function poisson(lambda: number, rand: () => number): number {
  if (lambda <= 0) return 0;
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss(rand)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rand();
  } while (p > l);
  return k - 1;
}

function gauss(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

export interface GenerateOptions {
  perHour: number;
  users: number;
  injections: readonly Injection[];
  rand: () => number;
}

/** Generate events in [from, to), in slices of at most an hour. */
export function generateEvents(from: number, to: number, o: GenerateOptions): EventRow[] {
  const out: EventRow[] = [];
  for (let start = from; start < to; ) {
    const end = Math.min(to, (Math.floor(start / HOUR) + 1) * HOUR);
    const share = (end - start) / HOUR;
    const mid = (start + end) / 2;
    const total = baseRate(mid, o.perHour) * share;
    for (const [platform, pw] of Object.entries(PLATFORMS)) {
      for (const [country, cw] of Object.entries(COUNTRIES)) {
        for (const [event, ew] of [
          ["view", 0.85],
          ["signup", 0.05],
          ["purchase", 0.1],
        ] as const) {
          let lambda = total * pw * cw * ew;
          for (const inj of o.injections) {
            if (mid < inj.from || mid >= inj.to) continue;
            if (inj.platform && inj.platform !== platform) continue;
            if (inj.country && inj.country !== country) continue;
            if (inj.event && inj.event !== event) continue;
            lambda *= inj.factor;
          }
          const n = poisson(lambda, o.rand);
          for (let i = 0; i < n; i++) {
            out.push({
              ts: start + o.rand() * (end - start),
              userId: 1 + Math.floor(o.rand() * o.users),
              event,
              platform,
              country,
              revenue: event === "purchase" ? Math.round((5 + o.rand() * 45) * 100) / 100 : null,
            });
          }
        }
      }
    }
    start = end;
  }
  return out;
}
