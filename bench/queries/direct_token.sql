-- direct_token is the write path tokensync replaces: one autocommit upsert
-- per event, of that event's columns, without coalescing or version guard.
INSERT INTO tokens AS t (mint, first_seen_at, updated_at,
                         token_version, name, symbol, uri, creator, created_at)
VALUES ($1, $2, now(),
        tokensync_version($3), $4, $5, $6, $7, $8)
ON CONFLICT (mint) DO UPDATE SET
    token_version = excluded.token_version,
    name          = excluded.name,
    symbol        = excluded.symbol,
    uri           = excluded.uri,
    creator       = excluded.creator,
    created_at    = excluded.created_at,
    updated_at    = excluded.updated_at
