#!/usr/bin/env bash
# Quick start: build bin/tokensync, create and migrate the database, then run a
# synthetic producer in the background and a consumer in the foreground until
# Ctrl-C. SIGINT and SIGTERM are passed on to the consumer, which flushes its
# pending writes and exits; the producer is stopped when the consumer exits.
#
# Environment:
#   TOKENSYNC_REDIS_URL     Redis to use (tokensync's default when unset)
#   TOKENSYNC_DATABASE_URL  PostgreSQL database to write to; default
#                           postgres://postgres@127.0.0.1:5432/tokensync?sslmode=disable
#   RATE                    synthetic events per second (default 2000)
#   MIX                     synthetic type mix (see tokensync produce -h)
#   TOKENSYNC_LOG_FORMAT    log format (default console)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

: "${TOKENSYNC_DATABASE_URL=postgres://postgres@127.0.0.1:5432/tokensync?sslmode=disable}"
: "${TOKENSYNC_LOG_FORMAT:=console}"
RATE=${RATE:-2000}
export TOKENSYNC_DATABASE_URL TOKENSYNC_LOG_FORMAT

echo "run: building bin/tokensync"
go build -o bin/tokensync ./cmd/tokensync

echo "run: migrating"
bin/tokensync migrate

# Children get their own process groups, so a Ctrl-C reaches them only through
# the forwarding below (once), not straight from the terminal as well.
set -m

producer=""
consumer=""

stop_producer() {
	if [[ -n "$producer" ]] && kill -0 "$producer" 2>/dev/null; then
		echo "run: stopping producer"
		kill -TERM "$producer" 2>/dev/null || true
		wait "$producer" 2>/dev/null || true
	fi
	producer=""
}

forward() {
	if [[ -n "$consumer" ]]; then
		kill -"$1" "$consumer" 2>/dev/null || true
	fi
}

trap stop_producer EXIT
trap 'forward INT' INT
trap 'forward TERM' TERM

echo "run: producing $RATE events/s (synthetic)"
# Migrations are urgent (flushed within TOKENSYNC_URGENT_DELAY); keep them rare,
# as in real traffic, so the demo shows windows of TOKENSYNC_FLUSH_INTERVAL.
bin/tokensync produce --synthetic --rate "$RATE" --count 0 \
	--mix "${MIX:-market=8500,token=1000,pool=499,migration=1}" &
producer=$!

echo "run: consuming; Ctrl-C to stop"
bin/tokensync consume &
consumer=$!

# wait returns early when a trapped signal arrives; keep waiting until the
# consumer has really exited, then pass on its exit status.
status=0
while kill -0 "$consumer" 2>/dev/null; do
	if wait "$consumer"; then status=0; else status=$?; fi
done
consumer=""
echo "run: consumer exited with status $status"
exit "$status"
