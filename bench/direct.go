package bench

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokensync/tokensync/event"
)

var (
	//go:embed queries/direct_token.sql
	directTokenSQL string
	//go:embed queries/direct_pool.sql
	directPoolSQL string
	//go:embed queries/direct_migration.sql
	directMigrationSQL string
	//go:embed queries/direct_market.sql
	directMarketSQL string
)

// direct writes the first DirectSample events of the pre-loaded stream the
// way the original backend did: one autocommit upsert per event, in stream
// order, over one connection.
func (r *runner) direct(ctx context.Context) error {
	msgs, err := r.rdb.XRangeN(ctx, r.stream, "-", "+", int64(r.cfg.DirectSample)).Result()
	if err != nil {
		return fmt.Errorf("direct: XRANGE: %w", err)
	}
	evs := make([]event.Event, 0, len(msgs))
	for _, m := range msgs {
		ev, err := event.Decode(m.ID, m.Values)
		if err != nil {
			return fmt.Errorf("direct: entry %s: %w", m.ID, err)
		}
		evs = append(evs, ev)
	}
	msgs = nil
	return r.measure(ctx, "direct", meterOpts{pg: true, truncate: true}, func(ctx context.Context, m *meter) error {
		conn, err := pgx.Connect(ctx, r.benchURL)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if err := m.start(ctx); err != nil {
			return err
		}
		last := time.Now()
		for i := range evs {
			if err := upsertOne(ctx, conn, &evs[i]); err != nil {
				return fmt.Errorf("event %s: %w", evs[i].ID, err)
			}
			if time.Since(last) >= time.Second {
				last = time.Now()
				r.progress("direct: %s of %s events upserted", count(int64(i+1)), count(int64(len(evs))))
			}
		}
		m.stop()
		m.res.Events = int64(len(evs))
		return nil
	})
}

func upsertOne(ctx context.Context, conn *pgx.Conn, ev *event.Event) error {
	id := ev.ID.String()
	var err error
	switch ev.Type {
	case event.TypeToken:
		_, err = conn.Exec(ctx, directTokenSQL, ev.Mint, ev.Time(), id,
			text(ev.Name), text(ev.Symbol), text(ev.URI), text(ev.Creator), tstz(ev.CreatedAt))
	case event.TypePool:
		_, err = conn.Exec(ctx, directPoolSQL, ev.Mint, ev.Time(), id, text(ev.Pool), text(ev.Dex))
	case event.TypeMigration:
		_, err = conn.Exec(ctx, directMigrationSQL, ev.Mint, ev.Time(), id, text(ev.Pool), text(ev.Dex), tstz(ev.MigratedAt))
	case event.TypeMarket:
		_, err = conn.Exec(ctx, directMarketSQL, ev.Mint, ev.Time(), id,
			text(ev.PriceUSD), text(ev.MarketCapUSD), text(ev.LiquidityUSD), text(ev.Volume24hUSD))
	}
	return err
}

// text and tstz send absent values as NULL.
func text(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func tstz(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}
