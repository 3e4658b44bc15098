-- Group versions are stream entry IDs packed into one number, ms * 2^64 + seq,
-- so that numeric comparison orders them exactly as Redis orders entry IDs
-- (both parts are unsigned 64-bit integers, too wide for bigint).
CREATE FUNCTION tokensync_version(id text) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT split_part(id, '-', 1)::numeric * 18446744073709551616 + split_part(id, '-', 2)::numeric $$;

-- The inverse, for people reading the table: SELECT tokensync_stream_id(market_version) …
CREATE FUNCTION tokensync_stream_id(version numeric) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT div(version, 18446744073709551616)::text || '-' || mod(version, 18446744073709551616)::text $$;

-- One row per mint. Only the primary key is indexed, so every update that
-- finds room on its page is a HOT update (no index write); fillfactor 70
-- leaves that room. Fixed-width columns come first so that no alignment
-- padding sits between them.
CREATE TABLE tokens (
    first_seen_at     timestamptz NOT NULL, -- earliest event time seen for the mint
    updated_at        timestamptz NOT NULL, -- commit of the flush that last changed the row
    created_at        timestamptz,          -- token group
    migrated_at       timestamptz,          -- migration group
    mint              text PRIMARY KEY,
    -- token group, owned by "token" events
    token_version     numeric,
    name              text,
    symbol            text,
    uri               text,
    creator           text,
    -- pool group, owned by "pool" and "migration" events
    pool_version      numeric,
    pool_address      text,
    dex               text,
    -- migration group, owned by "migration" events (migrated_at above)
    migration_version numeric,
    -- market group, owned by "market" events
    market_version    numeric,
    price_usd         numeric,
    market_cap_usd    numeric,
    liquidity_usd     numeric,
    volume_24h_usd    numeric
) WITH (fillfactor = 70);

COMMENT ON TABLE tokens IS 'tokensync: one row per mint; each column group holds the event with the highest stream entry ID that owns it';
