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
	keysArg := []string{c.cfg.Stream, event.DeadLetterStream(c.cfg.Stream)}
	if err := deadLetterScript.Run(ctx, c.rdb, keysArg, args...).Err(); err != nil {
		return fmt.Errorf("dead-letter %s: %w", d.id, err)
	}
	return nil
}
