-- pg_stat_wal exists since PostgreSQL 14; the LSN lets a caller measure WAL
-- between two snapshots without it.
SELECT wal_records, wal_fpi, wal_bytes::bigint, pg_current_wal_lsn()::text,
       current_setting('server_version_num')::int
FROM pg_stat_wal
