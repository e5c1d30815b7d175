/**
 * The till node's admin routes: which brand owns a store id (store-owners.ts), read or re-assigned.
 * Mounted on Node-RED's admin app, so they sit behind adminAuth and these permissions.
 *
 *   GET /tillwire/store-owners/:storeId?store=                  → { storeId, brand, since, how }
 *   PUT /tillwire/store-owners/:storeId?store=  body { brand }  → { storeId, brand, previous }
 */
import type { NodeRED } from '../core/node-red';
import { HttpError, resolveStore, respond } from '../core/admin-api';
import { storeOwners } from './store-owners';
import { assertTopicLevel, deviceIdProblem } from './topic';

const registered = new WeakSet<object>();

export function registerStoreOwnerRoutes(RED: NodeRED): void {
  if (!RED.httpAdmin || registered.has(RED.httpAdmin)) return;
  registered.add(RED.httpAdmin);
  RED.httpAdmin.get(
    '/tillwire/store-owners/:storeId',
    RED.auth.needsPermission('tillwire-store-owner.read'),
    respond(async (req) => {
      const problem = deviceIdProblem('store', req.params.storeId);
      if (problem) throw new HttpError(400, problem);
      const store = await resolveStore(RED, req.query.store);
      const owner = await storeOwners(store).get(req.params.storeId);
      if (!owner) throw new HttpError(404, `no brand owns store id ${req.params.storeId} yet (the first brand whose till sends a valid message will)`);
      return { storeId: req.params.storeId, ...owner };
    }),
  );

  RED.httpAdmin.put(
    '/tillwire/store-owners/:storeId',
    RED.auth.needsPermission('tillwire-store-owner.write'),
    respond(async (req) => {
      const problem = deviceIdProblem('store', req.params.storeId);
      if (problem) throw new HttpError(400, problem);
      const brand = req.body?.brand;
      if (typeof brand !== 'string') throw new HttpError(400, 'send { "brand": "<brand>" }: the brand that is to own this store id');
      try {
        assertTopicLevel('brand', brand);
      } catch (err) {
        throw new HttpError(400, (err as Error).message);
      }
      const store = await resolveStore(RED, req.query.store);
      const previous = await storeOwners(store).assign(req.params.storeId, brand);
      return { storeId: req.params.storeId, brand, previous: previous?.brand ?? null };
    }),
  );
}
