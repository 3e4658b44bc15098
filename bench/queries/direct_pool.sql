-- direct_pool: one autocommit upsert of a pool event's columns.
INSERT INTO tokens AS t (mint, first_seen_at, updated_at,
                         pool_version, pool_address, dex)
VALUES ($1, $2, now(),
        tokensync_version($3), $4, $5)
ON CONFLICT (mint) DO UPDATE SET
    pool_version = excluded.pool_version,
    pool_address = excluded.pool_address,
    dex          = excluded.dex,
    updated_at   = excluded.updated_at
