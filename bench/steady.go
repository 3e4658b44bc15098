package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tokensync/tokensync/consumer"
	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/producer"
)

// steadyTick paces the producer: every tick it appends the events due.
const steadyTick = 10 * time.Millisecond

// steady runs one consumer with the given flush interval (other settings at
// their defaults, so migrations are urgent) on a stream of its own, starts it,
// then produces at SteadyRate for SteadyDuration, and waits until the group
// has acknowledged everything. Latency is measured per event, from the time
// in its entry ID to the commit of the flush that applied it.
func (r *runner) steady(ctx context.Context, interval time.Duration) error {
	name := "steady-" + interval.String()
	stream := r.cfg.KeyPrefix + name
	const group = "bench"
	if err := r.rdb.XGroupCreateMkStream(ctx, stream, group, "0").Err(); err != nil {
		return fmt.Errorf("%s: create group: %w", name, err)
	}
	return r.measure(ctx, name, meterOpts{pg: true, truncate: true}, func(ctx context.Context, m *meter) error {
		log := &flushLog{warn: r.cfg.Progress}
		cfg := consumerConfig(stream, group, "bench-1", log)
		cfg.FlushInterval = interval
		rp, err := r.newReplica(ctx, cfg)
		if err != nil {
			return err
		}
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		rp.start(runCtx)
		err = poll(ctx, 30*time.Second, 10*time.Millisecond, func() (bool, error) {
			return rp.c.Ready(ctx) == nil, nil
		})
		if err != nil {
			cancel()
			return errors.Join(fmt.Errorf("consumer not ready: %w", err), rp.wait())
		}
		p, err := producer.New(r.rdb, producer.Config{Stream: stream})
		if err != nil {
			cancel()
			return errors.Join(err, rp.wait())
		}
		total := int(r.cfg.SteadyRate * r.cfg.SteadyDuration.Seconds())
		w := NewWorkload(r.cfg.Seed+2, total)
		sentEvents := make([]sent, 0, total)
		if err := m.start(ctx); err != nil {
			cancel()
			return errors.Join(err, rp.wait())
		}
		prodErr := r.pace(ctx, name, p, w, total, &sentEvents, log)
		var drainErr error
		if prodErr == nil {
			drainErr = r.waitDrained(ctx, name, stream, group, interval+time.Minute)
		}
		m.stop()
		cancel()
		runErr := rp.wait()
		st := rp.c.Stats()
		lat := latencies(sentEvents, log.records())
		m.res.Events = int64(len(sentEvents))
		m.res.Flushes, m.res.Transactions = st.Flushes, st.Transactions
		m.res.Replicas = 1
		m.res.FlushInterval = interval.String()
		m.res.Latency = &lat
		m.res.Notes = append(m.res.Notes, windowNote(log.records()))
		if lat.Unmatched != 0 {
			m.res.Notes = append(m.res.Notes, fmt.Sprintf("%d events could not be matched to a flush", lat.Unmatched))
		}
		return errors.Join(prodErr, drainErr, runErr)
	})
}

// pace publishes total events from w at SteadyRate, every steadyTick the
// events due by then, and notes each one's entry time and urgency.
func (r *runner) pace(ctx context.Context, name string, p *producer.Producer, w *Workload, total int, out *[]sent, log *flushLog) error {
	t := time.NewTicker(steadyTick)
	defer t.Stop()
	start := time.Now()
	lastReport := start
	batch := make([]event.Event, 0, 1024)
	for n := 0; n < total; {
		due := min(total, int(r.cfg.SteadyRate*time.Since(start).Seconds())) - n
		batch = batch[:0]
		for range due {
			ev, _ := w.Next()
			batch = append(batch, ev)
		}
		if len(batch) > 0 {
			ids, err := p.Publish(ctx, batch)
			if err != nil {
				return fmt.Errorf("publish: %w", err)
			}
			for i, s := range ids {
				id, err := event.ParseID(s)
				if err != nil {
					return err
				}
				*out = append(*out, sent{id: id, urgent: slices.Contains(consumer.DefaultUrgentTypes, batch[i].Type)})
			}
			n += len(ids)
		}
		if time.Since(lastReport) >= time.Second {
			lastReport = time.Now()
			fl := log.records()
			r.progress("%s: %s of %s events produced, %d windows flushed", name, count(int64(n)), count(int64(total)), len(fl))
		}
		if n >= total {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}
