/** Addresses of the real services the integration tests use (started by .ci/run when down). */
export const POSTGRES_URL = process.env.TILLWIRE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MQTT_URL = process.env.TILLWIRE_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}
