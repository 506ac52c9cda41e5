# llmload in a container, for Kubernetes (deploy/kubernetes/).
#   docker build -t ghcr.io/llmload/llmload:0.1.0 .
# Build stage: the release binary, from the locked dependencies.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p llmload

# Run stage: glibc and CA certificates, no shell, not root.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/llmload /usr/local/bin/llmload
ENTRYPOINT ["/usr/local/bin/llmload"]
