/**
 * The broker settings Tillwire needs (config/mosquitto/), on the real Mosquitto:
 * - with tillwire.conf a slow QoS 1 subscriber with a persistent session receives everything
 *   published while it was away and while it drains;
 * - with Mosquitto's default max_queued_messages (1,000) the same subscriber loses messages;
 * - a clean restart keeps the queued messages;
 * - acl.example confines a store's user to its own store's till topics under the one brand (and
 *   refuses wildcard user names; a user name with '/' reaches no till topic).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { runSimulation } from '../../simulators/pos-mqtt/device-simulator';
import { renderConfig, startMosquitto, type RunningMosquitto } from '../support/mosquitto';

const FILTER = 'tillwire/+/stores/+/tills/+/+';
const CONFIG_DIR = path.resolve(__dirname, '..', '..', 'config', 'mosquitto');

interface Ingress {
  client: MqttClient;
  received: Array<{ topic: string; payload: Buffer }>;
}

/**
 * A QoS 1 subscriber that acknowledges each message only after a turn of the event loop (like an
 * ingress writing to its inbox first), one at a time. Its handler is installed before the
 * connection is made: messages queued for a persistent session arrive right after CONNACK.
 */
function connectIngress(url: string, opts: IClientOptions, slow = true): Promise<Ingress> {
  const received: Ingress['received'] = [];
  const client = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, ...opts });
  client.handleMessage = (packet, callback) => {
    received.push({ topic: packet.topic, payload: Buffer.from(packet.payload as Buffer) });
    if (slow) setImmediate(() => callback());
    else callback();
  };
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve({ client, received }));
    client.once('error', reject);
  });
}

/** Creates a persistent session with a subscription, then leaves. */
async function registerSession(url: string, clientId: string, filter = FILTER): Promise<void> {
  const c = await mqtt.connectAsync(url, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 0 });
  await c.subscribeAsync(filter, { qos: 1 });
  await c.endAsync();
}

