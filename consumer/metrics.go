package consumer

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokensync/tokensync/event"
)

// numTypes counts the event types plus "unknown" for entries that do not
// name a valid type.
const numTypes = 5

var typeNames = [numTypes]string{"token", "migration", "pool", "market", "unknown"}

func typeIndex(t event.Type) int {
	for i, n := range typeNames[:4] {
		if string(t) == n {
			return i
		}
	}
	return 4
}

func typeOf(values map[string]any) event.Type {
	s, _ := values[event.FieldType].(string)
	return event.Type(s)
}

// Retry counters, by what was retried.
const (
	retryRead = iota
	retryWrite
	retryDeadLetter
	retryAck
	numRetryOps
)

var retryOps = [numRetryOps]string{"read", "write", "dead_letter", "ack"}

var flushBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newFlushHistogram() prometheus.Histogram {
	return prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "tokensync_flush_duration_seconds",
		Help:    "Time from the start of a flush to its last XACK, retries included.",
		Buckets: flushBuckets,
	})
}

// Collector exposes the consumer's counters to Prometheus. Counters are read
// from the same atomics Stats reads; group lag and pending entries are asked
// of Redis at scrape time (one XINFO GROUPS), so they are current even when
// the consumer itself is stuck.
func (c *Consumer) Collector() prometheus.Collector { return (*collector)(c) }

type collector Consumer

var (
	descRead      = prometheus.NewDesc("tokensync_events_read_total", "Entries received from Redis (reads, own replays and claims), by event type.", []string{"type"}, nil)
	descApplied   = prometheus.NewDesc("tokensync_events_applied_total", "Events merged into committed flushes, by event type.", []string{"type"}, nil)
	descDead      = prometheus.NewDesc("tokensync_events_dead_lettered_total", "Entries moved to the dead-letter stream, by reason.", []string{"reason"}, nil)
	descFlushes   = prometheus.NewDesc("tokensync_flushes_total", "Completed flushes.", nil, nil)
	descTx        = prometheus.NewDesc("tokensync_postgres_transactions_total", "PostgreSQL transactions committed by flushes.", nil, nil)
	descWritten   = prometheus.NewDesc("tokensync_rows_written_total", "Rows inserted or changed.", nil, nil)
	descStale     = prometheus.NewDesc("tokensync_rows_stale_total", "Rows skipped because the table held newer versions (replays, duplicates).", nil, nil)
	descRejected  = prometheus.NewDesc("tokensync_rows_rejected_total", "Rows PostgreSQL refused for their data; their entries were dead-lettered.", nil, nil)
	descRatio     = prometheus.NewDesc("tokensync_coalescing_ratio", "Events applied per row written, since start.", nil, nil)
	descBuffered  = prometheus.NewDesc("tokensync_buffered_mints", "Mints held in memory: the open window plus the one being written.", nil, nil)
	descPending   = prometheus.NewDesc("tokensync_pending_entries", "Entries delivered to the group and not yet acknowledged (all consumers).", []string{"stream", "group"}, nil)
	descLag       = prometheus.NewDesc("tokensync_group_lag", "Entries in the stream the group has not read yet.", []string{"stream", "group"}, nil)
	descClaimed   = prometheus.NewDesc("tokensync_claimed_entries_total", "Entries taken over from dead consumers.", nil, nil)
	descReplayed  = prometheus.NewDesc("tokensync_replayed_entries_total", "Own pending entries read again at start.", nil, nil)
	descRetries   = prometheus.NewDesc("tokensync_retries_total", "Retried operations, by operation.", []string{"op"}, nil)
	descPgErrors  = prometheus.NewDesc("tokensync_postgres_errors_total", "Failed PostgreSQL operations.", nil, nil)
	descRdErrors  = prometheus.NewDesc("tokensync_redis_errors_total", "Failed Redis operations.", nil, nil)
	descTrimmed   = prometheus.NewDesc("tokensync_trimmed_entries_total", "Entries this replica trimmed from the stream.", nil, nil)
	descReady     = prometheus.NewDesc("tokensync_up", "1 while the consumer runs and neither Redis nor PostgreSQL is failing it.", nil, nil)
	descLastFlush = prometheus.NewDesc("tokensync_last_flush_timestamp_seconds", "Unix time of the last completed flush.", nil, nil)
)

func (m *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRead, descApplied, descDead, descFlushes, descTx, descWritten, descStale, descRejected,
		descRatio, descBuffered, descPending, descLag, descClaimed, descReplayed, descRetries, descPgErrors, descRdErrors,
		descTrimmed, descReady, descLastFlush} {
		ch <- d
	}
	m.stats.flushSeconds.Describe(ch)
}

func (m *collector) Collect(ch chan<- prometheus.Metric) {
	c := (*Consumer)(m)
	s := &c.stats
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for i, name := range typeNames {
		counter(descRead, s.readByType[i].Load(), name)
		if i < 4 {
			counter(descApplied, s.appliedByType[i].Load(), name)
		}
	}
	for _, kind := range []string{deadMalformed, deadMaxDeliveries, deadRejected} {
		counter(descDead, s.deadByKind[kind].Load(), kind)
	}
	for i, op := range retryOps {
		counter(descRetries, s.retries[i].Load(), op)
	}
	st := c.Stats()
	counter(descFlushes, st.Flushes)
	counter(descTx, st.Transactions)
	counter(descWritten, st.Written)
	counter(descStale, st.Stale)
	counter(descRejected, st.Rejected)
	counter(descClaimed, st.Claimed)
	counter(descReplayed, st.Replayed)
	counter(descPgErrors, st.PgErrors)
	counter(descRdErrors, st.RedisErrors)
	counter(descTrimmed, st.Trimmed)
	if st.Written > 0 {
		gauge(descRatio, float64(st.Applied)/float64(st.Written))
	}
	gauge(descBuffered, float64(s.buffered.Load()))
	up := 0.0
	if c.running.Load() && c.pgDownSince.Load() == 0 && c.redisDownSince.Load() == 0 {
		up = 1
	}
	gauge(descReady, up)
	if t := s.lastFlush.Load(); t > 0 {
		gauge(descLastFlush, float64(t)/1e3)
	}
	m.stats.flushSeconds.Collect(ch)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, s := range c.streams {
		groups, err := c.rdb.XInfoGroups(ctx, s).Result()
		if err != nil {
			continue // Redis trouble shows in tokensync_up and the error counters
		}
		for _, g := range groups {
			if g.Name == c.cfg.Group {
				gauge(descPending, float64(g.Pending), s, c.cfg.Group)
				gauge(descLag, float64(g.Lag), s, c.cfg.Group)
			}
		}
	}
}
