// Package backlog reports, per stream and consumer group, how far behind the
// pipeline is: what `tokensync backlog` prints and what an operator would
// otherwise piece together from XLEN, XINFO GROUPS, XINFO CONSUMERS and
// XPENDING.
package backlog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// Report is the state of some streams at one instant.
type Report struct {
	At      time.Time `json:"at"` // Redis server time
	Streams []Stream  `json:"streams"`
}

// Stream is one stream and its groups.
type Stream struct {
	Name        string  `json:"name"`
	Length      int64   `json:"length"`
	FirstID     string  `json:"first_id,omitempty"`
	LastID      string  `json:"last_id,omitempty"`
	DeadLetters int64   `json:"dead_letters"` // length of <stream>:dead
	Groups      []Group `json:"groups"`
}

// Group is one consumer group of a stream.
type Group struct {
	Name            string `json:"name"`
	Lag             int64  `json:"lag"`          // entries not read yet
	EntriesRead     int64  `json:"entries_read"` // entries read since the group exists
	LastDeliveredID string `json:"last_delivered_id"`
	Pending         int64  `json:"pending"` // read, not acknowledged
	OldestPendingID string `json:"oldest_pending_id,omitempty"`
	// OldestPendingAge is how old the oldest pending entry is (from its ID):
	// how long the oldest unapplied event has waited.
	OldestPendingAge time.Duration `json:"oldest_pending_age_ns,omitempty"`
	Consumers        []Consumer    `json:"consumers"`
}

// Consumer is one consumer of a group.
type Consumer struct {
	Name    string        `json:"name"`
	Pending int64         `json:"pending"`
	Idle    time.Duration `json:"idle_ns"` // since its last read or claim
	// Alive reports tokensync's heartbeat; a consumer without one holding
	// pending entries is taken over after TOKENSYNC_CLAIM_IDLE.
	Alive bool `json:"alive"`
}

// Inspect reads the state of streams. A stream that does not exist is
// reported empty.
func Inspect(ctx context.Context, rdb redis.UniversalClient, streams []string) (Report, error) {
	var r Report
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		return r, fmt.Errorf("TIME: %w", err)
	}
	r.At = now.UTC()
	for _, name := range streams {
		s, err := inspectStream(ctx, rdb, name, now)
		if err != nil {
			return r, err
		}
		r.Streams = append(r.Streams, s)
	}
	return r, nil
}

func inspectStream(ctx context.Context, rdb redis.UniversalClient, name string, now time.Time) (Stream, error) {
	s := Stream{Name: name, Groups: []Group{}}
	// Redis answers XINFO on a missing key with a generic ERR; ask first.
	if n, err := rdb.Exists(ctx, name).Result(); err != nil || n == 0 {
		return s, err
	}
	info, err := rdb.XInfoStream(ctx, name).Result()
	if err != nil {
		return s, fmt.Errorf("XINFO STREAM %s: %w", name, err)
	}
	s.Length, s.FirstID, s.LastID = info.Length, info.FirstEntry.ID, info.LastEntry.ID
	if s.DeadLetters, err = rdb.XLen(ctx, event.DeadLetterStream(name)).Result(); err != nil {
		return s, fmt.Errorf("XLEN %s: %w", event.DeadLetterStream(name), err)
	}
	groups, err := rdb.XInfoGroups(ctx, name).Result()
	if err != nil {
		return s, fmt.Errorf("XINFO GROUPS %s: %w", name, err)
	}
	for _, g := range groups {
		gr := Group{Name: g.Name, Lag: g.Lag, EntriesRead: g.EntriesRead, LastDeliveredID: g.LastDeliveredID, Pending: g.Pending, Consumers: []Consumer{}}
		if g.Pending > 0 {
			p, err := rdb.XPending(ctx, name, g.Name).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return s, fmt.Errorf("XPENDING %s %s: %w", name, g.Name, err)
			}
			if p != nil {
				gr.OldestPendingID = p.Lower
				if id, err := event.ParseID(p.Lower); err == nil {
					gr.OldestPendingAge = max(0, now.Sub(time.UnixMilli(int64(id.Ms))))
				}
			}
		}
		cons, err := rdb.XInfoConsumers(ctx, name, g.Name).Result()
		if err != nil {
			return s, fmt.Errorf("XINFO CONSUMERS %s %s: %w", name, g.Name, err)
		}
		for _, c := range cons {
			alive, err := rdb.Exists(ctx, event.HeartbeatKey(name, g.Name, c.Name)).Result()
			if err != nil {
				return s, fmt.Errorf("heartbeat of %s: %w", c.Name, err)
			}
			gr.Consumers = append(gr.Consumers, Consumer{Name: c.Name, Pending: c.Pending, Idle: c.Idle, Alive: alive > 0})
		}
		s.Groups = append(s.Groups, gr)
	}
	return s, nil
}
