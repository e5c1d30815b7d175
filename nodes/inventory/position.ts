/**
 * The position the available-to-sell rules read: one SKU at one location, as the store's inventory
 * ledger keeps it (nodes/runtime/inventory.ts; docs/inventory.md, "The ledger"). Integers, in units.
 */
export type { InventoryPosition } from '../runtime/inventory';
