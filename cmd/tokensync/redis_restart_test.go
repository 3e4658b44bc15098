package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/internal/testenv"
	"github.com/tokensync/tokensync/producer"
)

// TestRedisRestart restarts Redis (gracefully, append-only file on) under a
// consumer and a producer: the consumer must notice, keep running, reconnect
// by itself and end with exactly the reference fold of the stream.
func TestRedisRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("process test that restarts a private Redis")
	}
	const group = "tokensync"
	srv := startRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr()})
	t.Cleanup(func() { rdb.Close() })
	pool, dbURL := testenv.Schema(t)
	// The server is private, so no other test shares the key; the prefix
	// only keeps key names alike across tests.
	stream := testenv.Name("tokensync-test-") + ":events"
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	p := start(t, "consume", map[string]string{
		"TOKENSYNC_DATABASE_URL":   dbURL,
		"TOKENSYNC_REDIS_URL":      "redis://" + srv.addr() + "/0",
		"TOKENSYNC_STREAM":         stream,
		"TOKENSYNC_GROUP":          group,
		"TOKENSYNC_CONSUMER":       "restart",
		"TOKENSYNC_METRICS_ADDR":   metrics,
		"TOKENSYNC_FLUSH_INTERVAL": "200ms",
		"TOKENSYNC_TRIM_INTERVAL":  "0",
	}, "consume")
	dumpOnFailure(t, p)
	dumpPendingOnFailure(t, rdb, stream, group)

	prod := startProducing(t, rdb, stream, producer.Workload{Mints: 5_000, Seed: 7}, 2000)
	waitReady(t, p, metrics, http.StatusOK, 30*time.Second)
	waitCount(t, p, `"message":"flushed"`, 5, 30*time.Second)
	prod.waitSent(t, 10_000, time.Minute)

	lines := p.subscribe()
	srv.stop(t)
	down := time.Now()
	// Stay down long enough for the consumer's reads and its client's own
	// retries to fail, and see it report that.
	var sawError string
	for sawError == "" || time.Since(down) < 2500*time.Millisecond {
		if srv.answers() {
			t.Fatal("the stopped Redis still accepts connections")
		}
		select {
		case l := <-lines:
			if sawError == "" && strings.Contains(l, `"level":"error"`) {
				sawError = l
			}
		case <-p.done:
			t.Fatal("consume exited while Redis was down")
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(down) > 30*time.Second {
			t.Fatal("no error-level line within 30 s of stopping Redis")
		}
	}
	t.Logf("Redis down for %v; the consumer logged %s", time.Since(down).Round(time.Millisecond), sawError)
	srv.start(t)
	up := time.Now()

	// Production carries on after the restart; the consumer must flush
	// again without being restarted.
	flushed := countLines(p, `"message":"flushed"`)
	prod.waitSent(t, prod.count()+10_000, time.Minute)
	waitCount(t, p, `"message":"flushed"`, flushed+5, time.Minute)
	t.Logf("%d flushes in the %v after the restart", countLines(p, `"message":"flushed"`)-flushed, time.Since(up).Round(time.Millisecond))
	sent := prod.stop(t)
	testenv.WaitDrained(t, rdb, stream, group, 2*time.Minute)
	t.Logf("drained %v after the restart; %d events produced", time.Since(up).Round(time.Millisecond), sent)
	waitReady(t, p, metrics, http.StatusOK, 30*time.Second)
	if n := countLines(p, `"message":"consuming"`); n != 1 {
		t.Errorf("consume started consuming %d times; want once, reconnecting in place", n)
	}

	requireCleanEnd(t, p, rdb, pool, stream, group)
}

// redisServer is a redis-server process owned by one test, restartable on
// the same port and data directory.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis runs a private redis-server with an append-only file fsynced
// every second, the setting production runs with (see docker-compose.yml).
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	// TempDir first: its removal must come after the server's cleanup.
	s := &redisServer{port: freePort(t), dir: t.TempDir()}
	t.Cleanup(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	s.start(t)
	return s
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start launches the server and waits until it answers PING.
func (s *redisServer) start(t *testing.T) {
	t.Helper()
	cmd := exec.Command("redis-server",
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec",
		"--dir", s.dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(15 * time.Second)
	for !s.pings() {
		select {
		case <-done:
			t.Fatalf("redis-server exited at start:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server does not answer PING")
		}
	}
}

// stop shuts the server down gracefully (SIGTERM: the append-only file is
// flushed and fsynced) and waits until it is gone.
func (s *redisServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatal("redis-server did not exit within 30 s of SIGTERM")
	}
	s.cmd = nil
}

func (s *redisServer) pings() bool {
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return c.Ping(ctx).Err() == nil
}

// answers reports whether anything accepts connections on the port.
func (s *redisServer) answers() bool {
	c, err := net.DialTimeout("tcp", s.addr(), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestRedisConnectionCuts cuts the consumer's Redis connections 40 times for
// 50 ms while events keep coming. A cut can lose the reply of an XREADGROUP
// that Redis already executed: those entries are pending on the (live)
// consumer, which must read them again itself, since nobody claims from a
// live consumer.
func TestRedisConnectionCuts(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	pool, dbURL := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	stream := prefix + "events"
	opt, _ := redis.ParseURL(testenv.RedisURL())
	px := newProxy(t, opt.Addr)
	c := start(t, "consumer", map[string]string{
		"TOKENSYNC_REDIS_URL":      "redis://" + px.addr() + "/" + strconv.Itoa(opt.DB),
		"TOKENSYNC_DATABASE_URL":   dbURL,
		"TOKENSYNC_STREAM":         stream,
		"TOKENSYNC_FLUSH_INTERVAL": "200ms",
		"TOKENSYNC_READ_BLOCK":     "100ms",
		"TOKENSYNC_METRICS_ADDR":   "",
	}, "consume")
	dumpOnFailure(t, c)
	pr := startProducing(t, rdb, stream, producer.Workload{Mints: 5000, Seed: 9}, 8000)
	pr.waitSent(t, 8000, 30*time.Second)
	for range 40 {
		px.setUp(false)
		time.Sleep(50 * time.Millisecond)
		px.setUp(true)
		time.Sleep(150 * time.Millisecond)
	}
	pr.stop(t)
	testenv.WaitDrained(t, rdb, stream, "tokensync", 2*time.Minute)
	requireCleanEnd(t, c, rdb, pool, stream, "tokensync")
}
