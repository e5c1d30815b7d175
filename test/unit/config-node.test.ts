/**
 * connectionOf (nodes/core/config-node.ts): a node gets its config node's connection only when the
 * id names a deployed config node of the type it expects. Against a minimal runtime holding a
 * Shopify and a Square config node as Node-RED holds them (type + connection).
 */
import { connectionOf } from '../../nodes/core/config-node';
import type { NodeRED } from '../../nodes/core/node-red';
import { SHOPIFY_CONFIG, type ShopifyConnection } from '../../nodes/shopify/connection';
import { SQUARE_CONFIG } from '../../nodes/square/connection';

const shop: ShopifyConnection = { shop: 'tillwire-demo.myshopify.com', apiVersion: '2026-10', secrets: [] };
const deployed: Record<string, object> = {
  shop1: { id: 'shop1', type: SHOPIFY_CONFIG, connection: shop },
  sq1: { id: 'sq1', type: SQUARE_CONFIG, connection: { label: 'square', settings: {} } },
  // A config node that could not build anything yet has no connection.
  shop2: { id: 'shop2', type: SHOPIFY_CONFIG },
};
const looked: string[] = [];
const RED = {
  nodes: {
    getNode: (id: string) => {
      looked.push(id);
      return deployed[id] ?? null;
    },
  },
} as unknown as NodeRED;

describe('connectionOf', () => {
  it('returns the connection of a config node of the expected type, the very object it offers', () => {
    expect(connectionOf<ShopifyConnection>(RED, 'shop1', SHOPIFY_CONFIG)).toBe(shop);
  });

  it('gives nothing for a config node of another type (a Square account chosen where a shop is expected)', () => {
    expect(connectionOf<ShopifyConnection>(RED, 'sq1', SHOPIFY_CONFIG)).toBeUndefined();
    expect(connectionOf(RED, 'shop1', SQUARE_CONFIG)).toBeUndefined();
  });

  it('gives nothing for an id no deployed node has (a deleted config node)', () => {
    expect(connectionOf(RED, 'gone', SHOPIFY_CONFIG)).toBeUndefined();
  });

  it('gives nothing for a config node that offers no connection', () => {
    expect(connectionOf(RED, 'shop2', SHOPIFY_CONFIG)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['missing', undefined],
    ['not a string', 42],
    ['an object', { id: 'shop1' }],
  ])('gives nothing, without asking the runtime, when the id is %s', (_name, id) => {
    looked.length = 0;
    expect(connectionOf(RED, id, SHOPIFY_CONFIG)).toBeUndefined();
    expect(looked).toEqual([]);
  });
});
