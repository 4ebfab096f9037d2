# syntax=docker/dockerfile:1
# SPDX-License-Identifier: Apache-2.0
#
# Container image of libvirt-exporter:
#   docker build -t libvirt-exporter:0.1.0 --build-arg REVISION=$(git rev-parse --short=12 HEAD) .
#   docker run --rm --user 0 -v /var/run/libvirt:/var/run/libvirt:ro -p 9177:9177 libvirt-exporter:0.1.0
# (--user 0: libvirtd lets root use its read-only socket without polkit; see the chart's values.yaml.)
#
# The steps live in scripts/container.sh; test/integration/container-image.test.ts runs this file's
# COPY/RUN/ENTRYPOINT steps in temporary directories, since CI has no container engine.

# The official Node.js 20 image (Debian 12, as the compute nodes). Pin a digest here for reproducible builds.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: all dependencies, TypeScript compiled into dist/ -----------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY scripts/container.sh scripts/
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN --mount=type=cache,target=/root/.npm sh scripts/container.sh build

# --- runtime: production dependencies and dist/ only -------------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="libvirt-exporter" \
      org.opencontainers.image.description="Prometheus exporter and Ceilometer-compatible AMQP publisher for the libvirt guests of OpenStack compute nodes" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="docker.io/library/node:20-bookworm-slim"
# The revision for --version and libvirt_exporter_build_info: the image has no git to ask.
ENV NODE_ENV=production \
    LIBVIRT_EXPORTER_REVISION="${REVISION}"
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/container.sh scripts/
# The npm cache stays out of the image (a BuildKit cache mount).
RUN --mount=type=cache,target=/root/.npm sh scripts/container.sh install
COPY --from=build /src/dist/ dist/
# Non-root by default (uid 1000 of the Node.js image). Reading libvirt-sock-ro takes root or a libvirt
# group/polkit rule on the host; the Helm chart runs the container as root with no capabilities.
USER node
EXPOSE 9177
# The exporter is PID 1 and needs no init: it handles SIGTERM and SIGINT itself (finishes scrapes in
# flight, flushes the publisher, exits) and SIGHUP (reloads its configuration), and starts no child
# process that would need reaping (LIBVIRT_EXPORTER_REVISION spares it from asking git).
ENTRYPOINT ["node", "dist/main.js"]
