package bench

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/consumer"
)

// replay applies the whole pre-loaded stream with consumer.Replay into an
// empty table (replay-first), then applies it again (replay-again): every
// row then holds nothing newer than the table. The first apply's updates
// leave dead row versions that the second apply's reads prune (and log);
// replay-vacuumed applies the range a third time after a VACUUM, as
// autovacuum would have run in between, so that its WAL is the replay's own.
// Each starts right after a checkpoint, when a row lock would cost a
// full-page image.
func (r *runner) replay(ctx context.Context) error {
	for i, name := range []string{"replay-first", "replay-again", "replay-vacuumed"} {
		if name == "replay-vacuumed" {
			if _, err := r.mon.local.Exec(ctx, "VACUUM tokens"); err != nil {
				return fmt.Errorf("vacuum tokens: %w", err)
			}
		}
		err := r.measure(ctx, name, meterOpts{pg: true, truncate: i == 0}, func(ctx context.Context, m *meter) error {
			pool, err := pgxpool.New(ctx, r.benchURL)
			if err != nil {
				return err
			}
			defer pool.Close()
			log := &flushLog{warn: r.cfg.Progress}
			if err := m.start(ctx); err != nil {
				return err
			}
			st, err := consumer.Replay(ctx, r.rdb, pool, consumer.ReplayConfig{
				Stream: r.stream, Logger: zerolog.New(log).Level(zerolog.WarnLevel),
			})
			m.stop()
			m.res.Events = int64(st.Events)
			m.res.Statements = int64(st.Statements)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
