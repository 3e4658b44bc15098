-- PostgreSQL 17 and later moved them to pg_stat_checkpointer.
SELECT num_timed, num_requested,
       write_time, sync_time,
       buffers_written
FROM pg_stat_checkpointer
