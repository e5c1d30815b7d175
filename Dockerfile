# syntax=docker/dockerfile:1
#
# Tillwire on the official Node-RED image (Node-RED 5 on Node 24).
#
# Build (from the repository root):
#   docker build -t tillwire/node-red-retail .
#
# Run (docs/docker.md has the details):
#   docker run --rm -it --entrypoint node tillwire/node-red-retail node_modules/node-red/red.js admin hash-pw
#       (prompts for a password and prints its bcrypt hash)
#   docker run -d --name tillwire -p 1880:1880 -v tillwire_data:/data \
#     -e TILLWIRE_CREDENTIAL_SECRET='<long random string>' \
#     -e TILLWIRE_ADMIN_PASSWORD_HASH='<the bcrypt hash>' \
#     tillwire/node-red-retail
#
#   TILLWIRE_ADMIN_PASSWORD_HASH  bcrypt hash: turns on the editor/admin login (user TILLWIRE_ADMIN_USER,
#                                 default admin). Without it the container REFUSES TO START: it
#                                 listens on 0.0.0.0, and an open editor runs any code anyone sends it.
#                                 The settings print why and Node-RED exits with code 1.
#   TILLWIRE_ALLOW_OPEN_EDITOR=1  starts without a login anyway (something in front of the container
#                                 authenticates every request); a loud warning is printed. The image
#                                 never sets it.
#   TILLWIRE_CREDENTIAL_SECRET    encrypts flows_cred.json. If unset, settings.ts generates one on
#                                 first start and keeps it in /data/.tillwire-credential-secret (mode
#                                 0600). Either way it must stay the same, or credentials saved
#                                 earlier can no longer be read.
#   TILLWIRE_PORT (1880), TILLWIRE_LOG_LEVEL, TZ, NODE_OPTIONS (the image sets
#                                 --max-old-space-size=1024, as npm start does: docs/docker.md "Memory";
#                                 setting NODE_OPTIONS replaces it).
#   Set by the image: TILLWIRE_HOST=0.0.0.0 (the settings default, 127.0.0.1, cannot be reached
#   through a published port), TILLWIRE_USER_DIR=/data, TILLWIRE_FLOW_FILE=/data/flows.json.
#   /data                         the Node-RED user dir (flows, credentials, secret, SQLite store file): mount it.
#                                 What Node-RED and Tillwire write there is mode 0600 (owner only).
#
# Layout:
#   stage "build": node:24 on Debian bookworm. Runs npm ci, npm run build and npm pack, so the
#       image gets exactly the files that npm would publish.
#   final stage: nodered/node-red:5.0.2-24-minimal. The node-red-docker README names its tags
#       <version>-24 and <version>-24-minimal for Node-RED 5 on Node 24, and 5.0.2 is a published
#       5.0 release. A pinned tag, not `latest`, so a rebuild gives the same Node-RED.
#     - The tarball is installed into /usr/src/node-red (the app dir, not the /data volume), so a
#       mounted /data cannot hide it. package.json keeps a file: reference to vendor/, so a later
#       `npm install` in a derived image does not prune it.
#     - No native addon: on Node 24 the SQLite store runs on Node's built-in node:sqlite. The one
#       optional dependency, better-sqlite3 (for Node 20), is omitted, so the -minimal image (no
#       compiler, no python) is enough.
#     - Settings: /usr/src/node-red/settings.js loads the package's compiled settings
#       (dist/settings.js). Those read TILLWIRE_* from the environment, refuse an open editor on
#       0.0.0.0 and narrow the umask. The file is passed with --settings (CMD), so it is not in
#       /data, and a mounted volume neither hides it nor needs a copy of it. The stock HEALTHCHECK
#       requires /data/settings.js, so it is replaced by the same check (GET / on the port,
#       2xx-4xx healthy, 4 s timeout); it reads TILLWIRE_PORT rather than loading the settings,
#       which would repeat their start-up checks and messages every 30 s.

############################ build: compile and pack ##############################################
FROM node:24-bookworm AS build
WORKDIR /app

