package event

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Type names what an event describes. Each type carries the full current
// snapshot of its own fields.
type Type string

// The event types of the wire format.
const (
	TypeToken     Type = "token"
	TypeMigration Type = "migration"
	TypePool      Type = "pool"
	TypeMarket    Type = "market"
)

// Types lists every event type in documentation order.
var Types = []Type{TypeToken, TypeMigration, TypePool, TypeMarket}

// ParseType returns the Type named s.
func ParseType(s string) (Type, bool) {
	switch t := Type(s); t {
	case TypeToken, TypeMigration, TypePool, TypeMarket:
		return t, true
	}
	return "", false
}

// Wire field names. Producers in other languages use these literals.
const (
	FieldType         = "type"
	FieldMint         = "mint"
	FieldTS           = "ts"
	FieldName         = "name"
	FieldSymbol       = "symbol"
	FieldURI          = "uri"
	FieldCreator      = "creator"
	FieldCreatedAt    = "created_at"
	FieldPool         = "pool"
	FieldDex          = "dex"
	FieldMigratedAt   = "migrated_at"
	FieldPriceUSD     = "price_usd"
	FieldMarketCapUSD = "market_cap_usd"
	FieldLiquidityUSD = "liquidity_usd"
	FieldVolume24hUSD = "volume_24h_usd"
)

// Fields returns the wire fields a type carries besides type, mint and ts.
func (t Type) Fields() []string {
	switch t {
	case TypeToken:
		return []string{FieldName, FieldSymbol, FieldURI, FieldCreator, FieldCreatedAt}
	case TypePool:
		return []string{FieldPool, FieldDex}
	case TypeMigration:
		return []string{FieldPool, FieldDex, FieldMigratedAt}
	case TypeMarket:
		return []string{FieldPriceUSD, FieldMarketCapUSD, FieldLiquidityUSD, FieldVolume24hUSD}
	}
	return nil
}

// Limits of the wire format, checked by Validate.
const (
	MinMintLen  = 32
	MaxMintLen  = 44
	MaxTextLen  = 4096 // bytes of one text field
	MaxNumLen   = 100  // characters of one decimal string
	MaxExponent = 1000 // magnitude of a decimal exponent
)

// Event is one decoded stream entry. Empty strings and zero times mean the
// field was absent (NULL): every event is a full snapshot of its type's fields.
// Decimal fields hold the producer's decimal string, stored exactly.
type Event struct {
	ID   ID // set by Decode; zero before the event is appended
	Type Type
	Mint string
	TS   time.Time // event time; zero means "use the entry time"

	// token
	Name, Symbol, URI, Creator string
	CreatedAt                  time.Time

	// pool and migration
	Pool, Dex string

	// migration
	MigratedAt time.Time

	// market
	PriceUSD, MarketCapUSD, LiquidityUSD, Volume24hUSD string
}

// Time returns the event time: TS when the producer set it, else the time in
// the entry ID.
func (e *Event) Time() time.Time {
	if !e.TS.IsZero() {
		return e.TS
	}
	return time.UnixMilli(int64(e.ID.Ms)).UTC()
}

// DecodeError says why an entry or event is malformed; use errors.As.
type DecodeError struct {
	Field  string // the offending wire field, empty when the entry as a whole is bad
	Reason string
}

func (e *DecodeError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("field %s: %s", e.Field, e.Reason)
}

