#!/usr/bin/env bash
# The backlog with plain redis-cli, for hosts without the tokensync binary:
# what `tokensync backlog` prints, as raw command output.
#
#   scripts/backlog.sh [stream] [group]       (defaults: tokensync:events tokensync)
#
# redis-cli connection flags come from REDISCLI_ARGS, e.g.
#   REDISCLI_ARGS="-h redis.internal -p 6379 --user tokensync --askpass" scripts/backlog.sh
set -euo pipefail

stream=${1:-${TOKENSYNC_STREAM:-tokensync:events}}
group=${2:-${TOKENSYNC_GROUP:-tokensync}}
# shellcheck disable=SC2086 # REDISCLI_ARGS is a list of flags
cli() { redis-cli ${REDISCLI_ARGS:-} "$@"; }

echo "== XLEN $stream (entries in the stream)"
cli XLEN "$stream"
echo
echo "== XLEN $stream:dead (dead letters)"
cli XLEN "$stream:dead"
echo
echo "== XINFO GROUPS $stream (per group: lag = unread, pending = read and not acknowledged)"
cli XINFO GROUPS "$stream"
echo
echo "== XINFO CONSUMERS $stream $group (per consumer: pending, idle ms)"
cli XINFO CONSUMERS "$stream" "$group"
echo
echo "== XPENDING $stream $group (count, oldest and newest pending ID, per consumer)"
cli XPENDING "$stream" "$group"
echo
echo "== XPENDING $stream $group IDLE 30000 - + 10 (pending entries idle for 30 s or more)"
cli XPENDING "$stream" "$group" IDLE 30000 - + 10
echo
echo "== heartbeats (live consumers; the others are taken over after TOKENSYNC_CLAIM_IDLE)"
cli --scan --pattern "$stream:alive:$group:*"
