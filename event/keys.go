package event

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
