// Package pgstats reads what the original backend's runbook checked by hand
// to see checkpoint storms: checkpoints timed and requested, their write and
// sync time, buffers written by checkpoints, WAL records, full-page images
// and bytes, and the share of HOT updates on the tokens table. It works on
// PostgreSQL 14 and later; 17 moved the checkpoint columns from
// pg_stat_bgwriter to pg_stat_checkpointer.
package pgstats

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed queries/checkpoints_bgwriter.sql
var checkpointsBgwriterSQL string

//go:embed queries/checkpoints_checkpointer.sql
var checkpointsCheckpointerSQL string

//go:embed queries/wal.sql
var walSQL string

//go:embed queries/table.sql
var tableSQL string

// Querier is a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type Querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Snapshot is the cumulative statistics at one instant.
type Snapshot struct {
	At            time.Time `json:"at"`
	ServerVersion int       `json:"server_version_num"`

	CheckpointsTimed     int64   `json:"checkpoints_timed"`
	CheckpointsRequested int64   `json:"checkpoints_requested"`
	CheckpointWriteMs    float64 `json:"checkpoint_write_ms"`
	CheckpointSyncMs     float64 `json:"checkpoint_sync_ms"`
	BuffersCheckpoint    int64   `json:"buffers_checkpoint"`

	WALRecords int64  `json:"wal_records"`
	WALFPI     int64  `json:"wal_fpi"`
	WALBytes   int64  `json:"wal_bytes"`
	WALLSN     string `json:"wal_lsn"`

	TokensInserts    int64 `json:"tokens_inserts"`
	TokensUpdates    int64 `json:"tokens_updates"`
	TokensHOTUpdates int64 `json:"tokens_hot_updates"`
}

// CheckpointQuery returns the checkpoint statistics query for a server
// version (server_version_num).
func CheckpointQuery(version int) string {
	if version >= 170000 {
		return checkpointsCheckpointerSQL
	}
	return checkpointsBgwriterSQL
}

// Take reads a snapshot. The tokens table is looked up in the connection's
// current schema.
func Take(ctx context.Context, q Querier) (Snapshot, error) {
	var s Snapshot
	s.At = time.Now()
	if err := q.QueryRow(ctx, walSQL).Scan(&s.WALRecords, &s.WALFPI, &s.WALBytes, &s.WALLSN, &s.ServerVersion); err != nil {
		return s, fmt.Errorf("read pg_stat_wal (PostgreSQL 14 or later): %w", err)
	}
	if err := q.QueryRow(ctx, CheckpointQuery(s.ServerVersion)).Scan(&s.CheckpointsTimed, &s.CheckpointsRequested,
		&s.CheckpointWriteMs, &s.CheckpointSyncMs, &s.BuffersCheckpoint); err != nil {
		return s, fmt.Errorf("read checkpoint statistics: %w", err)
	}
	if err := q.QueryRow(ctx, tableSQL).Scan(&s.TokensInserts, &s.TokensUpdates, &s.TokensHOTUpdates); err != nil {
		return s, fmt.Errorf("read tokens table statistics: %w", err)
	}
	return s, nil
}

// Delta is the difference of two snapshots: what happened in between.
type Delta struct {
	Interval time.Duration `json:"interval_ns"`
	Snapshot
	// WALBytesByLSN is the WAL written between the two LSNs, which is
	// exact where pg_stat_wal's counters are flushed lazily.
	WALBytesByLSN int64 `json:"wal_bytes_by_lsn"`
}

// HOTShare is the share of updates that were heap-only (no index write), or
// -1 when there were none.
func (s Snapshot) HOTShare() float64 {
	if s.TokensUpdates == 0 {
		return -1
	}
	return float64(s.TokensHOTUpdates) / float64(s.TokensUpdates)
}

// Sub returns s minus earlier.
func (s Snapshot) Sub(earlier Snapshot) Delta {
	return Delta{
		Interval: s.At.Sub(earlier.At),
		Snapshot: Snapshot{
			At: s.At, ServerVersion: s.ServerVersion,
			CheckpointsTimed:     s.CheckpointsTimed - earlier.CheckpointsTimed,
			CheckpointsRequested: s.CheckpointsRequested - earlier.CheckpointsRequested,
			CheckpointWriteMs:    s.CheckpointWriteMs - earlier.CheckpointWriteMs,
			CheckpointSyncMs:     s.CheckpointSyncMs - earlier.CheckpointSyncMs,
			BuffersCheckpoint:    s.BuffersCheckpoint - earlier.BuffersCheckpoint,
			WALRecords:           s.WALRecords - earlier.WALRecords,
			WALFPI:               s.WALFPI - earlier.WALFPI,
			WALBytes:             s.WALBytes - earlier.WALBytes,
			WALLSN:               s.WALLSN,
			TokensInserts:        s.TokensInserts - earlier.TokensInserts,
			TokensUpdates:        s.TokensUpdates - earlier.TokensUpdates,
			TokensHOTUpdates:     s.TokensHOTUpdates - earlier.TokensHOTUpdates,
		},
		WALBytesByLSN: lsnDiff(s.WALLSN, earlier.WALLSN),
	}
}

// lsnDiff is pg_wal_lsn_diff for LSNs written as "X/Y".
func lsnDiff(a, b string) int64 {
	return lsnValue(a) - lsnValue(b)
}

func lsnValue(s string) int64 {
	var hi, lo uint32
	if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
		return 0
	}
	return int64(hi)<<32 | int64(lo)
}
