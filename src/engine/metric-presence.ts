/**
 * When a metric as a whole normally has data (any of its series), per slot of the day and week
 * (presence.ts): its `no_data` meta-alert speaks only of buckets where data is normally present, so
 * a weekday metric's weekends and an office metric's nights raise nothing while a broken source
 * in the busy part of the week still does.
 */
import {
  type PresenceLayout,
  type PresenceState,
  presenceExpected,
  presenceLayout,
  presenceRecord,
  seededPresence,
} from "../../detectors/presence.js";

export class MetricPresence {
  private readonly layout: PresenceLayout | null;
  private profile: PresenceState | null = null;
  /** Local time of the first bucket with data (NaN before). */
  private firstLocal = Number.NaN;

  constructor(granularityMs: number) {
    this.layout = presenceLayout(granularityMs);
  }

  /**
   * The bucket at local time `local`, in time order: did the metric normally have data at this
   * time (before the first data, and without slots, it is due)? `any` says whether it had some now.
   */
  step(local: number, any: boolean): boolean {
    if (this.layout === null) return true;
    if (this.profile === null) {
      if (Number.isNaN(this.firstLocal)) {
        if (any) this.firstLocal = local;
        return true;
      }
      // every bucket so far had data: a profile of all-present, made at the first empty one
      if (any) return true;
      this.profile = seededPresence(this.layout, this.firstLocal, local);
    }
    const expected = presenceExpected(this.profile, local);
    if (any) presenceRecord(this.profile, local);
    return expected;
  }
}
