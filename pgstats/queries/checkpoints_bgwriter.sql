-- PostgreSQL 14 to 16: checkpoint statistics live in pg_stat_bgwriter.
SELECT checkpoints_timed, checkpoints_req,
       checkpoint_write_time, checkpoint_sync_time,
       buffers_checkpoint
FROM pg_stat_bgwriter
