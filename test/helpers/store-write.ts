/** Tests' one-call write: outcomes, the deliveries of each notifying event, and watermarks, in one commit. */
import type { Alert, AlertEvent } from "../../src/model/alert.js";
import type { DeliveryDraft } from "../../src/model/notification.js";
import type { Watermark } from "../../src/store/series-state.js";
import type { OutcomeToStore, StateStore } from "../../src/store/state-store.js";

export interface TestWrite {
  outcomes: OutcomeToStore[];
  watermarks?: Watermark[];
  deliveriesFor?: (alert: Alert & { id: number }, event: AlertEvent, historyId: number) => DeliveryDraft[];
}

/** The stored alerts, in the order of `outcomes`. */
export function writeOutcomes(store: StateStore, write: TestWrite): Promise<Array<Alert & { id: number }>> {
  return store.commit(async (uow) => {
    const { alerts, events } = await uow.saveOutcomes(write.outcomes);
    const deliveriesFor = write.deliveriesFor;
    if (deliveriesFor) await uow.enqueue(events.flatMap((e) => (e.event.notify ? deliveriesFor(e.alert, e.event, e.historyId) : [])));
    await uow.saveWatermarks(write.watermarks ?? []);
    return alerts;
  });
}
