# The API and the worker in one image (the command picks the process):
#   docker build -t flash-sale .
#   docker run flash-sale node dist/main.js      # API
#   docker run flash-sale node --max-old-space-size=256 --max-semi-space-size=16 dist/worker.js    # worker (WORKER_QUEUES picks its queues)
#   docker run flash-sale node dist/migrate.js deploy
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY prisma ./prisma
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
USER node
EXPOSE 3000
CMD ["node", "--max-old-space-size=256", "--max-semi-space-size=8", "dist/main.js"]
