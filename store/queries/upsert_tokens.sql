-- upsert_tokens applies one coalesced flush: one row per mint, each column
-- group carrying the entry ID of the newest event the flush saw for it, or ''
-- when the flush saw none. Empty strings are NULL, as on the wire.
WITH input AS (
    SELECT i.mint,
           tokensync_version(nullif(i.token_v, '')) AS token_version,
           nullif(i.name, '') AS name,
           nullif(i.symbol, '') AS symbol,
           nullif(i.uri, '') AS uri,
           nullif(i.creator, '') AS creator,
           i.created_at,
           tokensync_version(nullif(i.pool_v, '')) AS pool_version,
           nullif(i.pool_address, '') AS pool_address,
           nullif(i.dex, '') AS dex,
           tokensync_version(nullif(i.migration_v, '')) AS migration_version,
           i.migrated_at,
           tokensync_version(nullif(i.market_v, '')) AS market_version,
           nullif(i.price_usd, '')::numeric AS price_usd,
           nullif(i.market_cap_usd, '')::numeric AS market_cap_usd,
           nullif(i.liquidity_usd, '')::numeric AS liquidity_usd,
           nullif(i.volume_24h_usd, '')::numeric AS volume_24h_usd,
           i.first_seen_at
    FROM unnest($1::text[],
                $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
                $8::text[], $9::text[], $10::text[],
                $11::text[], $12::timestamptz[],
                $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
                $18::timestamptz[])
         AS i(mint,
              token_v, name, symbol, uri, creator, created_at,
              pool_v, pool_address, dex,
              migration_v, migrated_at,
              market_v, price_usd, market_cap_usd, liquidity_usd, volume_24h_usd,
              first_seen_at)
),
fresh AS (
    -- Drop rows that hold nothing newer than the table before INSERT … ON
    -- CONFLICT sees them: its WHERE runs only after the row is locked, and a
    -- lock is a WAL record (and after a checkpoint a full-page image).
    -- Sorting by key makes replicas lock shared rows in one order: no deadlocks.
    SELECT input.*
    FROM input LEFT JOIN tokens t ON t.mint = input.mint
    WHERE t.mint IS NULL
       OR input.token_version > coalesce(t.token_version, -1)
       OR input.pool_version > coalesce(t.pool_version, -1)
       OR input.migration_version > coalesce(t.migration_version, -1)
       OR input.market_version > coalesce(t.market_version, -1)
       OR input.first_seen_at < t.first_seen_at
    ORDER BY input.mint COLLATE "C"
)
INSERT INTO tokens AS t (
    mint, first_seen_at, updated_at,
    token_version, name, symbol, uri, creator, created_at,
    pool_version, pool_address, dex,
    migration_version, migrated_at,
    market_version, price_usd, market_cap_usd, liquidity_usd, volume_24h_usd)
SELECT mint, first_seen_at, now(),
       token_version, name, symbol, uri, creator, created_at,
       pool_version, pool_address, dex,
       migration_version, migrated_at,
       market_version, price_usd, market_cap_usd, liquidity_usd, volume_24h_usd
FROM fresh
-- The filter above read a snapshot; another replica may have committed a newer
-- version since. These per-group guards decide against the locked, current
-- row, so the newest entry ID wins whatever the order of commits.
ON CONFLICT (mint) DO UPDATE SET
    token_version     = greatest(t.token_version, excluded.token_version),
    name              = CASE WHEN excluded.token_version > coalesce(t.token_version, -1) THEN excluded.name ELSE t.name END,
    symbol            = CASE WHEN excluded.token_version > coalesce(t.token_version, -1) THEN excluded.symbol ELSE t.symbol END,
    uri               = CASE WHEN excluded.token_version > coalesce(t.token_version, -1) THEN excluded.uri ELSE t.uri END,
    creator           = CASE WHEN excluded.token_version > coalesce(t.token_version, -1) THEN excluded.creator ELSE t.creator END,
    created_at        = CASE WHEN excluded.token_version > coalesce(t.token_version, -1) THEN excluded.created_at ELSE t.created_at END,
    pool_version      = greatest(t.pool_version, excluded.pool_version),
    pool_address      = CASE WHEN excluded.pool_version > coalesce(t.pool_version, -1) THEN excluded.pool_address ELSE t.pool_address END,
    dex               = CASE WHEN excluded.pool_version > coalesce(t.pool_version, -1) THEN excluded.dex ELSE t.dex END,
    migration_version = greatest(t.migration_version, excluded.migration_version),
    migrated_at       = CASE WHEN excluded.migration_version > coalesce(t.migration_version, -1) THEN excluded.migrated_at ELSE t.migrated_at END,
    market_version    = greatest(t.market_version, excluded.market_version),
    price_usd         = CASE WHEN excluded.market_version > coalesce(t.market_version, -1) THEN excluded.price_usd ELSE t.price_usd END,
    market_cap_usd    = CASE WHEN excluded.market_version > coalesce(t.market_version, -1) THEN excluded.market_cap_usd ELSE t.market_cap_usd END,
    liquidity_usd     = CASE WHEN excluded.market_version > coalesce(t.market_version, -1) THEN excluded.liquidity_usd ELSE t.liquidity_usd END,
    volume_24h_usd    = CASE WHEN excluded.market_version > coalesce(t.market_version, -1) THEN excluded.volume_24h_usd ELSE t.volume_24h_usd END,
    first_seen_at     = least(t.first_seen_at, excluded.first_seen_at),
    updated_at        = excluded.updated_at
WHERE excluded.token_version > coalesce(t.token_version, -1)
   OR excluded.pool_version > coalesce(t.pool_version, -1)
   OR excluded.migration_version > coalesce(t.migration_version, -1)
   OR excluded.market_version > coalesce(t.market_version, -1)
   OR excluded.first_seen_at < t.first_seen_at
