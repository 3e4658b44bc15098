package pgstats

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteText prints a snapshot, or the delta of an interval.
func WriteText(w io.Writer, s Snapshot, d *Delta) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	if d != nil {
		s = d.Snapshot
		fmt.Fprintf(tw, "over %s (PostgreSQL %d)\t\n", d.Interval.Round(1e6), s.ServerVersion)
	} else {
		fmt.Fprintf(tw, "since the statistics were reset (PostgreSQL %d)\t\n", s.ServerVersion)
	}
	row := func(name string, v any) { fmt.Fprintf(tw, "%s\t%v\t\n", name, v) }
	row("checkpoints timed", s.CheckpointsTimed)
	row("checkpoints requested", s.CheckpointsRequested)
	row("checkpoint write time (ms)", fmt.Sprintf("%.0f", s.CheckpointWriteMs))
	row("checkpoint sync time (ms)", fmt.Sprintf("%.0f", s.CheckpointSyncMs))
	row("buffers written by checkpoints", s.BuffersCheckpoint)
	row("WAL records", s.WALRecords)
	row("WAL full-page images", s.WALFPI)
	row("WAL bytes", s.WALBytes)
	if d != nil {
		row("WAL bytes (LSN difference)", d.WALBytesByLSN)
	} else {
		row("WAL position", s.WALLSN)
	}
	row("tokens inserts", s.TokensInserts)
	row("tokens updates", s.TokensUpdates)
	if h := s.HOTShare(); h >= 0 {
		row("tokens HOT updates", fmt.Sprintf("%d (%.1f%%)", s.TokensHOTUpdates, 100*h))
	} else {
		row("tokens HOT updates", s.TokensHOTUpdates)
	}
	return tw.Flush()
}
