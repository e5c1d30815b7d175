/**
 * A QuickBooks company's settings checked into a typed connection (`problem` names what is
 * wrong), and the one client and poster every node of that company shares, so the concurrency
 * and rate limits hold across them. No Node-RED import.
 */
import type { RuntimeNode } from '../core/node-red';
import { isKnownCurrency } from '../model/currencies';
import { QboClient, QboClientOptions } from './client';
import { PRODUCTION_URL, SANDBOX_URL, TOKEN_URL } from './contract';
import { QboPoster, QboPostOptions } from './post';

export interface QboSettings {
  /** production, sandbox, or custom (a simulator: `baseUrl` and `tokenUrl` given). */
  environment?: string;
  baseUrl?: string;
  tokenUrl?: string;
  realmId?: string;
  homeCurrency?: string;
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** Tracking dimension → ClassRef / DepartmentRef (map.ts). */
  classFrom?: string;
  departmentFrom?: string;
}

/** The config node as the nodes using it see it; `ready` settles once a persisted refresh token is restored. */
/** The config node type whose `connection` is a QboConfigConnection. */
export const QUICKBOOKS_CONFIG = 'tillwire-quickbooks-config';
export type QboConfigConnection = QboConnection & { ready: Promise<void> };

export interface QboConfigNode extends RuntimeNode {
  connection?: QboConfigConnection;
}

export interface QboConnection {
  label: string;
  realmId: string;
  homeCurrency: string;
  client?: QboClient;
  poster?: QboPoster;
  /** Why the company cannot be used, when it cannot. */
  problem?: string;
}

/** What is wrong with the settings, or undefined. */
export function settingsProblem(s: QboSettings): string | undefined {
  const env = s.environment ?? 'production';
  if (!['production', 'sandbox', 'custom'].includes(env)) return `unknown environment ${JSON.stringify(env)}: production, sandbox or custom`;
  if (env === 'custom' && (!validUrl(s.baseUrl) || !validUrl(s.tokenUrl))) return 'a custom environment needs the API and token URLs (http or https)';
  if (!s.realmId || !/^\d{1,32}$/.test(s.realmId)) return 'the company (realm) id must be digits';
  if (!isKnownCurrency(s.homeCurrency)) return 'the home currency must be an ISO 4217 code such as USD';
  if (!s.clientId || !s.clientSecret) return 'the app’s client id and client secret are required';
  if (!s.refreshToken) return 'a refresh token is required (from connecting the app to the company)';
  return undefined;
}

/** The connection for the settings; `onRefreshToken` persists each rotated refresh token. */
export function openConnection(
  s: QboSettings,
  onRefreshToken: QboClientOptions['onRefreshToken'],
  extra: { client?: Partial<QboClientOptions>; post?: Partial<QboPostOptions> } = {},
): QboConnection {
  const problem = settingsProblem(s);
  const base = { label: `QuickBooks ${s.realmId ?? '?'}`, realmId: s.realmId ?? '', homeCurrency: s.homeCurrency ?? '' };
  if (problem) return { ...base, problem };
  const env = s.environment ?? 'production';
  const client = new QboClient({
    baseUrl: env === 'custom' ? s.baseUrl! : env === 'sandbox' ? SANDBOX_URL : PRODUCTION_URL,
    tokenUrl: env === 'custom' ? s.tokenUrl : TOKEN_URL,
    realmId: s.realmId!,
    credentials: { clientId: s.clientId!, clientSecret: s.clientSecret!, refreshToken: s.refreshToken! },
    onRefreshToken,
    ...extra.client,
  });
  const poster = new QboPoster(client, {
    homeCurrency: s.homeCurrency!,
    classFrom: s.classFrom || undefined,
    departmentFrom: s.departmentFrom || undefined,
    ...extra.post,
  });
  return { ...base, client, poster };
}

function validUrl(u: string | undefined): boolean {
  try {
    return !!u && /^https?:$/.test(new URL(u).protocol);
  } catch {
    return false;
  }
}
