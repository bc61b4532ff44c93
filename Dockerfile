# syntax=docker/dockerfile:1
# newsalert: one image for every role (serve, ingest, enrich, fanout, deliver, ticker, topics ensure).
#   docker build -t newsalert:latest .
#   docker run --rm newsalert:latest --help

ARG SWIFT_IMAGE=swift:6.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build ------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka-dev libsqlite3-dev pkg-config iso-codes \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so editing Sources/ does not refetch them. Package.resolved is optional.
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
COPY Sources ./Sources
# Package.swift declares the test targets too; their folders must exist for the manifest to load.
COPY Tests ./Tests
# The Swift runtime and Foundation are linked in, so the runtime image needs no Swift toolchain.
RUN swift build -c release --product newsalert --static-swift-stdlib \
 && mkdir -p /out \
 && cp "$(swift build -c release --show-bin-path)/newsalert" /out/ \
 && cp -R "$(swift build -c release --show-bin-path)"/*.resources /out/

# ---- runtime ----------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# librdkafka1: Kafka client; libsqlite3-0: the data directory's database;
# iso-codes: the gazetteer reads /usr/share/iso-codes/json; curl: container health checks.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 libsqlite3-0 iso-codes ca-certificates tzdata curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 newsalert \
 && useradd --system --uid 10001 --gid newsalert --home-dir /var/lib/newsalert --shell /usr/sbin/nologin newsalert \
 && mkdir -p /var/lib/newsalert \
 && chown newsalert:newsalert /var/lib/newsalert
# The resource bundles must sit next to the executable, where Bundle.module looks for them.
COPY --from=build /out/ /opt/newsalert/
ENV PATH=/opt/newsalert:$PATH \
    NEWSALERT_DATA_DIR=/var/lib/newsalert \
    NEWSALERT_HOST=0.0.0.0 \
    NEWSALERT_PORT=8080
USER 10001:10001
WORKDIR /var/lib/newsalert
VOLUME ["/var/lib/newsalert"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=6 \
  CMD curl -fsS "http://127.0.0.1:${NEWSALERT_PORT}/healthz" >/dev/null || exit 1
ENTRYPOINT ["/opt/newsalert/newsalert"]
CMD ["serve"]
