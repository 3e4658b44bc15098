package main

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestRedisClientKinds(t *testing.T) {
	tests := []struct {
		url     string
		cluster bool
		want    string // "single", "cluster" or "error"
	}{
		{"redis://127.0.0.1:6379/0", false, "single"},
		{"rediss://u:p@h:6380/2", false, "single"},
		{"redis://u:p@h1:7000,h2:7001,h3:7002", false, "cluster"},
		{"redis://h1:7000,h2:7001/0?dial_timeout=2s", false, "cluster"},
		{"redis://h1:7000?addr=h2:7001", false, "cluster"},
		{"redis://h1:7000", true, "cluster"},
		{"redis://h1:7000,h2:7001/3", false, "error"},
		{"h1:7000", false, "error"},
	}
	for _, tt := range tests {
		rdb, err := redisClient(tt.url, tt.cluster)
		got := "error"
		switch rdb.(type) {
		case *redis.Client:
			got = "single"
		case *redis.ClusterClient:
			got = "cluster"
		}
		if err == nil {
			rdb.Close()
		}
		if got != tt.want {
			t.Errorf("redisClient(%q, %v) = %s (%v), want %s", tt.url, tt.cluster, got, err, tt.want)
		}
	}
	opts, _, _ := clusterForm("redis://u:secret@h1:7000,h2:7001")
	if got := redactURL("redis://u:secret@h1:7000,h2:7001"); got != "redis://u:xxxxx@h1:7000?addr=h2%3A7001" {
		t.Errorf("redactURL = %q (cluster form %q)", got, opts)
	}
}

func TestClusterNeedsHashTags(t *testing.T) {
	if _, err := loadConfig(map[string]string{"TOKENSYNC_REDIS_URL": "redis://h1:7000,h2:7001"}); err == nil {
		t.Error("a cluster with one untagged stream was accepted")
	}
	for _, env := range []map[string]string{
		{"TOKENSYNC_REDIS_URL": "redis://h1:7000,h2:7001", "TOKENSYNC_SHARDS": "4"},
		{"TOKENSYNC_REDIS_URL": "redis://h1:7000,h2:7001", "TOKENSYNC_STREAM": "{tokensync}:events"},
	} {
		if _, err := loadConfig(env); err != nil {
			t.Errorf("%v: %v", env, err)
		}
	}
}
