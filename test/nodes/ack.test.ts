/**
 * `tillwire-ack`, `tillwire-dead-letter` and `tillwire-dedupe` when the store refuses the write: the message's inbox
 * entry is let go (its connector stops counting it as in flight and its inbox delivers it again
 * later) and the error reaches Catch, so a store outage can never hold an in-flight slot until a
 * restart.
 */
import storeNode from '../../nodes/core/store-config';
import ackNode from '../../nodes/core/ack';
import deadLetterNode from '../../nodes/core/dead-letter';
import dedupeNode from '../../nodes/core/dedupe';
import { inboxEvents, INBOX_REF } from '../../nodes/core/node-kit';
import { helper, startServer, stopAll, collect } from '../support/node-red';

const nodes = [storeNode, ackNode, deadLetterNode, dedupeNode];

function flow() {
  return [
    { id: 'f1', type: 'tab' },
    { id: 's1', type: 'tillwire-store', backend: 'memory' },
    { id: 'ack', type: 'tillwire-ack', z: 'f1', store: 's1', wires: [['after']] },
    { id: 'dl', type: 'tillwire-dead-letter', z: 'f1', store: 's1', wires: [['after']] },
    { id: 'dd', type: 'tillwire-dedupe', z: 'f1', store: 's1', confirm: 'complete', duplicates: 'output', waitSeconds: 0, wires: [['after'], ['after']] },
    { id: 'after', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: ['ack', 'dl', 'dd'], wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

beforeEach(startServer);
afterEach(stopAll);

async function storeDown(): Promise<void> {
  const store = await (helper.getNode('s1') as any).manager.acquire();
  const refuse = async () => {
    throw new Error('connection terminated');
  };
  store.inboxComplete = refuse;
  store.putDeadLetter = refuse;
  store.claim = refuse;
}

function released(): { ids: string[]; stop: () => void } {
  const ids: string[] = [];
  const on = (source: string, id: string) => ids.push(`${source}/${id}`);
  inboxEvents.on('inbox-done', on);
  return { ids, stop: () => inboxEvents.off('inbox-done', on) };
}

describe('store refusing the write', () => {
  it('inbox done lets the entry go and reports the error to Catch; nothing passes on', async () => {
    await helper.load(nodes, flow());
    await storeDown();
    const events = released();
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('ack').receive({ payload: 1, [INBOX_REF]: { source: 'pos-mqtt:t', id: '7' } });
    const [msg] = await caught;
    events.stop();
    expect(msg.error.message).toMatch(/connection terminated/);
    expect(events.ids).toEqual(['pos-mqtt:t/7']);
  });

  it('the dead-letter node lets the entry go and reports the error to Catch', async () => {
    await helper.load(nodes, flow());
    await storeDown();
    const events = released();
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('dl').receive({ payload: 1, error: { message: 'ERP down' }, [INBOX_REF]: { source: 'pos-mqtt:t', id: '8' } });
    const [msg] = await caught;
    events.stop();
    expect(msg.error.message).toMatch(/connection terminated/);
    expect(events.ids).toEqual(['pos-mqtt:t/8']);
  });

  it('dedupe lets the entry go when it cannot claim the key, and reports the error to Catch', async () => {
    await helper.load(nodes, flow());
    await storeDown();
    const events = released();
    const caught = collect(helper.getNode('caught'), 1);
    helper.getNode('dd').receive({ payload: 1, tillwire: { idempotencyKey: 'sale:S1:T1:9' }, [INBOX_REF]: { source: 'pos-mqtt:t', id: '9' } });
    const [msg] = await caught;
    events.stop();
    expect(msg.error.message).toMatch(/connection terminated/);
    expect(events.ids).toEqual(['pos-mqtt:t/9']);
  });
});
