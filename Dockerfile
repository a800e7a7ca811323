# cloudstart as a container image: a static musl binary on an empty base, with the Mozilla CA bundle,
# LICENSE and THIRD-PARTY-LICENSES, running as a non-root user.
#
#   docker build -t cloudstart --build-arg CLOUDSTART_BUILD_COMMIT="$(git rev-parse --short=12 HEAD)" .
#   docker buildx build --platform linux/amd64,linux/arm64 .    # both images (arm64 under QEMU elsewhere)
#   docker run --rm cloudstart demo
#
# The build context holds no .git (.dockerignore), so without the build argument `--version` reports
# the commit as `unknown` (build.rs).

# Alpine's Rust targets musl natively, and Rust links musl binaries statically by default.
FROM rust:1-alpine AS build
# ring compiles C and assembly against musl-dev; python3 runs scripts/third-party-licenses.py;
# ca-certificates is the bundle the final image ships. Alpine's packages move on: versions not pinned.
# hadolint ignore=DL3018
RUN apk add --no-cache ca-certificates musl-dev python3
WORKDIR /src
# The dependencies first, in a layer of their own: built against stand-in sources, so that a change
# to src/ rebuilds only cloudstart itself, and the layer is reused (locally, and from the GitHub
# Actions cache in CI) until Cargo.toml, Cargo.lock or build.rs change. `--locked` as for the binary.
COPY Cargo.toml Cargo.lock build.rs ./
RUN mkdir -p src benches \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs benches/signing.rs \
 && cargo build --locked --release \
 && rm -rf src benches
COPY LICENSE ./
COPY src src
COPY benches benches
COPY scripts/third-party-licenses.py scripts/
ARG CLOUDSTART_BUILD_COMMIT
# COPY keeps the files' own modification times, which may be older than the stand-ins' build: touched,
# so cargo rebuilds cloudstart from the real sources instead of taking the stand-in as fresh.
RUN touch src/main.rs src/lib.rs \
 && cargo build --locked --release \
 && python3 scripts/third-party-licenses.py > THIRD-PARTY-LICENSES \
 && target/release/cloudstart --version | grep "^cloudstart "

FROM scratch
# The binary trusts the Mozilla roots compiled into it (webpki-roots) and, through SSL_CERT_FILE, the
# bundle below as well; point SSL_CERT_FILE (or --ca-bundle) at a mounted PEM file to trust a
# corporate CA instead of this bundle.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/target/release/cloudstart /usr/local/bin/cloudstart
COPY --from=build /src/LICENSE /src/THIRD-PARTY-LICENSES /usr/share/doc/cloudstart/
ENV PATH=/usr/local/bin \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# The canonical-repository placeholder of Cargo.toml; the release workflow labels the images it pushes
# with the real repository (docker/metadata-action).
LABEL org.opencontainers.image.title="cloudstart" \
      org.opencontainers.image.description="Start stopped cloud machines on five clouds with one syntax, and wait until they are RUNNING" \
      org.opencontainers.image.source="https://github.com/cloudstart/cloudstart" \
      org.opencontainers.image.licenses="MIT"
# distroless's `nonroot` IDs; scratch has no /etc/passwd, so numeric IDs are the only kind that works.
USER 65532:65532
ENTRYPOINT ["cloudstart"]
CMD ["--help"]
