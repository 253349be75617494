# mcpm in a container: `mcpm mcp serve --http` for agents, with the engine's
# socket mounted (or DOCKER_HOST pointing at a Docker-in-Docker engine).
#
# Access to the engine socket is root on the host: whoever reaches this
# server with a token can do what its role allows, and mcpm's roles
# (read < operate < admin) are the only guard. Give agents `read` tokens.
#
#   docker build -t mcpm .                              # from source (needs a registry)
#   docker build --target prebuilt -t mcpm CONTEXT_DIR  # CONTEXT_DIR holds a built `mcpm`
#
# Base images are build arguments so an offline machine can use images it made
# itself (`docker import` of a debootstrap rootfs): RUNTIME_IMAGE must be a
# glibc Debian 12 (bookworm) or newer with /bin/sh; RUST_IMAGE a Rust toolchain
# with a C compiler (ring and mimalloc build C code).
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# The runtime without mcpm: an unprivileged user and a writable /config.
FROM ${RUNTIME_IMAGE} AS base
ARG MCPM_UID=10001
ARG MCPM_VERSION=0.1.0
# /config is mcpm's config dir (tokens, audit log, profiles): the only place it
# writes, so the root filesystem can be read-only. A volume mounted there
# inherits the ownership set here.
RUN mkdir -p /config && chown "${MCPM_UID}:${MCPM_UID}" /config && chmod 0700 /config
ENV MCPM_CONFIG_DIR=/config \
    HOME=/config \
    NO_COLOR=1
WORKDIR /config
VOLUME ["/config"]
USER ${MCPM_UID}:${MCPM_UID}
EXPOSE 8080
LABEL org.opencontainers.image.title="mcpm" \
      org.opencontainers.image.description="Profiles of MCP servers as Docker Compose deployments; mcpm mcp serve for agents" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${MCPM_VERSION}"
ENTRYPOINT ["/usr/local/bin/mcpm"]
CMD ["mcp", "serve", "--http", "0.0.0.0:8080"]

# A binary built outside (offline machines, CI that already built one): the
# build context is a directory holding `mcpm` (a glibc build for the runtime).
FROM base AS prebuilt
# (No --chmod: the classic builder has none; the file must be executable.)
COPY mcpm /usr/local/bin/mcpm

# The build from source. `--locked`: exactly the dependencies of Cargo.lock.
FROM ${RUST_IMAGE} AS builder
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin mcpm \
    && install -m 0755 target/release/mcpm /mcpm

# The default target: the runtime with the binary built above.
FROM base AS runtime
COPY --from=builder /mcpm /usr/local/bin/mcpm
