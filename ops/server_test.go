package ops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	var readyErr error
	s := &Server{
		Ready:   func(context.Context) error { return readyErr },
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "tokensync_up 1\n") }),
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d while ready", code)
	}
	readyErr = errors.New("PostgreSQL writes failing for 3s; retrying")
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "PostgreSQL") {
		t.Errorf("/readyz = %d %q while not ready", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "tokensync_up") {
		t.Errorf("/metrics = %d %q", code, body)
	}
	if code, _ := get("/nope"); code != http.StatusNotFound {
		t.Errorf("/nope = %d", code)
	}
}

func TestServeStopsWithContext(t *testing.T) {
	s := &Server{Addr: "127.0.0.1:0", Ready: func(context.Context) error { return nil }}
	ln, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve returned %v after cancellation", err)
	}
}

// TestListenReportsTakenPort: a taken port fails at Listen, before the
// consumer starts any work.
func TestListenReportsTakenPort(t *testing.T) {
	held, err := (&Server{Addr: "127.0.0.1:0"}).Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if ln, err := (&Server{Addr: held.Addr().String()}).Listen(); err == nil {
		ln.Close()
		t.Fatal("Listen on a taken port succeeded")
	}
}
