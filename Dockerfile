# One image for every Gozon node; NODE_ROLE (gateway | orders | payments) picks what it runs.
# docker-compose.yml builds it once per app service (cached after the first).

# --- build: compile the server (dist/) and the dashboard (frontend/dist/) ---
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json moleculer.config.ts ./
COPY lib ./lib
COPY services ./services
COPY migrations ./migrations
COPY scripts ./scripts
COPY frontend ./frontend
RUN npm run build

# --- runtime: production dependencies and the build output only ---
FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=build /app/frontend/dist ./frontend/dist
# The image's unprivileged user; the app writes nothing to disk.
USER node
# API and socket.io; the dashboard (gateway with SERVE_UI=true).
EXPOSE 8000 3000
# gateway: GET /health/live; orders/payments: the node answers a ping in the cluster.
HEALTHCHECK --interval=15s --timeout=10s --start-period=60s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
CMD ["node", "dist/scripts/node.js"]
