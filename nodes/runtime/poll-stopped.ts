/** A poll given up because its node is closing (not a failure: nothing is reported). */
export class PollStopped extends Error {
  override name = 'PollStopped';
  constructor() {
    super('poll stopped: the node is closing');
  }
}
