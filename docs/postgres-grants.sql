-- Least-privilege PostgreSQL roles for tokensync, step 2 of 2: after
-- `tokensync migrate` ran as the owner, let the app role read the migration
-- ledger (the consumer checks it at start) and upsert tokens. No DELETE, no
-- DDL, no TRUNCATE. Run as the owner, with the variables of step 1:
--
--   psql -v schema=public -v app=tokensync_app -f docs/postgres-grants.sql

GRANT SELECT ON :"schema".tokensync_migrations TO :"app";
GRANT SELECT, INSERT, UPDATE ON :"schema".tokens TO :"app";
