package consumer

import (
	"context"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/event"
)

// deadLetterScript acknowledges an entry and, only if this call acknowledged
// it, appends its copy to the dead-letter stream: atomic, so a crash cannot
// leave an entry both pending and dead, and a redelivered copy is not
// dead-lettered twice.
var deadLetterScript = redis.NewScript(`
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3))
  return 1
end
return 0`)

// maxDeadFields caps the original fields copied, so a hostile entry cannot
// exceed what one script call can take.
const maxDeadFields = 200

func (c *Consumer) deadLetter(ctx context.Context, d *deadEntry) error {
	if err := c.fetchValues(ctx, d); err != nil {
		return err
	}
	keys := make([]string, 0, len(d.values))
	for k := range d.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	reason := d.reason
	if len(keys) > maxDeadFields {
		reason += " (only the first " + strconv.Itoa(maxDeadFields) + " fields kept)"
		keys = keys[:maxDeadFields]
	}
	args := make([]any, 0, 2+2*len(keys)+10)
	args = append(args, c.cfg.Group, d.id)
	for _, k := range keys {
		args = append(args, k, d.values[k])
	}
	args = append(args,
		event.DeadFieldID, d.id,
		event.DeadFieldReason, reason,
		event.DeadFieldGroup, c.cfg.Group,
		event.DeadFieldConsumer, c.cfg.Consumer)
	if d.deliveries > 0 {
		args = append(args, event.DeadFieldDeliveries, d.deliveries)
	}
	stream := c.streams[d.stream]
	keysArg := []string{stream, event.DeadLetterStream(stream)}
	if err := deadLetterScript.Run(ctx, c.rdb, keysArg, args...).Err(); err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.id, err)
	}
	return nil
}

// DeadLetter is an entry of the dead-letter stream.
type DeadLetter struct {
	ID         string            // in the dead-letter stream
	Original   string            // the entry's ID in the source stream
	Reason     string            // why it was given up
	Group      string            // the group that gave up
	Consumer   string            // the consumer that gave up
	Deliveries string            // delivery count, when known
	Fields     map[string]string // the original fields
}

// ListDead returns up to count dead letters of stream from ID start on ("-"
// for the oldest).
func ListDead(ctx context.Context, rdb redis.UniversalClient, stream, start string, count int64) ([]DeadLetter, error) {
	msgs, err := rdb.XRangeN(ctx, event.DeadLetterStream(stream), start, "+", count).Result()
	if err != nil {
		return nil, fmt.Errorf("XRANGE %s: %w", event.DeadLetterStream(stream), err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := DeadLetter{ID: m.ID, Fields: map[string]string{}}
		for k, v := range m.Values {
			s := fmt.Sprint(v)
			switch k {
			case event.DeadFieldID:
				d.Original = s
			case event.DeadFieldReason:
				d.Reason = s
			case event.DeadFieldGroup:
				d.Group = s
			case event.DeadFieldConsumer:
				d.Consumer = s
			case event.DeadFieldDeliveries:
				d.Deliveries = s
			default:
				d.Fields[k] = s
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// Requeue puts dead letters back on the stream: their original fields, with
// set applied on top (a field set to "" is removed), as new entries, and
// deletes them from the dead-letter stream in the same MULTI. An entry that
// still does not decode stays where it is and is reported. The requeued
// entry gets a new ID, so it counts as the newest event of its mint: requeue
// only snapshots that are still current.
func Requeue(ctx context.Context, rdb redis.UniversalClient, stream string, ids []string, set map[string]string) ([]string, error) {
	dead := event.DeadLetterStream(stream)
	var newIDs []string
	for _, id := range ids {
		msgs, err := rdb.XRangeN(ctx, dead, id, id, 1).Result()
		if err != nil {
			return newIDs, fmt.Errorf("XRANGE %s %s: %w", dead, id, err)
		}
		if len(msgs) == 0 {
			return newIDs, fmt.Errorf("no dead letter %s in %s", id, dead)
		}
		values := map[string]any{}
		for k, v := range msgs[0].Values {
			switch k {
			case event.DeadFieldID, event.DeadFieldReason, event.DeadFieldGroup, event.DeadFieldConsumer, event.DeadFieldDeliveries:
			default:
				values[k] = v
			}
		}
		for k, v := range set {
			if v == "" {
				delete(values, k)
			} else {
				values[k] = v
			}
		}
		if _, err := event.FromValues(values); err != nil {
			return newIDs, fmt.Errorf("dead letter %s is still malformed (%v); fix it with a field override", id, err)
		}
		var add *redis.StringCmd
		_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			add = p.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: values})
			p.XDel(ctx, dead, id)
			return nil
		})
		if err != nil {
			return newIDs, fmt.Errorf("requeue %s: %w", id, err)
		}
		newIDs = append(newIDs, add.Val())
	}
	return newIDs, nil
}
