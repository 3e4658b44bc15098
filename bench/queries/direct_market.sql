-- direct_market: one autocommit upsert of a market event's columns.
INSERT INTO tokens AS t (mint, first_seen_at, updated_at,
                         market_version, price_usd, market_cap_usd, liquidity_usd, volume_24h_usd)
VALUES ($1, $2, now(),
        tokensync_version($3), $4::text::numeric, $5::text::numeric, $6::text::numeric, $7::text::numeric)
ON CONFLICT (mint) DO UPDATE SET
    market_version = excluded.market_version,
    price_usd      = excluded.price_usd,
    market_cap_usd = excluded.market_cap_usd,
    liquidity_usd  = excluded.liquidity_usd,
    volume_24h_usd = excluded.volume_24h_usd,
    updated_at     = excluded.updated_at
