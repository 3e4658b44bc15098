package consumer

import (
	"time"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/store"
)

// batch is what the reader hands to the coalescing loop: one XREADGROUP reply,
// decoded.
type batch struct {
	events []event.Event
	ack    []string    // IDs of the decoded events and of entries deleted from the stream
	dead   []deadEntry // malformed entries
}

// deadEntry is an entry that cannot be applied.
type deadEntry struct {
	id     string
	values map[string]any
	reason string
}

// window is the coalescing buffer: the newest state per mint and column group
// of every event read since the last flush, and the entries to acknowledge
// once that state is committed.
type window struct {
	rows     map[string]*store.Row
	ack      []string
	dead     []deadEntry
	events   int
	opened   time.Time // first entry in
	deadline time.Time // flush due
}

func newWindow() *window { return &window{rows: make(map[string]*store.Row)} }

func (w *window) empty() bool { return len(w.ack) == 0 && len(w.dead) == 0 }

// add merges b and moves the deadline: the flush interval after the first
// entry, or the urgent delay after an urgent event if that is sooner.
func (w *window) add(b *batch, cfg *Config, now time.Time) {
	if w.empty() && (len(b.ack) > 0 || len(b.dead) > 0) {
		w.opened = now
		w.deadline = now.Add(cfg.FlushInterval)
	}
	for i := range b.events {
		ev := &b.events[i]
		r := w.rows[ev.Mint]
		if r == nil {
			r = &store.Row{Mint: ev.Mint}
			w.rows[ev.Mint] = r
		}
		r.Apply(ev)
		if cfg.urgent(ev.Type) {
			if d := now.Add(cfg.UrgentDelay); d.Before(w.deadline) {
				w.deadline = d
			}
		}
	}
	w.events += len(b.events)
	w.ack = append(w.ack, b.ack...)
	w.dead = append(w.dead, b.dead...)
	if len(b.dead) > 0 { // bad input should not wait a whole window to be reported
		if d := now.Add(cfg.UrgentDelay); d.Before(w.deadline) {
			w.deadline = d
		}
	}
}

// full reports whether the window reached a size limit.
func (w *window) full(cfg *Config) bool {
	return len(w.rows) >= cfg.MaxBatchMints || len(w.ack)+len(w.dead) >= cfg.MaxBatchEvents
}

func (w *window) list() []store.Row {
	rows := make([]store.Row, 0, len(w.rows))
	for _, r := range w.rows {
		rows = append(rows, *r)
	}
	return rows
}
