# syntax=docker/dockerfile:1
# SPDX-License-Identifier: Apache-2.0
#
# Container image of libvirt-exporter: the exporter bundled into one JavaScript file (esbuild) on a
# distroless Node.js 24 LTS base, with no npm, no node_modules, no shell and no package manager.
# Build it with the version from package.json and the revision from git:
#   sh scripts/container.sh image                   (docker; CONTAINER_ENGINE=podman for podman)
#   docker run --rm --user 0 --cap-drop=ALL --read-only -v /run/libvirt:/run/libvirt:ro \
#     -p 9177:9177 libvirt-exporter:VERSION
# (--user 0: libvirtd lets root use its read-only socket without polkit; see docs/install.md.)
#
# The steps live in scripts/container.sh; test/integration/container-image.test.ts runs this file's
# COPY/RUN/ENTRYPOINT steps in temporary directories, since CI has no container engine.

# Both bases are pinned by digest and follow scripts/node.sh's Node.js major (the test checks it).
ARG BUILD_IMAGE=node:24-bookworm-slim@sha256:0e0ff40c39bc087845bfb27465a0df4ea419520094bc35842ff83dd8cbe6f9b6
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12@sha256:ac05a8febf24b547f09068149fcd6a071f69629cb2148b6f707a157e7f4c6306

# --- build: all dependencies, then src/ bundled into dist/bundle/ -------------------------------------
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY scripts/container.sh scripts/bundle.ts scripts/
COPY src/ src/
# The revision is written into the bundle (the build context has no .git to ask).
ARG REVISION=unknown
RUN --mount=type=cache,target=/root/.npm LIBVIRT_EXPORTER_REVISION="${REVISION}" sh scripts/container.sh build

# --- runtime: Node.js and the bundle, nothing else -----------------------------------------------------
FROM ${RUNTIME_IMAGE}
ARG RUNTIME_IMAGE
ARG VERSION=unset
ARG REVISION=unknown
ARG SOURCE=""
LABEL org.opencontainers.image.title="libvirt-exporter" \
      org.opencontainers.image.description="Prometheus exporter and Ceilometer-compatible AMQP publisher for the libvirt guests of OpenStack compute nodes" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
# MALLOC_ARENA_MAX=2: glibc's malloc with two arenas instead of up to eight per core (the threads of V8
# and libuv each got one, about 4 MiB of resident memory more; bench/footprint.ts). Read at start.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2
WORKDIR /app
COPY --from=build /src/dist/bundle/ /app/
# Non-root by default (distroless's "nonroot", 65532). Reading libvirt-sock-ro takes root or a polkit
# rule on the host; the Helm chart runs the container as root with no capabilities.
USER 65532:65532
EXPOSE 9177
# The exporter is PID 1 and needs no init: it handles SIGTERM and SIGINT itself (finishes scrapes in
# flight, flushes the publisher, exits) and SIGHUP (reloads its configuration), and starts no child
# process that would need reaping.
# --single-threaded: V8's compilers and garbage collector on the main thread, about 8 MiB less resident
# memory (DAEMON_NODE_OPTIONS of src/heap.ts; V8 reads it before any script runs).
ENTRYPOINT ["/nodejs/bin/node", "--single-threaded", "/app/libvirt-exporter.cjs"]
