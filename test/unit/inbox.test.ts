import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStore } from '../../nodes/runtime/create-store';
import { DurableInbox } from '../../nodes/runtime/inbox';
import type { InboxEntry, Store } from '../../nodes/runtime/store';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-inbox-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function openStore(file: string): Promise<Store> {
  const store = createStore({ backend: 'sqlite', file });
  await store.open();
  return store;
}

describe('durable inbox', () => {
  it('stores before it acknowledges, delivers once, and re-emits unfinished entries after a restart', async () => {
    const file = path.join(dir, 'restart.db');
    const order: string[] = [];
    let store = await openStore(file);
    const delivered: InboxEntry[] = [];
    let inbox = new DurableInbox(store, 'mqtt:stores', (entry) => {
      order.push(`deliver ${entry.eventId}`);
      delivered.push(entry);
    });
    for (const id of ['s1', 's2', 's3']) {
      await inbox.accept(id, { sale: id }, async () => {
        // at the moment of the ack the event must already be durable
        const pending = await store.inboxPending('mqtt:stores');
        order.push(`ack ${id} (stored: ${pending.some((e) => e.eventId === id)})`);
      });
    }
    expect(order).toEqual(['ack s1 (stored: true)', 'deliver s1', 'ack s2 (stored: true)', 'deliver s2', 'ack s3 (stored: true)', 'deliver s3']);

    // a redelivery of s2 by the sender is recognised and not delivered again
    const again = await inbox.accept('s2', { sale: 's2' }, () => undefined);
    expect(again.duplicate).toBe(true);
    expect(delivered).toHaveLength(3);

    // s1 finishes; the process then "dies" with s2 and s3 unfinished
    await inbox.complete(delivered[0].id);
    await store.close();

    store = await openStore(file);
    const recovered: InboxEntry[] = [];
    inbox = new DurableInbox(store, 'mqtt:stores', (entry, redelivery) => {
      expect(redelivery).toBe(true);
      recovered.push(entry);
    });
    expect(await inbox.recover()).toBe(2);
    expect(recovered.map((e) => [e.eventId, e.payload, e.attempts])).toEqual([
      ['s2', { sale: 's2' }, 1],
      ['s3', { sale: 's3' }, 1],
    ]);
    await store.close();
  });

  it('recovers more entries than one page, each once', async () => {
    const store = await openStore(path.join(dir, 'paging.db'));
    const inbox = new DurableInbox(store, 'src', () => undefined);
    for (let i = 0; i < 25; i++) await inbox.accept(`e${i}`, i);
    const seen: string[] = [];
    const recovering = new DurableInbox(store, 'src', (e) => seen.push(e.eventId));
    expect(await recovering.recover(10)).toBe(25);
    expect(new Set(seen).size).toBe(25);
    await store.close();
  });

  it('does not acknowledge when the write fails', async () => {
    const store = await openStore(path.join(dir, 'closed.db'));
    await store.close();
    const inbox = new DurableInbox(store, 'src', () => undefined);
    const ack = jest.fn();
    await expect(inbox.accept('e1', {}, ack)).rejects.toThrow(/not open/);
    expect(ack).not.toHaveBeenCalled();
  });
});
