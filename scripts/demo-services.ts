/**
 * What `npm start` runs beside Node-RED so the demo flows have something to talk to, all on
 * loopback: an embedded MQTT broker (aedes, demo only: tests use the real Mosquitto) unless
 * TILLWIRE_MQTT_URL names a broker, the Odoo and Business Central simulators, and a few store
 * tills selling slowly. Each address reaches the flows as an environment variable (the flows use
 * ${TILLWIRE_MQTT_URL}, ${TILLWIRE_ODOO_URL}, ${TILLWIRE_BC_URL}).
 */
import net from 'node:net';
import { OdooSimulator } from '../nodes/odoo/simulator';
import { BusinessCentralSimulator } from '../nodes/business-central/simulator';
import { runSimulation } from '../nodes/pos-mqtt/device-simulator';

export interface DemoServices {
  env: Record<string, string>;
  stop(): Promise<void>;
}

function listenBroker(port: number): Promise<{ close: () => Promise<void> }> {
  // aedes is a dev dependency: the demo runs from a checkout, never from the installed package.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const aedes = require('aedes')();
  const server = net.createServer(aedes.handle);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve({
        close: () => new Promise<void>((done) => aedes.close(() => server.close(() => done()))),
      }),
    );
  });
}

export async function startDemoServices(log: (line: string) => void = console.log): Promise<DemoServices> {
  const stops: Array<() => Promise<void>> = [];
  const env: Record<string, string> = {};
  let mqttUrl = process.env.TILLWIRE_MQTT_URL;
  let embeddedUrl: string | undefined;
  if (!mqttUrl) {
    const port = Number(process.env.TILLWIRE_DEMO_MQTT_PORT ?? 18830);
    const broker = await listenBroker(port);
    stops.push(broker.close);
    mqttUrl = embeddedUrl = `mqtt://127.0.0.1:${port}`;
    log(`[tillwire] demo MQTT broker (embedded): ${mqttUrl}`);
  }
  env.TILLWIRE_MQTT_URL = mqttUrl;

  const odoo = new OdooSimulator({ port: Number(process.env.TILLWIRE_DEMO_ODOO_PORT ?? 18069) });
  env.TILLWIRE_ODOO_URL = await odoo.start();
  stops.push(() => odoo.stop());
  log(`[tillwire] Odoo simulator: ${env.TILLWIRE_ODOO_URL} (database tillwire, login admin, API key tillwire-demo-key)`);

  const bc = new BusinessCentralSimulator({
    port: Number(process.env.TILLWIRE_DEMO_BC_PORT ?? 18070),
    log: () => undefined,
  });
  await bc.start();
  env.TILLWIRE_BC_URL = bc.url;
  stops.push(() => bc.close());
  log(`[tillwire] Business Central simulator: ${bc.url} (token tillwire-demo-token)`);

  // Two brands' tills (Northwind's go to Odoo, Southwind's to Business Central in the demo flows),
  // each selling about one sale every two seconds, with the odd duplicate and bad message.
  let running = true;
  const brand = async (name: string, seed: number) => {
    for (let day = 0; running; day++) {
      await runSimulation({
        brokerUrl: mqttUrl,
        brand: name,
        stores: 2,
        tills: 2,
        count: 120,
        rate: 0.5,
        duplicateRate: 0.05,
        malformedRate: 0.02,
        seed: `${name}-${seed}-${day}`,
        businessDate: new Date(Date.now() + day * 86_400_000).toISOString().slice(0, 10),
        startSequence: 1 + day * 200,
        keepPayloads: false,
        clientIdPrefix: `tillwire-demo-${name}-`,
        // aedes, the embedded demo broker, speaks MQTT 3.1.1 only
        protocolVersion: mqttUrl === embeddedUrl ? 4 : 5,
      }).catch((err: Error) => log(`[tillwire] demo tills (${name}): ${err.message}`));
      if (running) await new Promise((r) => setTimeout(r, 2000));
    }
  };
  const seed = Date.now();
  const tills = Promise.all([brand('northwind', seed), brand('southwind', seed)]);
  stops.push(async () => {
    running = false;
    await Promise.race([tills, new Promise((r) => setTimeout(r, 1000))]);
  });

  return {
    env,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}
