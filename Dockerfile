# syntax=docker/dockerfile:1

# Build a static binary; nomsgpack drops gin's msgpack codec (smaller, faster build).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -tags nomsgpack -trimpath -ldflags="-s -w" -o /out/greyrouter ./cmd/greyrouter \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/greyrouter /greyrouter
COPY --from=build --chown=65532:65532 /out/data /var/lib/greyrouter
ENV GREYROUTER_DATA_DIR=/var/lib/greyrouter
VOLUME ["/var/lib/greyrouter"]
EXPOSE 8080
# distroless has no shell or wget: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s CMD ["/greyrouter", "healthcheck"]
USER nonroot:nonroot
ENTRYPOINT ["/greyrouter"]
CMD ["serve"]
