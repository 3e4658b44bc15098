# syntax=docker/dockerfile:1
# tokensync: one static binary; the command (migrate, consume, produce) picks
# the role.

FROM golang:1.26 AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags='-s -w' -o /out/tokensync ./cmd/tokensync

# scratch plus CA certificates (for TLS to hosted Redis or PostgreSQL), run as
# an unprivileged user.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tokensync /tokensync
USER 65532:65532
ENTRYPOINT ["/tokensync"]
