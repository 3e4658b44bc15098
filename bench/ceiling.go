package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ceilingCount is the COUNT of each XREADGROUP, the consumer's default.
const ceilingCount = 1000

// ceiling reads the pre-loaded stream through a new group with readers
// plain go-redis loops, XREADGROUP COUNT 1000 and one XACK per reply,
// nothing decoded and nothing written: the most a stream consumer can
// read on this machine.
func (r *runner) ceiling(ctx context.Context, readers int) error {
	name := fmt.Sprintf("ceiling-%d", readers)
	group := name
	if err := r.rdb.XGroupCreate(ctx, r.stream, group, "0").Err(); err != nil {
		return fmt.Errorf("%s: create group: %w", name, err)
	}
	return r.measure(ctx, name, meterOpts{}, func(ctx context.Context, m *meter) error {
		var total atomic.Int64
		var wg sync.WaitGroup
		errs := make([]error, readers)
		if err := m.start(ctx); err != nil {
			return err
		}
		stopProgress := every(time.Second, func() {
			r.progress("%s: %s of %s entries read and acknowledged", name, count(total.Load()), count(int64(r.cfg.Events)))
		})
		for i := range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = r.readAll(ctx, group, fmt.Sprintf("reader-%d", i+1), &total)
			}()
		}
		wg.Wait()
		m.stop()
		stopProgress()
		m.res.Events = total.Load()
		m.res.Replicas = readers
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if g, err := r.group(ctx, r.stream, group); err != nil || g.Lag != 0 || g.Pending != 0 {
			return fmt.Errorf("group not drained: %+v, %v", g, err)
		}
		return nil
	})
}

// readAll reads until the group has nothing new for it. Without BLOCK, an
// exhausted stream answers at once.
func (r *runner) readAll(ctx context.Context, group, consumer string, total *atomic.Int64) error {
	for {
		streams, err := r.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: consumer, Streams: []string{r.stream, ">"},
			Count: ceilingCount, Block: -1,
		}).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("XREADGROUP: %w", err)
		}
		if len(streams) == 0 || len(streams[0].Messages) == 0 {
			return nil
		}
		msgs := streams[0].Messages
		ids := make([]string, len(msgs))
		for i := range msgs {
			ids[i] = msgs[i].ID
		}
		if err := r.rdb.XAck(ctx, r.stream, group, ids...).Err(); err != nil {
			return fmt.Errorf("XACK: %w", err)
		}
		total.Add(int64(len(msgs)))
	}
}
