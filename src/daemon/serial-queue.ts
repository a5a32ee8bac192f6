/** Tasks run one at a time in the order queued, so that a config swap always lands between two ticks. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` once every task queued before it has finished, whether that one failed or not. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => {});
    return result;
  }

  /** Resolves when every task queued so far has finished. */
  settled(): Promise<unknown> {
    return this.tail;
  }
}
