// Package event is the wire format shared by producers and consumers: a stream
// entry is a flat list of field/value pairs, readable with XRANGE and writable
// with a plain XADD from any language. docs/events.md is the public contract;
// this package is its reference implementation.
//
// Decode is the only place where entries are validated. The producer calls it
// on every event before sending, and the consumer calls it on every entry it
// reads, so an entry the producer accepts is one the consumer can store.
package event
