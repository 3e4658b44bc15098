package producer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tokensync/tokensync/event"
)

// Source yields events for Pump. Next returns io.EOF when it has no more.
// An error wrapping *event.DecodeError or a *LineError marks one bad event:
// Pump reports it and goes on.
type Source interface {
	Next() (event.Event, error)
}

// Limit makes an endless source (a Generator) stop after n events; n = 0 means no limit.
func Limit(g *Generator, n int) Source { return &limited{g: g, left: n, unlimited: n == 0} }

type limited struct {
	g         *Generator
	left      int
	unlimited bool
}

func (l *limited) Next() (event.Event, error) {
	if !l.unlimited {
		if l.left == 0 {
			return event.Event{}, io.EOF
		}
		l.left--
	}
	return l.g.Next(), nil
}

// LineError is a line of JSON input that is not a valid event.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// JSONSource reads newline-delimited JSON objects whose keys are the wire
// fields: {"type":"market","mint":"…","price_usd":"0.0012"}. Values may be
// strings or JSON numbers (kept as written, never through a float) or null
// (absent). Blank lines are skipped.
func JSONSource(r io.Reader) Source {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	return &jsonSource{sc: sc}
}

type jsonSource struct {
	sc   *bufio.Scanner
	line int
}

func (s *jsonSource) Next() (event.Event, error) {
	for s.sc.Scan() {
		s.line++
		b := bytes.TrimSpace(s.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		ev, err := ParseJSON(b)
		if err != nil {
			return ev, &LineError{Line: s.line, Err: err}
		}
		return ev, nil
	}
	if err := s.sc.Err(); err != nil {
		return event.Event{}, fmt.Errorf("read input after line %d: %w", s.line, err)
	}
	return event.Event{}, io.EOF
}

// ParseJSON decodes one JSON object into an event, with the wire rules.
func ParseJSON(b []byte) (event.Event, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return event.Event{}, &event.DecodeError{Reason: "not a JSON object: " + err.Error()}
	}
	values := make(map[string]any, len(raw))
	for k, v := range raw {
		var s string
		switch {
		case len(v) == 0 || string(v) == "null":
			continue
		case v[0] == '"':
			if err := json.Unmarshal(v, &s); err != nil {
				return event.Event{}, &event.DecodeError{Field: k, Reason: err.Error()}
			}
		case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
			s = string(v) // a JSON number, exactly as written
		default:
			return event.Event{}, &event.DecodeError{Field: k, Reason: "want a string or a number, got " + string(v)}
		}
		values[k] = s
	}
	return event.FromValues(values)
}

// PumpConfig paces Pump.
type PumpConfig struct {
	Rate     float64       // events per second; 0 = as fast as possible
	Batch    int           // events per Publish; DefaultPipelineSize when 0
	Progress func(Stats)   // called about every ProgressEvery and at the end
	Every    time.Duration // 1s when 0
	// OnInvalid sees each bad event the source yields; it is skipped.
	OnInvalid func(error)
}

// Stats count what Pump did.
type Stats struct {
	Sent    int
	Invalid int
	Elapsed time.Duration
}

// Pump publishes what src yields until it returns io.EOF or ctx ends, in
// batches, at cfg.Rate. It stops at the first Redis error.
func (p *Producer) Pump(ctx context.Context, src Source, cfg PumpConfig) (Stats, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = p.cfg.PipelineSize
	}
	if cfg.Rate > 0 {
		// Small batches keep a paced stream smooth: about ten per second.
		cfg.Batch = max(1, min(cfg.Batch, int(cfg.Rate/10)))
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	var st Stats
	start := time.Now()
	lastReport := start
	buf := make([]event.Event, 0, cfg.Batch)
	report := func() {
		st.Elapsed = time.Since(start)
		if cfg.Progress != nil {
			cfg.Progress(st)
		}
	}
	send := func() error {
		if len(buf) == 0 {
			return nil
		}
		ids, err := p.Publish(ctx, buf)
		st.Sent += len(ids)
		buf = buf[:0]
		return err
	}
	for ctx.Err() == nil {
		ev, err := src.Next()
		var de *event.DecodeError
		var le *LineError
		switch {
		case errors.Is(err, io.EOF):
			err = send()
			report()
			return st, err
		case errors.As(err, &le) || errors.As(err, &de):
			st.Invalid++
			if cfg.OnInvalid != nil {
				cfg.OnInvalid(err)
			}
			continue
		case err != nil:
			report()
			return st, err
		}
		buf = append(buf, ev)
		if len(buf) < cfg.Batch {
			continue
		}
		if err := send(); err != nil {
			report()
			return st, err
		}
		if cfg.Rate > 0 {
			due := start.Add(time.Duration(float64(st.Sent) / cfg.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
		if time.Since(lastReport) >= cfg.Every {
			lastReport = time.Now()
			report()
		}
	}
	report()
	return st, nil
}
