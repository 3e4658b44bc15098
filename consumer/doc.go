// Package consumer reads a stream through a consumer group, coalesces events
// per mint in memory, writes each window to PostgreSQL in one statement and
// acknowledges the window's entries only after that statement committed.
//
// Delivery is at least once: an entry whose flush did not commit stays in the
// group's pending list and is read again (by this consumer from ID 0 at its
// next start). Re-applying an entry is harmless because the store keeps, per
// mint and column group, only the event with the highest entry ID.
//
// Run owns its goroutines: one reader per stream shard (XREADGROUP and
// decoding), a claimer that takes over dead consumers' entries, a heartbeat,
// a janitor that trims, the coalescing loop that merges events into the open
// window, and one flush at a time. The readers keep filling the next window
// while the previous one commits; when the buffer is full, the loop stops
// taking batches and the readers block, so memory stays bounded and the
// backlog waits in Redis.
package consumer
