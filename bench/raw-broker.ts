/**
 * (a) The raw broker ceiling: mqtt.js publishing and subscribing QoS 1 through the same Mosquitto
 * (config/mosquitto/tillwire.conf) with nothing else: the same sale payloads, a persistent session.
 */
import mqtt from 'mqtt';
import { publish, Sale } from './common';

export async function rawBroker(url: string, list: Sale[]): Promise<{ perSecond: number; seconds: number }> {
  const sub = await mqtt.connectAsync(url, {
    clientId: `bench-raw-sub-${process.pid}`,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 600 },
  });
  await sub.subscribeAsync('tillwire/raw/#', { qos: 1 });
  let received = 0;
  let last = 0;
  const done = new Promise<void>((resolve) =>
    sub.on('message', () => {
      received++;
      last = performance.now();
      if (received === list.length) resolve();
    }),
  );
  const start = performance.now();
  await publish(
    url,
    list.map((s) => ({ ...s, topic: s.topic.replace(/^tillwire\/[^/]+\//, 'tillwire/raw/') })),
    new Map(),
  );
  await done;
  await sub.endAsync();
  const seconds = (last - start) / 1000;
  return { perSecond: list.length / seconds, seconds };
}
