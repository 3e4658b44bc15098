-- Write statistics of the tokens table in the current schema.
SELECT coalesce(sum(n_tup_ins), 0)::bigint, coalesce(sum(n_tup_upd), 0)::bigint, coalesce(sum(n_tup_hot_upd), 0)::bigint
FROM pg_stat_user_tables
WHERE relname = 'tokens' AND schemaname = current_schema()
