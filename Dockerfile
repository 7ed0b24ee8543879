# syntax=docker/dockerfile:1
#
# The `pitchin` server in a small Debian image. Build with `docker build -t pitchin .`
# (or `docker compose build`); run with PostgreSQL via docker-compose.yml.

# --- build -------------------------------------------------------------------------------------------------------
# The workspace's rust-version is 1.94; any newer stable compiler builds it. Bookworm, to match the runtime's glibc.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the crates.io downloads and the compiled dependencies between builds, so a change to our own
# code recompiles only our crates. (Simpler than the stub-the-sources trick, which breaks as workspace members
# change; needs BuildKit, the default builder since Docker 23.) The target directory is a cache mount, so the binary
# is copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin pitchin \
    && cp target/release/pitchin /usr/local/bin/pitchin

# --- runtime -----------------------------------------------------------------------------------------------------
FROM debian:bookworm-slim
# TLS is rustls, so no OpenSSL; ca-certificates for TLS connections to a managed database, curl for HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed numeric id, so orchestrators that insist on runAsNonRoot can check it.
RUN groupadd --system --gid 10001 pitchin \
    && useradd --system --uid 10001 --gid pitchin --home-dir /app --create-home --shell /usr/sbin/nologin pitchin
COPY --from=build /usr/local/bin/pitchin /usr/local/bin/pitchin
USER 10001:10001
# Writable by the user: the default DATABASE_URL (sqlite://pitchin.db?mode=rwc) creates its file here. That file
# lives and dies with the container; mount a volume on /app, or use PostgreSQL, to keep data.
WORKDIR /app
ENV PITCHIN_BIND=0.0.0.0:8000
EXPOSE 8000
# /healthz: the process is up. (docker-compose.yml checks /readyz, which also needs the database.) The start period
# covers the migrations that `serve` runs before it listens.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8000/healthz || exit 1
# Exec form: pitchin is PID 1 and handles SIGTERM itself (graceful shutdown in api::serve).
ENTRYPOINT ["pitchin"]
CMD ["serve"]
