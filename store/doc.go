// Package store owns the tokens table: its migrations, the in-memory form of
// a row (Row) with the merge rule, and the one statement that writes a flush.
//
// The merge rule is implemented twice on purpose, once in Row.Apply for the
// coalescing buffer and once in upsert_tokens.sql against the stored row, and
// both say the same thing: for each column group, the event with the highest
// stream entry ID wins; first_seen_at is the earliest event time. Tests check
// that any flush boundaries, duplicates and replica interleavings give the
// table an in-order fold would.
//
// Functions that take a *pgxpool.Pool leave closing it to the caller.
package store
