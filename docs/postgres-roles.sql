-- Least-privilege PostgreSQL roles for tokensync, step 1 of 2: the roles.
-- Run as a superuser or the database owner:
--
--   psql -v db=tokensync -v schema=public -v owner=tokensync_owner -v app=tokensync_app \
--        -f docs/postgres-roles.sql
--
-- then `tokensync migrate` as the owner, then docs/postgres-grants.sql.
-- Set passwords with \password. The owner only runs `tokensync migrate`; the
-- app role runs `consume`, `replay` and `pgstats`.

CREATE ROLE :"owner" LOGIN;
CREATE ROLE :"app" LOGIN;
GRANT CONNECT ON DATABASE :"db" TO :"owner", :"app";
-- Migrations create tables and functions in the schema.
GRANT USAGE, CREATE ON SCHEMA :"schema" TO :"owner";
GRANT USAGE ON SCHEMA :"schema" TO :"app";
