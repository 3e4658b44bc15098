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
