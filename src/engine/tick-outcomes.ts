/**
 * The alert changes of one metric in one tick. One slot per alert touched; a fingerprint that
 * resolves and re-opens within one tick (catching up after downtime) gets a second slot, so the
 * first alert's end is stored too. Nothing is allocated beyond this object until an alert is open
 * or changes, which is the case for almost every metric on almost every tick.
 */
import type { Alert } from "../model/alert.js";
import type { Outcome } from "../model/lifecycle.js";

export class TickOutcomes {
  readonly list: Outcome[] = [];
  private open: Map<string, Alert> | null = null;
  private slotOf: Map<string, number> | null = null;

  constructor(openAlerts: readonly Alert[]) {
    if (openAlerts.length === 0) return;
    this.open = new Map();
    for (const a of openAlerts) this.open.set(a.fingerprint, a);
  }

  /** The alert currently open (or just changed) under this fingerprint. */
  current(fp: string): Alert | null {
    return this.open?.get(fp) ?? null;
  }

  /** Whether any alert is open or changed: when not, a normal point needs no lifecycle step. */
  get empty(): boolean {
    return this.open === null || this.open.size === 0;
  }

  /** Open (or changed) alerts, for time-driven transitions. */
  entries(): Iterable<[string, Alert]> {
    return this.open?.entries() ?? [];
  }

  /** Each event keeps the alert as this step left it: later steps of the tick fold into one stored row. */
  record(fp: string, out: Outcome): void {
    if (out.events.length === 0 && out.alert === this.current(fp)) return;
    this.slotOf ??= new Map();
    const i = this.slotOf.get(fp);
    const prev = i === undefined ? undefined : this.list[i];
    const reopened = prev?.alert?.state === "resolved" && out.alert !== null && out.alert.id === null && out.alert !== prev.alert;
    const snapshot = out.alert;
    const events = snapshot === null ? out.events : out.events.map((e) => ({ ...e, snapshot }));
    if (prev && !reopened) this.list[i!] = { alert: out.alert, events: [...prev.events, ...events] };
    else {
      this.slotOf.set(fp, this.list.length);
      this.list.push({ alert: out.alert, events });
    }
    if (out.alert) {
      this.open ??= new Map();
      this.open.set(fp, out.alert);
    }
  }
}
