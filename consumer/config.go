package consumer

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokensync/tokensync/event"
)

// Defaults for Config.
const (
	DefaultStream           = "tokensync:events"
	DefaultGroup            = "tokensync"
	DefaultStartID          = "0"
	DefaultFlushInterval    = 5 * time.Second
	DefaultUrgentDelay      = 250 * time.Millisecond
	DefaultMaxBatchMints    = 20_000
	DefaultMaxBatchEvents   = 200_000
	DefaultReadCount        = 1000
	DefaultReadBlock        = time.Second
	DefaultShutdownTimeout  = 15 * time.Second
	DefaultRetryMin         = 100 * time.Millisecond
	DefaultRetryMax         = 10 * time.Second
	DefaultClaimIdle        = 30 * time.Second
	DefaultClaimInterval    = 5 * time.Second
	DefaultMaxDeliveries    = 10
	DefaultMaxBufferedMints = 100_000
	DefaultRetain           = time.Hour
	DefaultTrimInterval     = 30 * time.Second
)

// DefaultUrgentTypes are flushed within UrgentDelay: a migration is a state
// change readers act on at once.
var DefaultUrgentTypes = []event.Type{event.TypeMigration}

// Config configures a Consumer. Zero fields take the defaults above.
type Config struct {
	Stream string // stream key
	// Shards splits the stream into "<Stream>:{i}" keys (event.ShardStreams)
	// that a Redis Cluster spreads over its nodes; 1 (the default) keeps the
	// single stream. Every consumer reads every shard.
	Shards int
	Group  string // consumer group, created with MKSTREAM when missing
	// Consumer names this replica in the group; the host name when empty. A
	// replica restarted under the same name first replays its own pending entries.
	Consumer string
	// StartID is where a newly created group starts: "0" for the whole stream,
	// "$" for new entries only.
	StartID string

	// FlushInterval bounds how long an event waits in memory: the window is
	// written this long after its first event. Longer windows coalesce more
	// events per row (less WAL) at the price of latency.
	FlushInterval time.Duration
	// UrgentTypes shorten the wait to UrgentDelay for the mints that hold
	// one: they (and any dead letters) are written in a flush of their own,
	// while the rest of the window keeps coalescing until FlushInterval.
	// Nil means DefaultUrgentTypes; an empty non-nil slice means none.
	UrgentTypes []event.Type
	UrgentDelay time.Duration
	// MaxBatchMints and MaxBatchEvents flush a window early when it holds
	// that many distinct mints or entries. At most two windows exist at once
	// (one open, one being written), which bounds memory.
	MaxBatchMints  int
	MaxBatchEvents int
	// MaxBufferedMints bounds the mints held in memory while a flush is in
	// progress (or retrying because PostgreSQL is down): the open window keeps
	// merging up to this many, then the consumer stops reading and the backlog
	// waits in Redis. At least MaxBatchMints.
	MaxBufferedMints int

	ReadCount int64         // entries per XREADGROUP
	ReadBlock time.Duration // BLOCK of each XREADGROUP; also bounds how fast the reader notices shutdown

	// ShutdownTimeout bounds the final flush after Run's context is cancelled.
	// Whatever is not acknowledged by then stays pending and is replayed.
	ShutdownTimeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff (with jitter) of
	// failed reads, writes and acknowledgements.
	RetryMin, RetryMax time.Duration

	// ClaimIdle is how long a consumer may be silent before live replicas
	// take over its pending entries. Liveness is a heartbeat key refreshed
	// every ClaimIdle/3, independent of FlushInterval and of retries, so a
	// live consumer with a long window or a long outage keeps its entries.
	ClaimIdle time.Duration
	// ClaimInterval is how often a replica looks for dead consumers' entries.
	ClaimInterval time.Duration
	// MaxDeliveries dead-letters an entry delivered more often than this: an
	// entry that crashes every consumer reading it must not stall the group.
	MaxDeliveries int64

	// Retain keeps acknowledged entries this long for audits and replays; the
	// janitor trims older ones, but never one some group still needs.
	Retain time.Duration
	// TrimInterval is how often one replica (at a time) trims the stream.
	TrimInterval time.Duration
	// DisableTrim turns the janitor off (another tool owns trimming).
	DisableTrim bool

	Logger zerolog.Logger

	// AfterCommit, when set, runs after a window's PostgreSQL commit and
	// before its XACK: crash tests kill the process there.
	AfterCommit func()
	// OnFlush, when set, sees every completed flush, with the IDs of the
	// entries it applied (benchmarks measure event-to-commit latency with
	// it). It runs on the flush goroutine: keep it short.
	OnFlush func(FlushInfo)
}

