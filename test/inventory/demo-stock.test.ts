/**
 * `npm start`'s "Stock → every channel" tab: a sale the demo's Northwind tills publish over MQTT is
 * booked in the inventory ledger and lowers what the Shopify, Amazon, Square and bol.com simulators
 * offer of its SKU within seconds. The test listens on the demo's broker for the tills' next sale
 * and reads each simulator's quantity over HTTP, as another process sees it.
 */
import mqtt from 'mqtt';
import { RunningNodeRed, startNodeRed } from '../support/node-red-process';
import { SquareSimulator } from '../../simulators/square/simulator';
import { BolSimulator } from '../../simulators/bol/simulator';
import { DEMO_STOCK } from '../../scripts/demo-services';

jest.setTimeout(60_000);

let red: RunningNodeRed;
let client: mqtt.MqttClient | undefined;

const urlOf = (what: string) => {
  const m = new RegExp(`\\[tillwire\\] ${what}: (\\S+)`).exec(red.output());
  if (!m) throw new Error(`npm start printed no ${what} address:\n${red.output().slice(0, 3000)}`);
  return m[1];
};

async function json(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** What each channel simulator offers of a SKU now (undefined: never set). */
async function offered(sku: string): Promise<Record<string, number | undefined>> {
  const shopify = (await json(`${urlOf('Shopify simulator')}/__simulator/inventory`)) as Array<{
    sku: string;
    location: string;
    name: string;
    quantity: number;
  }>;
  const amazon = await json(`${urlOf('Amazon SP-API simulator')}/__simulator/state`);
  const square = await json(`${urlOf('Square simulator')}/v2/inventory/counts/batch-retrieve`, {
    method: 'POST',
    headers: { authorization: 'Bearer sq-sim-access-token', 'content-type': 'application/json' },
    body: JSON.stringify({ catalog_object_ids: [SquareSimulator.catalogObjectId(sku)], location_ids: ['L-LDN'], states: ['IN_STOCK'] }),
  });
  const bol = (await json(`${urlOf('bol.com simulator')}/__simulator/offers`)) as Array<{ offerId: string; amount?: number }>;
  const count = (square.counts ?? []).find((c: any) => c.state === 'IN_STOCK');
  return {
    shopify: shopify.find((e) => e.sku === sku && e.location === 'gid://shopify/Location/1' && e.name === 'available')?.quantity,
    amazon: amazon.listings?.[`A1F83G8C2ARO7P/${sku}`]?.quantity,
    square: count ? Number(count.quantity) : undefined,
    bol: bol.find((o) => o.offerId === BolSimulator.offerIdOf(sku))?.amount,
  };
}

afterAll(async () => {
  client?.end(true);
  await red?.stop();
});

it('a sale at a Northwind till lowers what every channel simulator offers of its SKU within seconds', async () => {
  red = await startNodeRed({ via: 'npm-start', env: { TILLWIRE_LOG_LEVEL: 'warn' } });
  const opening = Object.values(DEMO_STOCK).reduce((a, b) => a + b, 0);
  // The demo rules (every channel sells from all three locations): Shopify all, Amazon half, Square less a buffer of 1, bol less 2.
  const openingOffer = { shopify: opening, amazon: Math.floor(opening / 2), square: opening - 1, bol: opening - 2 };

  client = mqtt.connect(urlOf('demo MQTT broker \\(embedded\\)'), { protocolVersion: 4, clientId: `tw-demo-stock-test-${process.pid}` });
  const sale = await new Promise<{ sku: string; quantity: number; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no till sale within 20 s')), 20_000);
    client!.on('message', (_topic, payload) => {
      let doc: any;
      try {
        doc = JSON.parse(payload.toString('utf8'));
      } catch {
        return; // the tills send the odd malformed message on purpose
      }
      const line = doc?.kind === 'sale' && Array.isArray(doc.lines) ? doc.lines.find((l: any) => typeof l?.sku === 'string' && l.quantity > 0) : undefined;
      if (!line) return;
      clearTimeout(timer);
      resolve({ sku: line.sku, quantity: line.quantity, at: Date.now() });
    });
    client!.subscribe('tillwire/northwind/stores/+/tills/+/+', { qos: 1 });
  });

  // Within seconds every channel offers less of the SKU than the opening stock allows.
  let now: Record<string, number | undefined> = {};
  const end = sale.at + 20_000;
  for (;;) {
    now = await offered(sale.sku);
    const lowered = (Object.keys(openingOffer) as Array<keyof typeof openingOffer>).every(
      (c) => now[c] !== undefined && now[c]! <= openingOffer[c] - Math.min(sale.quantity, c === 'amazon' ? 1 : sale.quantity) && now[c]! >= 0,
    );
    if (lowered) break;
    if (Date.now() > end)
      throw new Error(
        `${sale.sku} (sold ${sale.quantity}) offered ${JSON.stringify(now)}; opening ${JSON.stringify(openingOffer)}\n${red.output().slice(-3000)}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(now.shopify).toBeLessThan(openingOffer.shopify);
  expect(now.bol).toBeLessThan(openingOffer.bol);
});
