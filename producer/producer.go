package producer

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// Defaults for Config.
const (
	DefaultStream       = "tokensync:events"
	DefaultPipelineSize = 1000
)

// Config configures a Producer. The zero value is usable.
type Config struct {
	// Stream is the stream key; DefaultStream when empty.
	Stream string
	// Shards, when more than 1, sends each event to the shard
	// event.ShardStreams(Stream, Shards)[event.ShardOf(mint, Shards)], as the
	// consumers expect. It must equal the consumers' TOKENSYNC_SHARDS.
	Shards int
	// PipelineSize caps the XADDs sent in one round trip; DefaultPipelineSize when 0.
	PipelineSize int
}

// Producer appends events to a stream. It is safe for concurrent use.
type Producer struct {
	rdb     redis.UniversalClient
	cfg     Config
	streams []string
}

// New returns a Producer writing through rdb, which the caller closes.
func New(rdb redis.UniversalClient, cfg Config) (*Producer, error) {
	if rdb == nil {
		return nil, errors.New("producer: nil Redis client")
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultStream
	}
	if cfg.PipelineSize == 0 {
		cfg.PipelineSize = DefaultPipelineSize
	}
	if cfg.PipelineSize < 0 {
		return nil, fmt.Errorf("producer: PipelineSize %d is negative", cfg.PipelineSize)
	}
	if cfg.Shards < 0 || cfg.Shards > 1024 {
		return nil, fmt.Errorf("producer: Shards %d: want 0 to 1024", cfg.Shards)
	}
	return &Producer{rdb: rdb, cfg: cfg, streams: event.ShardStreams(cfg.Stream, cfg.Shards)}, nil
}

// InvalidEventError reports an event Publish refused; use errors.As.
type InvalidEventError struct {
	Index int // position in the batch
	Err   error
}

func (e *InvalidEventError) Error() string {
	return fmt.Sprintf("event %d: %v", e.Index, e.Err)
}

func (e *InvalidEventError) Unwrap() error { return e.Err }

// Publish validates every event, and when all are valid appends them in order
// and returns their entry IDs. When some are invalid it sends nothing and
// returns one InvalidEventError per bad event, joined. When Redis fails midway
// the events before the failing pipeline were appended: their IDs are
// returned with the error.
func (p *Producer) Publish(ctx context.Context, events []event.Event) ([]string, error) {
	var errs []error
	for i := range events {
		if err := events[i].Validate(); err != nil {
			errs = append(errs, &InvalidEventError{Index: i, Err: err})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ids := make([]string, 0, len(events))
	for start := 0; start < len(events); start += p.cfg.PipelineSize {
		chunk := events[start:min(start+p.cfg.PipelineSize, len(events))]
		cmds := make([]*redis.StringCmd, len(chunk))
		_, err := p.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i := range chunk {
				stream := p.streams[event.ShardOf(chunk[i].Mint, len(p.streams))]
				cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: chunk[i].Values()})
			}
			return nil
		})
		for _, c := range cmds {
			if c.Err() != nil {
				break
			}
			ids = append(ids, c.Val())
		}
		if err != nil {
			return ids, fmt.Errorf("XADD %d events to %s: %w", len(chunk), p.cfg.Stream, err)
		}
	}
	return ids, nil
}
