/**
 * What a simulator carries from one run to the next, as a real channel does between its
 * settlements: id counters (so no id is handed out twice) and what the last settlement left open
 * (a reserve held, the period it ended). A simulator given one starts from `from` and calls `save`
 * whenever the state changes; the demo keeps it in a file in the Node-RED user directory
 * (scripts/demo-continuity.ts). Without one a simulator starts afresh, as tests expect.
 */
export interface Continuity<T> {
  from?: T;
  save(state: T): void;
}
