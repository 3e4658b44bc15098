// Package producer appends events to the stream: it validates each event with
// the rules every consumer applies, then sends a batch as one pipeline of XADDs.
//
// The producer never trims the stream (no MAXLEN): a length cap cannot know
// which entries the consumer groups have not yet applied, and an entry trimmed
// before it is applied is an event lost. The consumer side trims safely, below
// the oldest entry any group still needs.
package producer