# dependencies first, so this layer is cached until the lockfile changes
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build \
    && mkdir -p /pack \
    && npm pack --pack-destination /pack \
    && mv /pack/*.tgz /pack/tillwire-node-red-retail.tgz

############################ runtime: official Node-RED 5 image ##################################
FROM nodered/node-red:5.0.2-24-minimal

ARG TILLWIRE_VERSION=0.1.0
LABEL org.opencontainers.image.title="Tillwire for Node-RED" \
      org.opencontainers.image.description="Node-RED 5 with @tillwire/node-red-retail installed" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/tillwire/node-red-retail" \
      org.opencontainers.image.version="${TILLWIRE_VERSION}"

USER root
WORKDIR /usr/src/node-red
COPY --from=build /pack/tillwire-node-red-retail.tgz /usr/src/node-red/vendor/tillwire-node-red-retail.tgz

# The npm cache goes to /tmp and is removed, not left in /data. The check after the install opens
# an SQLite store the way the package does, so an image whose Node lacks node:sqlite fails here.
RUN npm install --omit=dev --omit=optional --no-audit --no-fund --no-update-notifier \
        --cache /tmp/npm-cache ./vendor/tillwire-node-red-retail.tgz \
    && rm -rf /tmp/npm-cache \
    && node -e "const e = require('/usr/src/node-red/node_modules/@tillwire/node-red-retail/dist/nodes/runtime/sqlite-engine.js'); e.openSqlite(':memory:').close(); console.log('SQLite store engine: ' + e.sqliteEngine())" \
    && printf '%s\n' \
        '// Node-RED settings for the Tillwire image: the compiled settings of the installed package.' \
        '// Reads TILLWIRE_CREDENTIAL_SECRET and TILLWIRE_ADMIN_PASSWORD_HASH from the environment.' \
        "module.exports = require('/usr/src/node-red/node_modules/@tillwire/node-red-retail/dist/settings.js');" \
        > /usr/src/node-red/settings.js \
    && test -f /usr/src/node-red/node_modules/@tillwire/node-red-retail/dist/settings.js \
    && chown -R node-red:root /usr/src/node-red \
    && chmod -R g+rwX /usr/src/node-red

USER node-red

# settings.ts defaults to the project checkout (.node-red/, flows/flows.json) and to 127.0.0.1. In
# the image, user dir and flows live in the /data volume, and the editor must listen on all
# interfaces of the container. TILLWIRE_USER_DIR also decides where a generated credential secret
# is kept, so it must be the persisted /data and not the package directory. Listening on 0.0.0.0
# makes the settings demand TILLWIRE_ADMIN_PASSWORD_HASH (or an explicit
# TILLWIRE_ALLOW_OPEN_EDITOR=1 at docker run): deliberately not set here.
ENV TILLWIRE_HOST=0.0.0.0 \
    TILLWIRE_USER_DIR=/data \
    TILLWIRE_FLOW_FILE=/data/flows.json

# The heap ceiling npm start gives Node-RED (scripts/node-red-runtime.ts HEAP_CEILING_MIB): below
# 2 GiB V8 lets the heap grow by less than twice its live objects, so a burst of till sales does
# not leave RSS rising with uncollected garbage. A NODE_OPTIONS given at docker run replaces it.
ENV NODE_OPTIONS=--max-old-space-size=1024

EXPOSE 1880

# Same check as the image's /healthcheck.js, on the port our settings use (plain HTTP: they set no https).
HEALTHCHECK --interval=30s --timeout=10s --retries=3 \
    CMD ["node", "-e", "const r=require('http').request({host:'127.0.0.1',port:Number(process.env.TILLWIRE_PORT||process.env.PORT||1880),timeout:4000},(res)=>process.exit(res.statusCode>=200&&res.statusCode<500?0:1));r.on('timeout',()=>r.destroy(new Error('timeout')));r.on('error',()=>process.exit(1));r.end();"]

# The image's ENTRYPOINT (./entrypoint.sh) runs
#   node $NODE_OPTIONS node_modules/node-red/red.js --userDir /data $FLOWS <CMD args>
CMD ["--settings", "/usr/src/node-red/settings.js"]
