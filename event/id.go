package event

import (
	"errors"
	"strconv"
	"strings"
)

// ID is a Redis stream entry ID. IDs order events: for every mint and column
// group the event with the highest ID wins.
type ID struct {
	Ms  uint64
	Seq uint64
}

// ErrBadID is returned by ParseID; use errors.Is.
var ErrBadID = errors.New("not a stream entry ID")

// ParseID parses "ms-seq" (a bare "ms" means seq 0, as in Redis).
func ParseID(s string) (ID, error) {
	msPart, seqPart, hasSeq := strings.Cut(s, "-")
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil {
		return ID{}, ErrBadID
	}
	var seq uint64
	if hasSeq {
		if seq, err = strconv.ParseUint(seqPart, 10, 64); err != nil {
			return ID{}, ErrBadID
		}
	}
	return ID{Ms: ms, Seq: seq}, nil
}

// String formats the ID as Redis does.
func (id ID) String() string {
	b := make([]byte, 0, 41)
	return string(id.Append(b))
}

// Append appends the Redis form of the ID to b.
func (id ID) Append(b []byte) []byte {
	b = strconv.AppendUint(b, id.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, id.Seq, 10)
}

// IsZero reports whether id is 0-0, which no stream entry can have.
func (id ID) IsZero() bool { return id.Ms == 0 && id.Seq == 0 }

// Compare returns -1, 0 or +1 as id is older than, equal to or newer than o.
func (id ID) Compare(o ID) int {
	switch {
	case id.Ms < o.Ms:
		return -1
	case id.Ms > o.Ms:
		return 1
	case id.Seq < o.Seq:
		return -1
	case id.Seq > o.Seq:
		return 1
	}
	return 0
}

// Next returns the smallest ID greater than id.
func (id ID) Next() ID {
	if id.Seq == ^uint64(0) {
		return ID{Ms: id.Ms + 1}
	}
	return ID{Ms: id.Ms, Seq: id.Seq + 1}
}
