/**
 * Node-RED settings for running Tillwire (compiled to dist/settings.js, loaded by Node-RED with
 * require). Everything can be overridden from the environment:
 *
 *   TILLWIRE_USER_DIR              Node-RED user directory      (default: .node-red in the project)
 *   TILLWIRE_FLOW_FILE             flows file                   (default: flows/flows.json in the project)
 *   TILLWIRE_PORT / TILLWIRE_HOST  editor address               (default: 127.0.0.1:1880)
 *   TILLWIRE_CREDENTIAL_SECRET     key that encrypts flow credentials (default: generated once, kept
 *                                  in <userDir>/.tillwire-credential-secret with owner-only access)
 *   TILLWIRE_ADMIN_PASSWORD_HASH   bcrypt hash (`npx node-red admin hash-pw`): turns on editor login
 *   TILLWIRE_ADMIN_USER            login name for that hash     (default: admin)
 *   TILLWIRE_ALLOW_OPEN_EDITOR     1: start without a login on a non-loopback address (refused otherwise)
 *   TILLWIRE_WEBHOOK_BODY_BUDGET_KIB  KiB all webhook bodies being read may hold together; past it a
 *                                  delivery is answered 503 with Retry-After (default 65536 = 64 MiB)
 *
 * Loading this file has effects on purpose, as it is the one file every way of starting Tillwire
 * loads (npm start, red.js --settings, the container): it refuses an open editor on a network
 * address (docs/security.md), and it narrows the process umask so that what Node-RED writes into
 * the user directory (credentials, context) is readable by its owner only.
 */
import path from 'node:path';
import { adminAuth, credentialSecret, editorHost, keepUserDirPrivate, openEditorWarning, webhookBodyBudgetKiB } from './nodes/runtime/runtime-settings';

// dist/settings.js sits one level below the project root; in the Docker image the settings file
// sits in the app directory, so TILLWIRE_HOME may say where the project (flows/) is.
const projectRoot = process.env.TILLWIRE_HOME ?? path.resolve(__dirname, '..');
const userDir = path.resolve(process.env.TILLWIRE_USER_DIR ?? path.join(projectRoot, '.node-red'));
const flowFile = path.resolve(process.env.TILLWIRE_FLOW_FILE ?? path.join(projectRoot, 'flows', 'flows.json'));

const auth = adminAuth();
const host = editorHost();
const openWarning = openEditorWarning(host, !!auth); // throws: Node-RED prints the reason and exits 1
if (openWarning) console.warn(openWarning);
keepUserDirPrivate(userDir, flowFile);

const settings = {
  userDir,
  flowFile,
  flowFilePretty: true,
  uiHost: host,
  uiPort: Number(process.env.TILLWIRE_PORT ?? process.env.PORT ?? 1880),
  credentialSecret: credentialSecret(userDir),
  adminAuth: auth,
  // Node and flow context survive restarts (flushed every 30 s by Node-RED; Tillwire's own
  // guarantees live in its store, not in context).
  contextStorage: { default: { module: 'localfilesystem' } },
  // Let close handlers finish draining before Node-RED gives up on them.
  nodeCloseTimeout: 15000,
  logging: { console: { level: process.env.TILLWIRE_LOG_LEVEL ?? 'info', metrics: false, audit: false } },
  editorTheme: {
    page: { title: 'Tillwire · Node-RED' },
    header: { title: 'Tillwire' },
    projects: { enabled: false },
    tours: false,
  },
  // Tillwire runs in retailers' networks, often offline: no update check calls home, and the
  // editor does not ask for consent on first open.
  telemetry: { enabled: false, updateNotification: false },
  // Bytes all webhook bodies being read may hold together (docs/security.md).
  tillwireWebhookBodyBudgetKiB: webhookBodyBudgetKiB(),
  functionExternalModules: false,
  externalModules: { palette: { allowInstall: true } },
};

export = settings;
