# syntax=docker/dockerfile:1
# gyre's container image: `gyre serve`, without the embedded control plane.
#
#   docker build --build-arg VERSION=v0.1.0 -t ghcr.io/gyre-cd/gyre:v0.1.0 .
#
# The build tag nolocalcluster leaves `gyre up` (etcd, kube-apiserver and the
# controllers linked in as libraries) out of the binary: a pod talks to the
# cluster it runs in and has no use for them.

FROM golang:1.26-bookworm AS build
ARG VERSION=dev
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -tags nolocalcluster -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/gyre ./cmd/gyre

# distroless static: CA certificates, /etc/passwd with the nonroot user
# (65532), no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gyre /gyre
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/gyre"]
CMD ["serve"]
