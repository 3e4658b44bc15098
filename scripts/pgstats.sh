#!/usr/bin/env bash
# What `tokensync pgstats` reads, with psql: checkpoints, WAL and the HOT
# share of the tokens table. For an interval, run it twice and subtract, or
# use `tokensync pgstats --since 30s`.
#
#   scripts/pgstats.sh [psql connection args...]   e.g. scripts/pgstats.sh -h 127.0.0.1 -U postgres tokensync
set -euo pipefail

# PostgreSQL 17 moved the checkpoint columns to pg_stat_checkpointer.
v17=$(psql -X -At "$@" -c "SELECT current_setting('server_version_num')::int >= 170000")

psql -X -v v17="$v17" "$@" <<'SQL'
\echo == checkpoints
\if :v17
SELECT num_timed AS checkpoints_timed, num_requested AS checkpoints_requested,
       write_time AS checkpoint_write_ms, sync_time AS checkpoint_sync_ms,
       buffers_written AS buffers_checkpoint
FROM pg_stat_checkpointer;
\else
SELECT checkpoints_timed, checkpoints_req AS checkpoints_requested,
       checkpoint_write_time AS checkpoint_write_ms, checkpoint_sync_time AS checkpoint_sync_ms,
       buffers_checkpoint
FROM pg_stat_bgwriter;
\endif
\echo == WAL
SELECT wal_records, wal_fpi, pg_size_pretty(wal_bytes) AS wal_bytes, pg_current_wal_lsn() AS lsn, stats_reset
FROM pg_stat_wal;
\echo == tokens table
SELECT n_tup_ins AS inserts, n_tup_upd AS updates, n_tup_hot_upd AS hot_updates,
       round(100.0 * n_tup_hot_upd / nullif(n_tup_upd, 0), 1) AS hot_percent, n_dead_tup AS dead_tuples
FROM pg_stat_user_tables WHERE relname = 'tokens';
SQL