func bad(field, format string, args ...any) error {
	return &DecodeError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Decode parses one stream entry. Fields the entry's type does not carry are
// ignored, so producers may add fields before consumers know them.
func Decode(id string, values map[string]any) (Event, error) {
	parsed, err := ParseID(id)
	if err != nil {
		return Event{}, bad("", "entry ID %q: %v", id, err)
	}
	ev, err := FromValues(values)
	ev.ID = parsed
	return ev, err
}

// FromValues is Decode for an event that is not in a stream yet (its ID stays
// zero), such as a line of JSON on its way to the producer.
func FromValues(values map[string]any) (Event, error) {
	var ev Event
	var err error
	if len(values) == 0 {
		return ev, bad("", "entry has no fields (deleted from the stream?)")
	}
	str := func(field string) (string, error) {
		switch v := values[field].(type) {
		case nil:
			return "", nil
		case string:
			return v, nil
		default:
			return "", bad(field, "value of Go type %T", v)
		}
	}
	tm := func(field string) (time.Time, error) {
		s, err := str(field)
		if err != nil || s == "" {
			return time.Time{}, err
		}
		return ParseTime(field, s)
	}
	ts, err := str(FieldType)
	if err != nil {
		return ev, err
	}
	var ok bool
	if ev.Type, ok = ParseType(ts); !ok {
		if ts == "" {
			return ev, bad(FieldType, "missing")
		}
		return ev, bad(FieldType, "unknown type %q (want token, migration, pool or market)", clip(ts))
	}
	if ev.Mint, err = str(FieldMint); err != nil {
		return ev, err
	}
	if ev.TS, err = tm(FieldTS); err != nil {
		return ev, err
	}
	// Each branch reads exactly the fields of Type.Fields.
	switch ev.Type {
	case TypeToken:
		if ev.Name, err = str(FieldName); err != nil {
			return ev, err
		}
		if ev.Symbol, err = str(FieldSymbol); err != nil {
			return ev, err
		}
		if ev.URI, err = str(FieldURI); err != nil {
			return ev, err
		}
		if ev.Creator, err = str(FieldCreator); err != nil {
			return ev, err
		}
		if ev.CreatedAt, err = tm(FieldCreatedAt); err != nil {
			return ev, err
		}
	case TypeMigration:
		if ev.MigratedAt, err = tm(FieldMigratedAt); err != nil {
			return ev, err
		}
		fallthrough
	case TypePool:
		if ev.Pool, err = str(FieldPool); err != nil {
			return ev, err
		}
		if ev.Dex, err = str(FieldDex); err != nil {
			return ev, err
		}
	case TypeMarket:
		if ev.PriceUSD, err = str(FieldPriceUSD); err != nil {
			return ev, err
		}
		if ev.MarketCapUSD, err = str(FieldMarketCapUSD); err != nil {
			return ev, err
		}
		if ev.LiquidityUSD, err = str(FieldLiquidityUSD); err != nil {
			return ev, err
		}
		if ev.Volume24hUSD, err = str(FieldVolume24hUSD); err != nil {
			return ev, err
		}
	}
	return ev, ev.Validate()
}

// Validate checks an event against the wire format's rules; Decode applies the
// same rules, so an event that validates is one every consumer accepts.
func (e *Event) Validate() error {
	if _, ok := ParseType(string(e.Type)); !ok {
		return bad(FieldType, "unknown type %q (want token, migration, pool or market)", clip(string(e.Type)))
	}
	if err := checkMint(e.Mint); err != nil {
		return err
	}
	// Fixed arrays and bit masks: Validate runs for every entry read and
	// every event published, and must not allocate.
	self := typeBit(e.Type)
	texts := [...]struct {
		field, v string
		owners   uint8
	}{
		{FieldName, e.Name, bitToken},
		{FieldSymbol, e.Symbol, bitToken},
		{FieldURI, e.URI, bitToken},
		{FieldCreator, e.Creator, bitToken},
		{FieldPool, e.Pool, bitPool | bitMigration},
		{FieldDex, e.Dex, bitPool | bitMigration},
	}
	for _, f := range texts {
		if f.v == "" {
			continue
		}
		if f.owners&self == 0 {
			return bad(f.field, "not carried by type %s", e.Type)
		}
		if err := checkText(f.field, f.v); err != nil {
			return err
		}
	}
	nums := [...]struct{ field, v string }{
		{FieldPriceUSD, e.PriceUSD}, {FieldMarketCapUSD, e.MarketCapUSD},
		{FieldLiquidityUSD, e.LiquidityUSD}, {FieldVolume24hUSD, e.Volume24hUSD},
	}
	for _, f := range nums {
		if f.v == "" {
			continue
		}
		if self != bitMarket {
			return bad(f.field, "not carried by type %s", e.Type)
		}
		if err := checkDecimal(f.field, f.v); err != nil {
			return err
		}
	}
	times := [...]struct {
		field  string
		v      time.Time
		owners uint8
	}{
		{FieldTS, e.TS, bitToken | bitMigration | bitPool | bitMarket},
		{FieldCreatedAt, e.CreatedAt, bitToken},
		{FieldMigratedAt, e.MigratedAt, bitMigration},
	}
	for _, f := range times {
		if f.v.IsZero() {
			continue
		}
		if f.owners&self == 0 {
			return bad(f.field, "not carried by type %s", e.Type)
		}
		if f.v.Before(minTime) || f.v.After(maxTime) {
			return bad(f.field, "time %s outside years 0001 to 9999", f.v.Format(time.RFC3339Nano))
		}
	}
	return nil
}

const (
	bitToken uint8 = 1 << iota
	bitMigration
	bitPool
	bitMarket
)

func typeBit(t Type) uint8 {
	switch t {
	case TypeToken:
		return bitToken
	case TypeMigration:
		return bitMigration
	case TypePool:
		return bitPool
	case TypeMarket:
		return bitMarket
	}
	return 0
}

// Values returns the entry's wire fields for XADD: type, mint, ts when set and
// the type's fields that are not empty. Times are written as RFC 3339 UTC.
func (e *Event) Values() []any {
	v := make([]any, 0, 16)
	v = append(v, FieldType, string(e.Type), FieldMint, e.Mint)
	addS := func(f, s string) {
		if s != "" {
			v = append(v, f, s)
		}
	}
	addT := func(f string, t time.Time) {
		if !t.IsZero() {
			v = append(v, f, FormatTime(t))
		}
	}
	addT(FieldTS, e.TS)
	switch e.Type {
	case TypeToken:
		addS(FieldName, e.Name)
		addS(FieldSymbol, e.Symbol)
		addS(FieldURI, e.URI)
		addS(FieldCreator, e.Creator)
		addT(FieldCreatedAt, e.CreatedAt)
	case TypeMigration:
		addT(FieldMigratedAt, e.MigratedAt)
		fallthrough
	case TypePool:
		addS(FieldPool, e.Pool)
		addS(FieldDex, e.Dex)
	case TypeMarket:
		addS(FieldPriceUSD, e.PriceUSD)
		addS(FieldMarketCapUSD, e.MarketCapUSD)
		addS(FieldLiquidityUSD, e.LiquidityUSD)
		addS(FieldVolume24hUSD, e.Volume24hUSD)
	}
	return v
}

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// ErrBadTime is wrapped by ParseTime's errors; use errors.Is.
var ErrBadTime = errors.New("not an RFC 3339 time or Unix milliseconds")

// ParseTime parses an RFC 3339 time or a count of Unix milliseconds. The result
// is in UTC, rounded to the microsecond PostgreSQL stores.
func ParseTime(field, s string) (time.Time, error) {
	var t time.Time
	if isDigits(s) {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms > maxTime.UnixMilli() {
			return t, bad(field, "%v: %q is out of range", ErrBadTime, clip(s))
		}
		t = time.UnixMilli(ms)
	} else {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return t, bad(field, "%v: %q", ErrBadTime, clip(s))
		}
	}
	t = t.UTC().Round(time.Microsecond)
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, bad(field, "time %q outside years 0001 to 9999", clip(s))
	}
	return t, nil
}

