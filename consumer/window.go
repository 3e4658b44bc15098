package consumer

import (
	"time"

	"github.com/tokensync/tokensync/event"
	"github.com/tokensync/tokensync/store"
)

// batch is what the reader and the claimer hand to the coalescing loop: one
// reply from Redis, decoded.
type batch struct {
	stream int // index in Consumer.streams
	events []event.Event
	gone   []string    // IDs of entries deleted from the stream: acknowledged as they are
	dead   []deadEntry // malformed or delivered too often
}

func (b *batch) entries() int { return len(b.events) + len(b.gone) + len(b.dead) }

// Why an entry was dead-lettered (a metrics label).
const (
	deadMalformed     = "malformed"
	deadMaxDeliveries = "max_deliveries"
	deadRejected      = "rejected"
)

// deadEntry is an entry that cannot be applied.
type deadEntry struct {
	kind       string // deadMalformed, deadMaxDeliveries or deadRejected
	stream     int    // index in Consumer.streams
	id         string
	values     map[string]any // nil: fetch them from the stream when dead-lettering
	reason     string
	deliveries int64 // 0 when unknown
}

// entryRef names an entry: its ID and its stream (index in
// Consumer.streams). A window keeps one per entry until the XACK, so it holds
// the parsed ID (16 bytes) rather than Redis' string of it.
type entryRef struct {
	id     event.ID
	stream int32
}

// slot is one mint's coalesced state and the entries that fed it. A mint's
// entries normally come from one shard, but not while the shard count changes.
type slot struct {
	row    store.Row
	ids    []entryRef
	byType [numTypes]int32 // events per type, for metrics
}

// window is the coalescing buffer: the newest state per mint and column group
// of every event read since the last flush, and the entries to acknowledge
// once that state is committed.
type window struct {
	slots    map[string]*slot
	gone     []entryRef
	dead     []deadEntry
	entries  int
	opened   time.Time // first entry in
	deadline time.Time // the whole window is due

	// Urgent events (and bad entries) do not make the whole window due:
	// only the mints holding one are written at urgentAt, with the dead
	// letters; the rest keeps coalescing until deadline.
	urgent   map[string]struct{}
	urgentAt time.Time // zero when nothing urgent waits
}

func newWindow() *window { return &window{slots: make(map[string]*slot)} }

func (w *window) empty() bool { return w.entries == 0 }

// add merges b. The window is due FlushInterval after its first entry; an
// urgent event or a bad entry makes its urgent part due UrgentDelay after it
// arrived, unless an earlier one already set a sooner time.
func (w *window) add(b *batch, cfg *Config, now time.Time) {
	if b.entries() == 0 {
		return
	}
	if w.empty() {
		w.opened = now
		w.deadline = now.Add(cfg.FlushInterval)
	}
	soon := len(b.dead) > 0 // bad input should not wait a whole window to be reported
	for i := range b.events {
		ev := &b.events[i]
		s := w.slots[ev.Mint]
		if s == nil {
			s = &slot{row: store.Row{Mint: ev.Mint}}
			w.slots[ev.Mint] = s
		}
		s.row.Apply(ev)
		s.byType[typeIndex(ev.Type)]++
		s.ids = append(s.ids, entryRef{ev.ID, int32(b.stream)})
		if cfg.urgent(ev.Type) {
			if w.urgent == nil {
				w.urgent = make(map[string]struct{})
			}
			w.urgent[ev.Mint] = struct{}{}
			soon = true
		}
	}
	if soon && w.urgentAt.IsZero() {
		w.urgentAt = now.Add(cfg.UrgentDelay)
	}
	w.entries += b.entries()
	for _, id := range b.gone {
		parsed, _ := event.ParseID(id) // Redis wrote it
		w.gone = append(w.gone, entryRef{parsed, int32(b.stream)})
	}
	for _, d := range b.dead {
		d.stream = b.stream
		w.dead = append(w.dead, d)
	}
}

// full reports whether the window reached a size limit and should be written now.
func (w *window) full(cfg *Config) bool {
	return len(w.slots) >= cfg.MaxBatchMints || w.entries >= cfg.MaxBatchEvents
}

func (w *window) rows() []store.Row {
	rows := make([]store.Row, 0, len(w.slots))
	for _, s := range w.slots {
		rows = append(rows, s.row)
	}
	return rows
}

// due is when the next flush, whole or urgent part, is due.
func (w *window) due() time.Time {
	if !w.urgentAt.IsZero() && w.urgentAt.Before(w.deadline) {
		return w.urgentAt
	}
	return w.deadline
}

// takeUrgent moves the mints holding urgent events, the dead letters and
// the deleted entries into a window of their own, which is flushed at once;
// w keeps the rest, and its deadline.
func (w *window) takeUrgent() *window {
	u := newWindow()
	u.opened, u.deadline = w.opened, w.urgentAt
	for m := range w.urgent {
		s := w.slots[m]
		u.slots[m] = s
		delete(w.slots, m)
		u.entries += len(s.ids)
		w.entries -= len(s.ids)
	}
	u.dead, u.gone = w.dead, w.gone
	u.entries += len(w.dead) + len(w.gone)
	w.entries -= len(w.dead) + len(w.gone)
	w.dead, w.gone, w.urgent, w.urgentAt = nil, nil, nil, time.Time{}
	return u
}

// byType counts the window's events per type (for metrics and FlushInfo).
func (w *window) byType() (counts [numTypes]int, total int) {
	for _, s := range w.slots {
		for t, n := range s.byType {
			counts[t] += int(n)
			total += int(n)
		}
	}
	return counts, total
}
