package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/producer"
)

// produceRounds alternate the two sides so that drift favours neither.
const produceRounds = 3

// produce appends the same events with producer.Publish and with a raw
// go-redis pipeline of XADDs of the same field lists (computed beforehand),
// 1,000 per round trip on both sides, one goroutine, in alternating rounds.
func (r *runner) produce(ctx context.Context) error {
	r.progress("produce: starting (%d rounds of %s events per side)", produceRounds, count(int64(r.cfg.ProduceEvents)))
	n := r.cfg.ProduceEvents
	w := NewWorkload(r.cfg.Seed+1, n)
	evs := make([]event.Event, n)
	values := make([][]any, n)
	for i := range evs {
		evs[i], _ = w.Next()
		values[i] = evs[i].Values()
	}
	rawKey, pubKey := r.cfg.KeyPrefix+"produce-raw", r.cfg.KeyPrefix+"produce-publish"
	p, err := producer.New(r.rdb, producer.Config{Stream: pubKey})
	if err != nil {
		return err
	}
	raw := func(ctx context.Context) error {
		for start := 0; start < n; start += producer.DefaultPipelineSize {
			chunk := values[start:min(start+producer.DefaultPipelineSize, n)]
			_, err := r.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
				for _, v := range chunk {
					pipe.XAdd(ctx, &redis.XAddArgs{Stream: rawKey, Values: v})
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	publish := func(ctx context.Context) error {
		_, err := p.Publish(ctx, evs)
		return err
	}
	sides := []struct {
		name string
		key  string
		f    func(context.Context) error
		took time.Duration
		cpu  CPU
	}{
		{name: "produce-raw", key: rawKey, f: raw},
		{name: "produce-publish", key: pubKey, f: publish},
	}
	for round := range produceRounds {
		for i := range sides {
			s := &sides[i]
			cpu0 := sampleCPU(ctx, r.rdb, r.postmaster)
			start := time.Now()
			if err := s.f(ctx); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			took := time.Since(start)
			c := sampleCPU(ctx, r.rdb, r.postmaster).since(cpu0)
			s.took += took
			s.cpu.Bench += c.Bench
			s.cpu.Redis += c.Redis
			s.cpu.Postgres += c.Postgres
			s.cpu.Other += c.Other
			r.progress("produce: round %d, %s: %s events/s", round+1, s.name, count(int64(float64(n)/took.Seconds())))
			if err := r.rdb.Del(ctx, s.key).Err(); err != nil {
				return err
			}
		}
	}
	for _, s := range sides {
		cpu := s.cpu
		r.report.Results = append(r.report.Results, Result{
			Scenario: s.name, Events: int64(n * produceRounds), Seconds: s.took.Seconds(),
			EventsPerSec: float64(n*produceRounds) / s.took.Seconds(), CPU: &cpu,
		})
	}
	return nil
}
