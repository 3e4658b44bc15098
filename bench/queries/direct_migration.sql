-- direct_migration: one autocommit upsert of a migration event's columns
-- (it owns the pool columns too).
INSERT INTO tokens AS t (mint, first_seen_at, updated_at,
                         pool_version, pool_address, dex,
                         migration_version, migrated_at)
VALUES ($1, $2, now(),
        tokensync_version($3), $4, $5,
        tokensync_version($3), $6)
ON CONFLICT (mint) DO UPDATE SET
    pool_version      = excluded.pool_version,
    pool_address      = excluded.pool_address,
    dex               = excluded.dex,
    migration_version = excluded.migration_version,
    migrated_at       = excluded.migrated_at,
    updated_at        = excluded.updated_at
