package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigDefaults(t *testing.T) {
	c, err := loadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if c.FlushInterval != 5*time.Second || c.UrgentDelay != 250*time.Millisecond || c.Stream != "tokensync:events" ||
		c.Group != "tokensync" || c.StartID != "0" || c.UrgentTypes != "migration" {
		t.Fatalf("defaults: %+v", c)
	}
}

// TestLoadConfigErrors: a bad value yields one line naming the variable and
// what is allowed, and never the password of a URL.
func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TOKENSYNC_FLUSH_INTERVAL": "5"}, `TOKENSYNC_FLUSH_INTERVAL="5" is invalid: want a duration`},
		{map[string]string{"TOKENSYNC_FLUSH_INTERVAL": "2h"}, `TOKENSYNC_FLUSH_INTERVAL="2h0m0s" is invalid`},
		{map[string]string{"TOKENSYNC_URGENT_DELAY": "0s"}, "TOKENSYNC_URGENT_DELAY"},
		{map[string]string{"TOKENSYNC_MAX_BATCH_MINTS": "many"}, "TOKENSYNC_MAX_BATCH_MINTS"},
		{map[string]string{"TOKENSYNC_MAX_BATCH_EVENTS": "0"}, "TOKENSYNC_MAX_BATCH_EVENTS"},
		{map[string]string{"TOKENSYNC_URGENT_TYPES": "migration,trade"}, "TOKENSYNC_URGENT_TYPES"},
		{map[string]string{"TOKENSYNC_START_ID": "latest"}, "TOKENSYNC_START_ID"},
		{map[string]string{"TOKENSYNC_LOG_LEVEL": "loud"}, "TOKENSYNC_LOG_LEVEL"},
		{map[string]string{"TOKENSYNC_REDIS_URL": "http://user:hunter2@host"}, "TOKENSYNC_REDIS_URL"},
		{map[string]string{"TOKENSYNC_DATABASE_URL": "mysql://user:hunter2@host/db"}, "TOKENSYNC_DATABASE_URL"},
	}
	for _, tt := range tests {
		_, err := loadConfig(tt.env)
		var ce configError
		if !errors.As(err, &ce) {
			t.Errorf("%v: error %v, want a configError", tt.env, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "hunter2") {
			t.Errorf("%v: error %q, want one line containing %q and no password", tt.env, msg, tt.want)
		}
	}
}

func TestUrgentTypesNone(t *testing.T) {
	c, err := loadConfig(map[string]string{"TOKENSYNC_URGENT_TYPES": "none"})
	if err != nil {
		t.Fatal(err)
	}
	types, _ := c.urgentTypes()
	if types == nil || len(types) != 0 {
		t.Fatalf("urgentTypes() = %#v, want an empty non-nil slice", types)
	}
}

func TestMetricsAddrCanBeDisabled(t *testing.T) {
	for _, v := range []string{"", "off"} {
		c, err := loadConfig(map[string]string{"TOKENSYNC_METRICS_ADDR": v})
		if err != nil || c.MetricsAddr != "" {
			t.Errorf("TOKENSYNC_METRICS_ADDR=%q: addr %q, err %v; want it disabled", v, c.MetricsAddr, err)
		}
	}
	if c, _ := loadConfig(map[string]string{}); c.MetricsAddr != "127.0.0.1:9464" {
		t.Errorf("default addr %q", c.MetricsAddr)
	}
}
