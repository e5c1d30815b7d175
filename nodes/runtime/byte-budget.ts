/**
 * One process-wide budget for the bytes held by webhook bodies being read. Each body is bounded on
 * its own (the node's body limit, the idle time-out), but many slow senders together could still
 * hold a body limit each for as long as they trickle bytes in; the budget bounds their sum. Bytes
 * are taken as they arrive and given back when the read ends, however it ends (raw-body.ts); a read
 * that would pass the budget is refused (503 with Retry-After, webhook.ts).
 *
 * Size: `tillwireWebhookBodyBudgetKiB` in the Node-RED settings (settings.ts reads it from
 * TILLWIRE_WEBHOOK_BODY_BUDGET_KIB), default 64 MiB. Its figures are served at
 * GET /tillwire/webhooks/body-budget (admin-api.ts).
 */

export const DEFAULT_BODY_BUDGET_KIB = 64 * 1024;

export interface BudgetFigures {
  /** The budget, in bytes. */
  limitBytes: number;
  /** Bytes held right now by bodies being read. */
  heldBytes: number;
  /** Bodies being read right now. */
  reading: number;
  /** Bodies refused since the start because the budget was spent. */
  refused: number;
}

export class ByteBudget {
  private held = 0;
  private reads = 0;
  private refusals = 0;

  constructor(private limit: number) {}

  /** Changes the size; reads in progress keep what they hold. */
  resize(limitBytes: number): void {
    this.limit = limitBytes;
  }

  /** Takes `n` bytes if they fit; false (and counted as a refusal) if they do not. */
  take(n: number): boolean {
    if (this.held + n > this.limit) return false;
    this.held += n;
    return true;
  }

  give(n: number): void {
    this.held = Math.max(0, this.held - n);
  }

  readStarted(): void {
    this.reads++;
  }

  /** A read ended; `refused` when it ended because the budget was spent. */
  readEnded(refused = false): void {
    this.reads = Math.max(0, this.reads - 1);
    if (refused) this.refusals++;
  }

  figures(): BudgetFigures {
    return { limitBytes: this.limit, heldBytes: this.held, reading: this.reads, refused: this.refusals };
  }
}

/** The budget every webhook route's body read draws on. */
export const webhookBodyBudget = new ByteBudget(DEFAULT_BODY_BUDGET_KIB * 1024);

/**
 * Sizes the webhook body budget from the Node-RED settings (`tillwireWebhookBodyBudgetKiB`, a whole
 * number of KiB ≥ 1); returns a problem to log when the setting is unusable (the default is used).
 */
export function sizeBodyBudget(settings: Record<string, any> | undefined): string | undefined {
  const raw = settings?.tillwireWebhookBodyBudgetKiB;
  if (raw === undefined || raw === null || raw === '') {
    webhookBodyBudget.resize(DEFAULT_BODY_BUDGET_KIB * 1024);
    return undefined;
  }
  const kib = Number(raw);
  if (!Number.isSafeInteger(kib) || kib < 1) {
    webhookBodyBudget.resize(DEFAULT_BODY_BUDGET_KIB * 1024);
    return `tillwireWebhookBodyBudgetKiB '${raw}' is not a whole number of KiB of at least 1; using ${DEFAULT_BODY_BUDGET_KIB}`;
  }
  webhookBodyBudget.resize(kib * 1024);
  return undefined;
}
