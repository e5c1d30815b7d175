/**
 * What Tillwire relies on from Odoo's external APIs (JSON-RPC, JSON-2), in one place: the client
 * and the simulator (simulators/odoo) read these facts from here. No Node-RED import.
 */

/** The exception Odoo raises for an expired session (JSON-RPC error code 100). */
export const SESSION_EXPIRED = 'odoo.http.SessionExpiredException';
/** The JSON-RPC error code of an expired session. */
export const SESSION_EXPIRED_CODE = 100;
