#!/usr/bin/env bash
# Append one example event of each type (token, pool, migration, market) to the
# tokensync stream with plain redis-cli XADD, showing the wire format: flat
# fields, `type` and `mint` always, the type's own fields, optional `ts`.
# Times are RFC 3339 or Unix milliseconds; prices are decimal strings.
#
# Usage: scripts/xadd-examples.sh [--with-bad]
#   --with-bad  also append one malformed entry the consumer must reject
#
# Environment:
#   TOKENSYNC_STREAM     stream key (default tokensync:events)
#   TOKENSYNC_REDIS_URL  Redis to write to (default: redis-cli's, 127.0.0.1:6379)
set -euo pipefail

with_bad=false
for arg in "$@"; do
	case $arg in
	--with-bad) with_bad=true ;;
	-h | --help)
		sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "xadd-examples: unknown argument $arg" >&2
		exit 2
		;;
	esac
done

stream=${TOKENSYNC_STREAM:-tokensync:events}
cli=(redis-cli)
if [[ -n "${TOKENSYNC_REDIS_URL:-}" ]]; then
	cli+=(-u "$TOKENSYNC_REDIS_URL")
fi
mint=So11111111111111111111111111111111111111112
pool=58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2

xadd() {
	local id
	id=$("${cli[@]}" XADD "$stream" '*' "$@")
	# redis-cli exits 0 even on an error reply; an entry ID means success.
	if [[ ! $id =~ ^[0-9]+-[0-9]+$ ]]; then
		echo "xadd-examples: XADD failed: $id" >&2
		exit 1
	fi
	echo "$id $*"
}

xadd type token mint "$mint" \
	name "Wrapped SOL" symbol SOL uri "https://example.com/sol.json" \
	creator 11111111111111111111111111111111 \
	created_at 2024-05-01T12:00:00Z \
	ts 2024-05-01T12:00:00Z

xadd type pool mint "$mint" pool "$pool" dex raydium

xadd type migration mint "$mint" pool "$pool" dex raydium \
	migrated_at 1714564800000 ts 1714564800000

xadd type market mint "$mint" \
	price_usd 152.37 market_cap_usd 71234567890.12 \
	liquidity_usd 1250000.5 volume_24h_usd 3.5e9

if $with_bad; then
	# Deliberately malformed: "trade" is not an event type. The consumer
	# should reject this entry rather than store it.
	xadd type trade mint "$mint" price_usd 1
fi
