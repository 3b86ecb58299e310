# syntax=docker/dockerfile:1
# Securo Webhooks: one static binary; `securo api` and `securo worker` run
# from the same image (docker-compose.yml).

# Build: pure Go (the SQLite driver needs no cgo), so the binary is static.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/securo ./cmd/securo

# Run: the binary, CA certificates and a non-root user; no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/securo /securo
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/securo"]
CMD ["api"]