// FormatTime writes t as producers should: RFC 3339 in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var isBase58 [256]bool

func init() {
	for i := 0; i < len(base58Alphabet); i++ {
		isBase58[base58Alphabet[i]] = true
	}
}

func checkMint(m string) error {
	if m == "" {
		return bad(FieldMint, "missing")
	}
	if len(m) < MinMintLen || len(m) > MaxMintLen {
		return bad(FieldMint, "%q has %d characters, want %d to %d", clip(m), len(m), MinMintLen, MaxMintLen)
	}
	for i := 0; i < len(m); i++ {
		if !isBase58[m[i]] {
			return bad(FieldMint, "%q is not base58 (character %q at %d)", m, m[i], i)
		}
	}
	return nil
}

func checkText(field, s string) error {
	if len(s) > MaxTextLen {
		return bad(field, "%d bytes, at most %d allowed", len(s), MaxTextLen)
	}
	if !utf8.ValidString(s) {
		return bad(field, "not valid UTF-8")
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return bad(field, "contains a NUL byte, which PostgreSQL text cannot hold")
		}
	}
	return nil
}

// checkDecimal accepts what PostgreSQL's numeric input accepts, minus NaN,
// Infinity and surrounding spaces: [+-]digits[.digits][e[+-]digits], with at
// least one digit in the mantissa.
func checkDecimal(field, s string) error {
	fail := func() error { return bad(field, "%q is not a decimal number", clip(s)) }
	if len(s) > MaxNumLen {
		return bad(field, "%d characters, at most %d allowed", len(s), MaxNumLen)
	}
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			digits++
		}
	}
	if digits == 0 {
		return fail()
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		j := i
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !isDigits(s[i:]) {
			return fail()
		}
		if exp, err := strconv.Atoi(s[j:]); err != nil || exp > MaxExponent || exp < -MaxExponent {
			return bad(field, "%q: exponent beyond ±%d", clip(s), MaxExponent)
		}
		i = len(s)
	}
	if i != len(s) {
		return fail()
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// clip keeps error messages (and dead-letter reasons) short.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
