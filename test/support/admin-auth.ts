/**
 * Node-RED's editor login for real-runtime tests of admin routes: the `adminAuth` setting for a few
 * users sharing one password, and a bearer token for one of them from `/auth/token`.
 */
import bcrypt from 'bcryptjs';

/** Settings that turn the login on: each user with its permissions ('*' or 'read'), all with `password`. */
export function adminAuthSettings(password: string, users: Array<{ username: string; permissions: string }>) {
  const hash = bcrypt.hashSync(password, 8);
  return { adminAuth: { type: 'credentials', users: users.map((u) => ({ ...u, password: hash })) } };
}

/** Logs `username` in at the Node-RED on `baseUrl` with `scope`; its access token. */
export async function adminToken(baseUrl: string, username: string, password: string, scope: string): Promise<string> {
  const res = await fetch(`${baseUrl}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope, username, password }),
  });
  if (!res.ok) throw new Error(`login of ${username} answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
