# syntax=docker/dockerfile:1
#
# Tillwire on the official Node-RED image (Node-RED 4.1 on Node 20).
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
#   TILLWIRE_PORT (1880), TILLWIRE_LOG_LEVEL, TZ, NODE_OPTIONS (e.g. --max_old_space_size=512).
#   Set by the image: TILLWIRE_HOST=0.0.0.0 (the settings default, 127.0.0.1, cannot be reached
#   through a published port), TILLWIRE_USER_DIR=/data, TILLWIRE_FLOW_FILE=/data/flows.json.
#   /data                         the Node-RED user dir (flows, credentials, secret, SQLite store file): mount it.
#                                 What Node-RED and Tillwire write there is mode 0600 (owner only).
#
# Layout:
#   stage "build": node:20 on Debian bookworm. Runs npm ci, npm run build and npm pack, so the
#       image gets exactly the files that npm would publish.
#   final stage: nodered/node-red:4.1.13-20. This is the newest 4.1 tag we can verify: the
#       node-red-docker repository's v4.1.13 README lists 4.1.13-20. The development dependency
#       is node-red 4.1.15. Move to 4.1.15-20 once that tag is confirmed to exist. Do not use
#       `latest`: it is Node-RED 5 on Node 24.
#     - The tarball is installed into /usr/src/node-red (the app dir, not the /data volume), so a
#       mounted /data cannot hide it. package.json keeps a file: reference to vendor/, so a later
#       `npm install` in a derived image does not prune it.
#     - better-sqlite3 is a native addon. The non-minimal image has build-base and python3, so
#       node-gyp can compile it when no prebuilt binary can be downloaded. The -minimal images
#       have no build tools and would fail here.
#     - Settings: /usr/src/node-red/settings.js loads the package's compiled settings
#       (dist/settings.js). Those read TILLWIRE_* from the environment, refuse an open editor on
#       0.0.0.0 and narrow the umask. The file is passed with --settings (CMD), so it is not in
#       /data, and a mounted volume neither hides it nor needs a copy of it. The stock HEALTHCHECK
#       requires /data/settings.js, so it is replaced by the same check (GET / on the port,
#       2xx-4xx healthy, 4 s timeout); it reads TILLWIRE_PORT rather than loading the settings,
#       which would repeat their start-up checks and messages every 30 s.

############################ build: compile and pack ##############################################
FROM node:20.20.2-bookworm AS build
WORKDIR /app

# dependencies first, so this layer is cached until the lockfile changes
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY . .
RUN npm run build \
    && mkdir -p /pack \
    && npm pack --pack-destination /pack \
    && mv /pack/*.tgz /pack/tillwire-node-red-retail.tgz

############################ runtime: official Node-RED 4.1 image ################################
FROM nodered/node-red:4.1.13-20

ARG TILLWIRE_VERSION=0.1.0
LABEL org.opencontainers.image.title="Tillwire for Node-RED" \
      org.opencontainers.image.description="Node-RED 4.1 with @tillwire/node-red-retail installed" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/tillwire/node-red-retail" \
      org.opencontainers.image.version="${TILLWIRE_VERSION}"

USER root
WORKDIR /usr/src/node-red
COPY --from=build /pack/tillwire-node-red-retail.tgz /usr/src/node-red/vendor/tillwire-node-red-retail.tgz

# npm_config_nodedir: if node-gyp must compile better-sqlite3, it uses the headers of the Node that
# is in the image (/usr/local/include/node) and downloads none. The npm cache goes to /tmp and is
# removed, not left in /data.
RUN npm_config_nodedir=/usr/local npm install --omit=dev --no-audit --no-fund --no-update-notifier \
        --cache /tmp/npm-cache ./vendor/tillwire-node-red-retail.tgz \
    && rm -rf /tmp/npm-cache \
    && node -e "require(require.resolve('better-sqlite3', { paths: ['/usr/src/node-red/node_modules/@tillwire/node-red-retail'] }))(':memory:').close()" \
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

EXPOSE 1880

# Same check as the image's /healthcheck.js, on the port our settings use (plain HTTP: they set no https).
HEALTHCHECK --interval=30s --timeout=10s --retries=3 \
    CMD ["node", "-e", "const r=require('http').request({host:'127.0.0.1',port:Number(process.env.TILLWIRE_PORT||process.env.PORT||1880),timeout:4000},(res)=>process.exit(res.statusCode>=200&&res.statusCode<500?0:1));r.on('timeout',()=>r.destroy(new Error('timeout')));r.on('error',()=>process.exit(1));r.end();"]

# The image's ENTRYPOINT (./entrypoint.sh) runs
#   node $NODE_OPTIONS node_modules/node-red/red.js --userDir /data $FLOWS <CMD args>
CMD ["--settings", "/usr/src/node-red/settings.js"]
