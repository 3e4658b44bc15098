// Package bench measures tokensync against the Redis and PostgreSQL it is
// given, side by side with the machine's own read ceiling and with the
// per-event upsert tokensync replaces. `tokensync bench` (and `make bench`)
// runs it; docs/benchmarks.md shows and explains a run.
//
// Scenarios, each selectable (Config.Scenarios):
//
//   - produce: producer.Publish against raw pipelined XADD of the same fields.
//   - ceiling: raw XREADGROUP COUNT 1000 + one XACK per reply over a
//     pre-loaded stream, with 1 and 2 readers: nothing decoded, nothing written.
//   - drain: consumer.New + Run, 1 and 2 replicas, over the same stream until
//     the group has nothing unread or pending. With Config.Cluster it also
//     runs over Config.Shards hash-tagged shards on the same server
//     (sharded-drain-N) and on the Redis Cluster (cluster-drain-N), and
//     every drain row reports per Redis node the slots, shards and entries
//     it holds and the CPU time of its redis-server process; each drain then
//     ends when every entry is read and the stopped replicas have written
//     and acknowledged the rest.
//   - buffer: one consumer holds the whole stream in one window: live heap
//     per buffered mint; then it writes the window in one flush.
//   - replay: consumer.Replay of the stream into an empty table, again
//     (nothing newer), and again after a VACUUM.
//   - direct: one autocommit upsert per event, the write path tokensync replaces.
//   - steady: a paced producer with one consumer per flush interval:
//     event-to-commit latency per event.
//
// Every scenario that writes starts from a CHECKPOINT and ends with one, and
// PostgreSQL's counters are read only once the scenario's sessions have ended
// and published their statistics. The bench works in its own database
// (Config.Database, dropped and created at the start, dropped at the end)
// and in Redis keys under Config.KeyPrefix, deleted at the end.
//
// Run returns a Report; Report.WriteTable prints it, Report.WriteMarkdown
// writes it as a Markdown document and Report.WriteJSON keeps it. A scenario's figures are only as good as the machine is quiet:
// the report notes background load and other databases' commits.
package bench