func (c *Config) setDefaults() {
	c.Stream = cmp.Or(c.Stream, DefaultStream)
	c.Group = cmp.Or(c.Group, DefaultGroup)
	c.Shards = cmp.Or(c.Shards, 1)
	if c.Consumer == "" {
		c.Consumer, _ = os.Hostname()
	}
	c.StartID = cmp.Or(c.StartID, DefaultStartID)
	c.FlushInterval = cmp.Or(c.FlushInterval, DefaultFlushInterval)
	if c.UrgentTypes == nil {
		c.UrgentTypes = DefaultUrgentTypes
	}
	c.UrgentDelay = cmp.Or(c.UrgentDelay, DefaultUrgentDelay)
	c.MaxBatchMints = cmp.Or(c.MaxBatchMints, DefaultMaxBatchMints)
	c.MaxBatchEvents = cmp.Or(c.MaxBatchEvents, DefaultMaxBatchEvents)
	c.ReadCount = cmp.Or(c.ReadCount, DefaultReadCount)
	c.ReadBlock = cmp.Or(c.ReadBlock, DefaultReadBlock)
	c.ShutdownTimeout = cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout)
	c.RetryMin = cmp.Or(c.RetryMin, DefaultRetryMin)
	c.RetryMax = cmp.Or(c.RetryMax, DefaultRetryMax)
	c.MaxBufferedMints = cmp.Or(c.MaxBufferedMints, max(DefaultMaxBufferedMints, c.MaxBatchMints))
	c.ClaimIdle = cmp.Or(c.ClaimIdle, DefaultClaimIdle)
	c.ClaimInterval = cmp.Or(c.ClaimInterval, DefaultClaimInterval)
	c.MaxDeliveries = cmp.Or(c.MaxDeliveries, DefaultMaxDeliveries)
	c.Retain = cmp.Or(c.Retain, DefaultRetain)
	c.TrimInterval = cmp.Or(c.TrimInterval, DefaultTrimInterval)
}

func (c *Config) validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Consumer != "", "Consumer is empty and the host name is unknown")
	check(c.Shards >= 1 && c.Shards <= 1024, "Shards %d: want 1 to 1024", c.Shards)
	if c.StartID != "$" {
		_, err := event.ParseID(c.StartID)
		check(err == nil, "StartID %q: want 0, $ or an entry ID", c.StartID)
	}
	check(c.FlushInterval > 0, "FlushInterval %v: must be positive", c.FlushInterval)
	check(c.UrgentDelay > 0, "UrgentDelay %v: must be positive", c.UrgentDelay)
	for _, t := range c.UrgentTypes {
		_, ok := event.ParseType(string(t))
		check(ok, "UrgentTypes: unknown type %q", t)
	}
	check(c.MaxBatchMints > 0, "MaxBatchMints %d: must be positive", c.MaxBatchMints)
	check(c.MaxBatchEvents > 0, "MaxBatchEvents %d: must be positive", c.MaxBatchEvents)
	check(c.ReadCount > 0, "ReadCount %d: must be positive", c.ReadCount)
	// BLOCK 0 would wait forever and never notice shutdown.
	check(c.ReadBlock >= time.Millisecond, "ReadBlock %v: must be at least 1ms", c.ReadBlock)
	check(c.ShutdownTimeout > 0, "ShutdownTimeout %v: must be positive", c.ShutdownTimeout)
	check(c.RetryMin > 0 && c.RetryMax >= c.RetryMin, "RetryMin %v, RetryMax %v: want 0 < min <= max", c.RetryMin, c.RetryMax)
	check(c.MaxBufferedMints >= c.MaxBatchMints, "MaxBufferedMints %d: must be at least MaxBatchMints %d", c.MaxBufferedMints, c.MaxBatchMints)
	// Three heartbeats per ClaimIdle; below a few hundred milliseconds a
	// scheduling hiccup would look like death.
	check(c.ClaimIdle >= 300*time.Millisecond, "ClaimIdle %v: must be at least 300ms", c.ClaimIdle)
	check(c.ClaimInterval > 0, "ClaimInterval %v: must be positive", c.ClaimInterval)
	check(c.MaxDeliveries > 0, "MaxDeliveries %d: must be positive", c.MaxDeliveries)
	check(c.Retain >= 0, "Retain %v: must not be negative", c.Retain)
	check(c.TrimInterval > 0, "TrimInterval %v: must be positive", c.TrimInterval)
	return errors.Join(errs...)
}

func (c *Config) urgent(t event.Type) bool {
	for _, u := range c.UrgentTypes {
		if u == t {
			return true
		}
	}
	return false
}