/** Waits until no message has arrived for `quietMs`. */
async function quiet(received: unknown[], quietMs = 400, maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  let last = -1;
  while (received.length !== last && Date.now() < deadline) {
    last = received.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

const keyOf = (r: { topic: string; payload: Buffer }) => `${r.topic}\n${r.payload.toString('base64')}`;

describe('config/mosquitto/tillwire.conf', () => {
  it('is what test/support/mosquitto.ts runs, with only port and data directory changed', () => {
    const src = fs.readFileSync(path.join(CONFIG_DIR, 'tillwire.conf'), 'utf8');
    const out = renderConfig(src, 40001, '/tmp/x');
    expect(out).toMatch(/^listener 40001 127\.0\.0\.1$/m);
    expect(out).toMatch(/^persistence_location \/tmp\/x\/$/m);
    for (const setting of [
      'max_queued_messages 1000000',
      'max_inflight_messages 100',
      'persistence true',
      'autosave_interval 5',
      'per_listener_settings false',
      'allow_anonymous true',
    ]) {
      expect(out).toContain(`\n${setting}\n`);
    }
    expect(renderConfig(src, 1, '/d', { max_queued_messages: null })).not.toMatch(/^max_queued_messages/m);
  });

  it('a slow persistent QoS 1 subscriber gets all 10,000 messages: 5,000 sent while it was away, 5,000 while it drains', async () => {
    const broker = await startMosquitto();
    try {
      await registerSession(broker.url, 'tillwire-ingress-a');
      const away = await runSimulation({ brokerUrl: broker.url, brand: 'away', count: 5000, stores: 2, tills: 2, close: false, maxInflight: 200 });
      expect(away.run!.acked).toBe(5000);

      const ingress = await connectIngress(broker.url, { clientId: 'tillwire-ingress-a', clean: false });
      const live = await runSimulation({ brokerUrl: broker.url, brand: 'live', count: 5000, stores: 2, tills: 2, close: false, maxInflight: 200 });
      expect(live.run!.acked).toBe(5000);
      await quiet(ingress.received);
      await ingress.client.endAsync();

      const expected = [...away.valid, ...live.valid].map((v) => keyOf({ topic: v.topic, payload: v.payload! }));
      const got = ingress.received.map(keyOf);
      expect(got.length).toBe(10_000);
      expect(new Set(got)).toEqual(new Set(expected));
      expect(broker.output()).not.toMatch(/Outgoing messages are being dropped/);
    } finally {
      await broker.stop();
    }
  }, 60_000);

  it("with Mosquitto's default max_queued_messages (1,000) the same subscriber gets only 1,000 of 5,000", async () => {
    // Deterministic: the subscriber is away while all 5,000 are published, so the queue limit
    // alone decides. (A live, slow subscriber also loses messages, but how many depends on timing.)
    const broker = await startMosquitto({ settings: { max_queued_messages: null, max_queued_bytes: null, max_inflight_messages: null } });
    try {
      await registerSession(broker.url, 'tillwire-ingress-b');
      const away = await runSimulation({ brokerUrl: broker.url, count: 5000, stores: 1, tills: 2, close: false, maxInflight: 200 });
      expect(away.run!.acked).toBe(5000); // the broker acknowledged every publish ...
      const ingress = await connectIngress(broker.url, { clientId: 'tillwire-ingress-b', clean: false });
      await quiet(ingress.received);
      await ingress.client.endAsync();
      expect(ingress.received).toHaveLength(1000); // ... and dropped 4,000 of them
      expect(broker.output()).toMatch(/Outgoing messages are being dropped for client tillwire-ingress-b/);
    } finally {
      await broker.stop();
    }
  }, 60_000);

  it('keeps queued messages and the session across a clean broker restart (SIGTERM)', async () => {
    const broker = await startMosquitto();
    try {
      await registerSession(broker.url, 'tillwire-ingress-c');
      const m = await runSimulation({ brokerUrl: broker.url, count: 1000, stores: 1, tills: 1, close: false });
      await broker.restart();
      const ingress = await connectIngress(broker.url, { clientId: 'tillwire-ingress-c', clean: false }, false);
      await quiet(ingress.received);
      await ingress.client.endAsync();
      expect(ingress.received.map(keyOf).sort()).toEqual(m.valid.map((v) => keyOf({ topic: v.topic, payload: v.payload! })).sort());
    } finally {
      await broker.stop();
    }
  }, 30_000);
});

describe('config/mosquitto/acl.example: one broker user per store', () => {
  let broker: RunningMosquitto;
  const users: Record<string, string> = {
    'tillwire-ingress': 'ingress-pw',
    'LDN-001': 'ldn-pw',
    'MAN-002': 'man-pw',
    '+': 'plus-pw',
    'LDN-001#': 'hash-pw',
    'LDN-001/tills': 'slash-pw',
  };

  beforeAll(async () => {
    // Password file hashed by mosquitto_passwd (a line starting with '#' would be a comment, so no
    // user name starts with one); the ACL file exactly as shipped.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-acl-'));
    const pw = path.join(tmp, 'passwd');
    fs.writeFileSync(
      pw,
      Object.entries(users)
        .map(([u, p]) => `${u}:${p}`)
        .join('\n') + '\n',
    );
    execFileSync('mosquitto_passwd', ['-U', pw]);
    const acl = path.join(tmp, 'acl');
    fs.copyFileSync(path.join(CONFIG_DIR, 'acl.example'), acl);
    fs.chmodSync(tmp, 0o755);
    fs.chmodSync(pw, 0o644);
    fs.chmodSync(acl, 0o644);
    broker = await startMosquitto({ settings: { allow_anonymous: 'false', password_file: pw, acl_file: acl } });
    (broker as RunningMosquitto & { tmp?: string }).tmp = tmp;
  });
  afterAll(async () => {
    await broker?.stop();
    const tmp = (broker as RunningMosquitto & { tmp?: string })?.tmp;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  // acl.example pins the brand level to "acme" (the placeholder a retailer replaces with its own).
  const ldn = (till: string, type = 'sales', brand = 'acme') => `tillwire/${brand}/stores/LDN-001/tills/${till}/${type}`;
  const man = (till: string, type = 'sales') => `tillwire/acme/stores/MAN-002/tills/${till}/${type}`;

  async function publishAs(user: string, topic: string, protocolVersion: 4 | 5): Promise<{ error?: Error & { code?: number } }> {
    const c = await mqtt.connectAsync(broker.url, { username: user, password: users[user], protocolVersion, reconnectPeriod: 0 });
    try {
      await c.publishAsync(topic, Buffer.from(`{"from":"${user}"}`), { qos: 1 });
      return {};
    } catch (error) {
      return { error: error as Error & { code?: number } };
    } finally {
      await c.endAsync();
    }
  }

  it('refuses anonymous clients and wrong passwords', async () => {
    await expect(mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 0 })).rejects.toThrow(/Not authorized|Bad User Name or Password/i);
    await expect(mqtt.connectAsync(broker.url, { username: 'LDN-001', password: 'nope', protocolVersion: 5, reconnectPeriod: 0 })).rejects.toThrow(
      /Not authorized|Bad User Name or Password/i,
    );
  });

  it('a store publishes under its own store only; the ingress user reads every store, also through $share', async () => {
    const ingress = await connectIngress(broker.url, { username: 'tillwire-ingress', password: users['tillwire-ingress'], protocolVersion: 5 }, false);
    await ingress.client.subscribeAsync(`$share/tillwire/${FILTER}`, { qos: 1 });
    try {
      // MQTT 5: a refused publish gets PUBACK reason code 135 (not authorized): the till can see it.
      expect((await publishAs('LDN-001', ldn('T01'), 5)).error).toBeUndefined();
      expect((await publishAs('LDN-001', man('T01'), 5)).error).toMatchObject({ code: 135 });
      expect((await publishAs('MAN-002', man('T02', 'close'), 5)).error).toBeUndefined();
      // MQTT 3.1.1 has no reason codes: the broker acknowledges a refused publish and drops it.
      expect((await publishAs('MAN-002', ldn('T02'), 4)).error).toBeUndefined();
      // Outside the till topics entirely.
      expect((await publishAs('LDN-001', 'tillwire/acme/other', 5)).error).toMatchObject({ code: 135 });
      expect((await publishAs('LDN-001', 'tillwire/acme/stores/LDN-001/tills/T01/other', 5)).error).toMatchObject({ code: 135 });
      // The brand level is pinned: a store's user cannot publish as its store under another brand.
      expect((await publishAs('LDN-001', ldn('T01', 'sales', 'otherbrand'), 5)).error).toMatchObject({ code: 135 });
      // CVE-2017-7650: user names with wildcards must not widen the %u pattern (fixed in 1.4.12).
      expect((await publishAs('+', ldn('T09'), 5)).error).toMatchObject({ code: 135 });
      expect((await publishAs('LDN-001#', ldn('T09'), 5)).error).toMatchObject({ code: 135 });
      // Not covered by that fix: a user name with '/' spans topic levels. The patterns end in a
      // fixed "tills/+/<kind>" after %u, so "LDN-001/tills" cannot reach store LDN-001's tills.
      expect((await publishAs('LDN-001/tills', ldn('T09', 'returns'), 5)).error).toMatchObject({ code: 135 });
      // The ingress user itself cannot publish sales.
      expect((await publishAs('tillwire-ingress', ldn('T01'), 5)).error).toMatchObject({ code: 135 });

      await quiet(ingress.received, 300, 5000);
      expect(ingress.received.map((r) => `${r.topic} ${r.payload}`).sort()).toEqual(
        [`${ldn('T01')} {"from":"LDN-001"}`, `${man('T02', 'close')} {"from":"MAN-002"}`].sort(),
      );
    } finally {
      await ingress.client.endAsync();
    }
  });

  it('the simulator logs in as each store (username = store id) and every message gets through', async () => {
    const sub = await connectIngress(broker.url, { username: 'tillwire-ingress', password: users['tillwire-ingress'], protocolVersion: 5 }, false);
    await sub.client.subscribeAsync(FILTER, { qos: 1 });
    try {
      const m = await runSimulation({
        brokerUrl: broker.url,
        storeIds: ['LDN-001', 'MAN-002'],
        brand: 'acme',
        username: '{store}',
        password: (store) => users[store],
        count: 200,
        duplicateRate: 0.05,
      });
      expect(m.run!.failed).toBe(0);
      await quiet(sub.received, 300, 10_000);
      expect(sub.received).toHaveLength(m.counts.messages);
    } finally {
      await sub.client.endAsync();
    }
  });
});
