# One image for every Damselfly role; the subcommand picks the role:
#   docker run damselfly:dev scheduler | seed | daemon | get URL -O PATH
FROM node:22-bookworm-slim
WORKDIR /app
COPY . .
RUN npm ci && npm run build && npm cache clean --force
# libp2p 65000, proxy 65001, local API 65002, metrics 65003, data channel 65004; scheduler HTTP 8002, libp2p 8003
EXPOSE 8002 8003 65000 65001 65002 65003 65004
ENTRYPOINT ["node", "--heap-growing-percent=300", "--max-semi-space-size=8", "cli/dist/src/damselfly.js"]
CMD ["--help"]
