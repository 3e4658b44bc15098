package event

import "strconv"

// DeadLetterStream names the stream that receives the entries of stream that
// cannot be applied. Every key tokensync derives from a stream name is built here.
func DeadLetterStream(stream string) string { return stream + ":dead" }

// Fields added to a dead-lettered entry next to its original fields.
const (
	DeadFieldID         = "dead_id"         // the entry's ID in the source stream
	DeadFieldReason     = "dead_reason"     // why it could not be applied
	DeadFieldDeliveries = "dead_deliveries" // deliveries so far, when known
	DeadFieldGroup      = "dead_group"      // consumer group that gave up
	DeadFieldConsumer   = "dead_consumer"   // consumer that gave up
)

// HeartbeatKey is set, with an expiry, by a live consumer: while it exists no
// other replica claims that consumer's pending entries, however long its
// window or its retries last.
func HeartbeatKey(stream, group, consumer string) string {
	return stream + ":alive:" + group + ":" + consumer
}

// JanitorLockKey makes one replica at a time trim the stream.
func JanitorLockKey(stream string) string { return stream + ":janitor" }

// ShardStreams returns the stream keys of n shards: the stream itself when
// n <= 1, else "<stream>:{0}" … "<stream>:{n-1}". The braces are a Redis
// Cluster hash tag: each shard, and every key derived from it by suffix (its
// dead letters, heartbeats, janitor lock), lives in one slot, so the shards
// spread over the cluster while each one's scripts stay single-slot.
func ShardStreams(stream string, n int) []string {
	if n <= 1 {
		return []string{stream}
	}
	s := make([]string, n)
	for i := range s {
		s[i] = stream + ":{" + strconv.Itoa(i) + "}"
	}
	return s
}

// ShardOf returns the shard of a mint among n: FNV-1a (32 bits) of the mint's
// bytes, modulo n. Every event of a mint goes to one shard, so entry IDs keep
// ordering them. Producers in other languages compute the same (docs/events.md).
func ShardOf(mint string, n int) int {
	if n <= 1 {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(mint); i++ {
		h ^= uint32(mint[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}
