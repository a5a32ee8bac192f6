/**
 * Scan planning for one pass: metrics that share a scan (same table, time column, granularity,
 * filter, split and window) are read by one query, issued when the first of them is judged; the
 * next group's query goes out with it, so the database runs that scan while the engine judges this
 * group (at most two in flight). If a shared query fails, each of its metrics is read on its own, so
 * one broken `value` expression fails only its metric. A grid's value array, once every member is
 * judged, is kept for a later scan of a history load to decode into.
 */
import type { MetricConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { errorText } from "../log.js";
import { groupRowsIndex } from "../sources/fetch-buckets.js";
import type { Fetcher, GroupFetcher, GroupGrid } from "./fetcher.js";
import { gridSlice, type MetricGrid, pointsToGrid } from "./metric-grid.js";
import type { MetricRuntimes } from "./metric-runtime.js";
import type { WindowPlan } from "./window-plan.js";

/** A metric's buckets in a window: at once when they are already here (a grouped scan that came back), else a promise. */
export type GridFetch = (m: MetricConfig, window: { from: number; to: number }) => MetricGrid | Promise<MetricGrid>;

/** One metric read by its own query. */
export function fetchAlone(fetch: Fetcher): GridFetch {
  return async (m, window) => {
    const g = m.granularityMs;
    return pointsToGrid(await fetch(m, window), window.from, g, Math.max(0, Math.ceil((window.to - window.from) / g)));
  };
}

/** Most value arrays kept between two passes (a pass has one grid per scan). */
const GRID_SPARES = 32;

/** Value arrays of judged grids, for the next pass's scans to decode into instead of allocating anew. */
export class GridPool {
  private readonly spares: Float64Array[] = [];

  take(): Float64Array | undefined {
    return this.spares.pop();
  }

  giveBack(grid: GroupGrid): void {
    const first = grid.values[0];
    if (first && this.spares.length < GRID_SPARES) this.spares.push(new Float64Array(first.buffer));
  }

  /** After a tick's last pass: a steady tick's grids are small, and a history load's would be held between ticks. */
  clear(): void {
    this.spares.length = 0;
  }
}

interface Group {
  metrics: MetricConfig[];
  window: { from: number; to: number };
  /** The group whose query is issued together with this one's. */
  next: Group | null;
  result?: Promise<GroupGrid | null>;
  /** The result once it came, until its values go back to the pool; null: the query failed. */
  grid?: GroupGrid | null;
  /** Why it failed: a group of one metric fails with it, as its own query would. */
  error?: unknown;
  /** Members that read it so far; once all have, its values can go back. */
  served: number;
}

/** The grouped scans of one pass, in the order their metrics are judged. */
export class PassScans {
  /** By scan key, then by window: metrics of one scan are on one window unless some lag behind. */
  private readonly groups = new Map<string, Group[]>();
  private readonly members = new Map<string, { group: Group; index: number }>();
  private head: Group | null = null;
  /** A group whose members are all judged: its values go back to the pool when the next metric is read. */
  private judged: Group | null = null;

  constructor(
    metrics: readonly MetricConfig[],
    plans: ReadonlyMap<string, WindowPlan>,
    runtimes: MetricRuntimes,
    private readonly fetchGroup: GroupFetcher,
    private readonly alone: GridFetch,
    private readonly pool: GridPool,
    private readonly log: Logger,
  ) {
    let last: Group | null = null;
    for (const m of metrics) {
      const plan = plans.get(m.name);
      const key = runtimes.of(m).scanKey;
      if (!plan || key === null || plan.from > plan.lastClosed) continue;
      const group = this.groupOf(key, { from: plan.from, to: plan.lastClosed + m.granularityMs });
      if (group.metrics.length === 0) {
        if (last) last.next = group;
        else this.head = group;
        last = group;
      }
      this.members.set(m.name, { group, index: group.metrics.length });
      group.metrics.push(m);
    }
    // The first scan goes out at once, while the caller still reads the alert state.
    if (this.head) void this.start(this.head);
  }

  private groupOf(key: string, window: { from: number; to: number }): Group {
    let same = this.groups.get(key);
    if (!same) {
      same = [];
      this.groups.set(key, same);
    }
    let group = same.find((x) => x.window.from === window.from && x.window.to === window.to);
    if (!group) {
      group = { metrics: [], window, next: null, served: 0 };
      same.push(group);
    }
    return group;
  }

  private start(g: Group): Promise<GroupGrid | null> {
    g.result ??= this.fetchGroup(g.metrics, g.window, this.pool.take()).then(
      (grid): GroupGrid | null => {
        g.grid = grid;
        return grid;
      },
      (err: unknown) => {
        g.grid = null;
        g.error = err;
        if (g.metrics.length === 1) return null;
        this.log.warn(
          { metrics: g.metrics.map((x) => x.name), err: errorText(err) },
          "shared query failed; reading these metrics one by one",
        );
        return null;
      },
    );
    return g.result;
  }

  /** The judging loop keeps no value of a grid (detector states copy what they need), so a judged group's array can be reused. */
  private giveBack(g: Group): void {
    if (g.grid) this.pool.giveBack(g.grid);
    g.grid = null;
  }

  /** Metrics are judged one after another, so a metric asking for its buckets means the one before is judged. */
  readonly fetch: GridFetch = (m, window) => {
    if (this.judged) this.giveBack(this.judged);
    this.judged = null;
    const member = this.members.get(m.name);
    const g = member?.group;
    if (!member || !g || g.window.from !== window.from || g.window.to !== window.to) return this.alone(m, window);
    const result = this.start(g);
    if (g.next) void this.start(g.next);
    const slice = (grid: GroupGrid | null): MetricGrid | Promise<MetricGrid> => {
      if (++g.served === g.metrics.length) this.judged = g;
      if (!grid && g.metrics.length === 1) return Promise.reject(g.error);
      return (grid && gridSlice(grid, member.index, m.rowCounts ? groupRowsIndex(g.metrics) : undefined)) ?? this.alone(m, window);
    };
    // came back already (null: it failed): no promise to wait on
    return g.grid !== undefined ? slice(g.grid) : result.then(slice);
  };

  /** Once every metric of the pass is judged: keep the grids' arrays when another pass follows, else none. */
  async recycle(again: boolean): Promise<void> {
    if (!again) {
      this.pool.clear();
      return;
    }
    for (const same of this.groups.values()) {
      for (const g of same) {
        if (!g.result) continue;
        await g.result;
        this.giveBack(g);
      }
    }
  }
}
