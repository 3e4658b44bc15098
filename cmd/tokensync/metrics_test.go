package main

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/tokensync/tokensync/internal/testenv"
)

// scrape returns every sample of /metrics as name → summed value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.Metric {
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[name] += m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name] += m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"] += float64(m.GetHistogram().GetSampleCount())
			}
			for _, l := range m.Label {
				if l.GetName() == "type" || l.GetName() == "reason" || l.GetName() == "op" {
					out[fmt.Sprintf("%s{%s}", name, l.GetValue())] += valueOf(f.GetType(), m)
				}
			}
		}
	}
	return out
}

func valueOf(t dto.MetricType, m *dto.Metric) float64 {
	if t == dto.MetricType_GAUGE {
		return m.GetGauge().GetValue()
	}
	return m.GetCounter().GetValue()
}

// httpStatus returns the status of GET path, or 0 when the server does not answer.
func httpStatus(addr, path string) int {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsMoveWithProcessing scrapes a real consumer before and after it
// processed a known workload, malformed entries included.
func TestMetricsMoveWithProcessing(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	pool, dbURL := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := map[string]string{
		"TOKENSYNC_REDIS_URL":      testenv.RedisURL(),
		"TOKENSYNC_DATABASE_URL":   dbURL,
		"TOKENSYNC_STREAM":         prefix + "events",
		"TOKENSYNC_FLUSH_INTERVAL": "100ms",
		"TOKENSYNC_METRICS_ADDR":   addr,
	}
	c := start(t, "consumer", env, "consume")
	deadline := time.Now().Add(30 * time.Second)
	for httpStatus(addr, "/readyz") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never ready:\n%s", c.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if httpStatus(addr, "/healthz") != http.StatusOK {
		t.Fatal("/healthz not OK")
	}
	before := scrape(t, addr)
	if before["tokensync_events_read_total"] != 0 || before["tokensync_up"] != 1 {
		t.Fatalf("fresh consumer: read %v, up %v", before["tokensync_events_read_total"], before["tokensync_up"])
	}

	p := start(t, "producer", env, "produce", "--synthetic", "--count", "3000", "--mints", "200", "--seed", "5")
	<-p.done
	for range 3 {
		bad := &redis.XAddArgs{Stream: prefix + "events", Values: []any{"type", "trade", "mint", "x"}}
		if err := rdb.XAdd(t.Context(), bad).Err(); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitDrained(t, rdb, prefix+"events", "tokensync", time.Minute)
	after := scrape(t, addr)

	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s = %v after the run", name, after[name])
		}
	}
	check("tokensync_events_read_total", after["tokensync_events_read_total"] == 3003)
	check("tokensync_events_read_total{unknown}", after["tokensync_events_read_total{unknown}"] == 3)
	check("tokensync_events_applied_total", after["tokensync_events_applied_total"] == 3000)
	check("tokensync_events_applied_total{market}", after["tokensync_events_applied_total{market}"] > 0)
	check("tokensync_events_dead_lettered_total{malformed}", after["tokensync_events_dead_lettered_total{malformed}"] == 3)
	check("tokensync_flushes_total", after["tokensync_flushes_total"] >= 1)
	check("tokensync_flush_duration_seconds_count", after["tokensync_flush_duration_seconds_count"] == after["tokensync_flushes_total"])
	check("tokensync_postgres_transactions_total", after["tokensync_postgres_transactions_total"] >= 1)
	check("tokensync_rows_written_total", after["tokensync_rows_written_total"] > 0)
	check("tokensync_coalescing_ratio", after["tokensync_coalescing_ratio"] > 1)
	check("tokensync_group_lag", after["tokensync_group_lag"] == 0)
	check("tokensync_pending_entries", after["tokensync_pending_entries"] == 0)
	check("tokensync_buffered_mints", after["tokensync_buffered_mints"] == 0)
	check("tokensync_up", after["tokensync_up"] == 1)
	if code := c.stop(30 * time.Second); code != 0 {
		t.Fatalf("consume exited %d", code)
	}
	evs, _ := testenv.StreamEvents(t, rdb, prefix+"events")
	testenv.RequireTable(t, pool, testenv.Fold(evs))
}
