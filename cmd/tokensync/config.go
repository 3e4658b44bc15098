package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"golang.org/x/term"

	"github.com/tokensync/tokensync/consumer"
	"github.com/tokensync/tokensync/event"
)

const envPrefix = "TOKENSYNC_"

// config is the whole environment. Each field's hint says what is allowed;
// a bad value stops start-up with one line naming the variable and the hint.
type config struct {
	RedisURL     string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:6379/0" hint:"a redis:// or rediss:// URL such as redis://127.0.0.1:6379/0, or redis://h1:7000,h2:7001,h3:7002 for a cluster"`
	RedisCluster bool   `env:"REDIS_CLUSTER" envDefault:"false" hint:"true to treat a single-host TOKENSYNC_REDIS_URL as a cluster seed"`
	Shards       int    `env:"SHARDS" envDefault:"1" hint:"a number of stream shards from 1 to 1024, equal on producers and consumers"`
	DatabaseURL  string `env:"DATABASE_URL" envDefault:"postgres://127.0.0.1:5432/tokensync" hint:"a postgres:// URL such as postgres://user@127.0.0.1:5432/tokensync"`
	Stream       string `env:"STREAM" envDefault:"tokensync:events" hint:"a Redis key"`
	Group        string `env:"GROUP" envDefault:"tokensync" hint:"a consumer group name"`
	Consumer     string `env:"CONSUMER" hint:"a consumer name; the host name when unset"`
	StartID      string `env:"START_ID" envDefault:"0" hint:"0 (whole stream), $ (new entries only) or an entry ID"`

	FlushInterval   time.Duration `env:"FLUSH_INTERVAL" envDefault:"5s" hint:"a duration from 10ms to 1h such as 5s"`
	UrgentTypes     string        `env:"URGENT_TYPES" envDefault:"migration" hint:"a comma-separated list of token, migration, pool, market, or none"`
	UrgentDelay     time.Duration `env:"URGENT_DELAY" envDefault:"250ms" hint:"a duration from 1ms to 1h such as 250ms"`
	MaxBatchMints   int           `env:"MAX_BATCH_MINTS" envDefault:"20000" hint:"a positive number of distinct mints per flush"`
	MaxBatchEvents  int           `env:"MAX_BATCH_EVENTS" envDefault:"200000" hint:"a positive number of entries per flush"`
	ReadCount       int64         `env:"READ_COUNT" envDefault:"1000" hint:"a number of entries per XREADGROUP from 1 to 100000"`
	ReadBlock       time.Duration `env:"READ_BLOCK" envDefault:"1s" hint:"a duration from 1ms to 1m such as 1s"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s" hint:"a positive duration such as 15s"`

	MaxBufferedMints int           `env:"MAX_BUFFERED_MINTS" envDefault:"100000" hint:"a number of mints held in memory, at least TOKENSYNC_MAX_BATCH_MINTS"`
	ClaimIdle        time.Duration `env:"CLAIM_IDLE" envDefault:"30s" hint:"a duration of at least 300ms such as 30s"`
	ClaimInterval    time.Duration `env:"CLAIM_INTERVAL" envDefault:"5s" hint:"a positive duration such as 5s"`
	MaxDeliveries    int64         `env:"MAX_DELIVERIES" envDefault:"10" hint:"a positive number of deliveries"`
	Retain           time.Duration `env:"RETAIN" envDefault:"1h" hint:"a duration such as 1h (0 keeps no acknowledged history)"`
	TrimInterval     time.Duration `env:"TRIM_INTERVAL" envDefault:"30s" hint:"a duration such as 30s, or 0 to never trim"`

	MetricsAddr string `env:"METRICS_ADDR" envDefault:"127.0.0.1:9464" hint:"host:port for /metrics, /healthz and /readyz, or empty to disable"`

	LogLevel  string `env:"LOG_LEVEL" envDefault:"info" hint:"one of debug, info, warn, error"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"auto" hint:"one of json, console, auto (console on a terminal)"`
}

// configError is a bad environment; main exits 2 on it.
type configError struct{ msg string }

func (e configError) Error() string { return e.msg }

func badVar(field, value string) error {
	f, _ := reflect.TypeOf(config{}).FieldByName(field)
	return configError{fmt.Sprintf("%s%s=%q is invalid: want %s", envPrefix, f.Tag.Get("env"), value, f.Tag.Get("hint"))}
}

// loadConfig reads and checks the environment (lookup is os.LookupEnv
// outside tests).
func loadConfig(environ map[string]string) (config, error) {
	var c config
	err := env.ParseWithOptions(&c, env.Options{Prefix: envPrefix, Environment: environ})
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		var pe env.ParseError
		if errors.As(agg.Errors[0], &pe) {
			f, _ := reflect.TypeOf(c).FieldByName(pe.Name)
			return c, badVar(pe.Name, environ[envPrefix+f.Tag.Get("env")])
		}
		return c, configError{agg.Errors[0].Error()}
	}
	if err != nil {
		return c, configError{err.Error()}
	}
	// The env library treats a variable set to "" like an unset one; here
	// an empty address is the documented way to turn the listener off.
	if v, ok := environ[envPrefix+"METRICS_ADDR"]; ok && (v == "" || v == "off") {
		c.MetricsAddr = ""
	}
	return c, c.validate()
}

func (c *config) validate() error {
	rdb, err := redisClient(c.RedisURL, c.RedisCluster)
	if err != nil {
		return badVar("RedisURL", redactURL(c.RedisURL))
	}
	_, cluster := rdb.(*redis.ClusterClient)
	rdb.Close()
	// Scripts and MULTIs touch a stream and its derived keys together: on a
	// cluster they must share a slot, which the shard keys' hash tags ensure.
	if cluster && c.Shards < 2 && !strings.Contains(c.Stream, "{") {
		return configError{envPrefix + "SHARDS=1 on a Redis Cluster: want at least 2 shards (their keys carry hash tags), or a TOKENSYNC_STREAM with a hash tag such as {tokensync}:events"}
	}
	if _, err := pgxpool.ParseConfig(c.DatabaseURL); err != nil {
		return badVar("DatabaseURL", redactURL(c.DatabaseURL))
	}
	for field, ok := range map[string]bool{
		"Stream":           c.Stream != "",
		"Shards":           c.Shards >= 1 && c.Shards <= 1024,
		"Group":            c.Group != "",
		"FlushInterval":    c.FlushInterval >= 10*time.Millisecond && c.FlushInterval <= time.Hour,
		"UrgentDelay":      c.UrgentDelay >= time.Millisecond && c.UrgentDelay <= time.Hour,
		"MaxBatchMints":    c.MaxBatchMints > 0,
		"MaxBatchEvents":   c.MaxBatchEvents > 0,
		"ReadCount":        c.ReadCount > 0 && c.ReadCount <= 100_000,
		"ReadBlock":        c.ReadBlock >= time.Millisecond && c.ReadBlock <= time.Minute,
		"ShutdownTimeout":  c.ShutdownTimeout > 0,
		"MaxBufferedMints": c.MaxBufferedMints >= c.MaxBatchMints,
		"ClaimIdle":        c.ClaimIdle >= 300*time.Millisecond,
		"ClaimInterval":    c.ClaimInterval > 0,
		"MaxDeliveries":    c.MaxDeliveries > 0,
		"Retain":           c.Retain >= 0,
		"TrimInterval":     c.TrimInterval >= 0,
		"LogLevel":         oneOf(c.LogLevel, "debug", "info", "warn", "error"),
		"LogFormat":        oneOf(c.LogFormat, "json", "console", "auto"),
	} {
		if !ok {
			v := reflect.ValueOf(*c).FieldByName(field).Interface()
			return badVar(field, fmt.Sprint(v))
		}
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return badVar("MetricsAddr", c.MetricsAddr)
		}
	}
	if c.StartID != "$" {
		if _, err := event.ParseID(c.StartID); err != nil {
			return badVar("StartID", c.StartID)
		}
	}
	if _, err := c.urgentTypes(); err != nil {
		return badVar("UrgentTypes", c.UrgentTypes)
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (c *config) urgentTypes() ([]event.Type, error) {
	types := []event.Type{} // non-nil: "none" must not fall back to the default
	s := strings.TrimSpace(c.UrgentTypes)
	if s == "" || s == "none" {
		return types, nil
	}
	for _, part := range strings.Split(s, ",") {
		t, ok := event.ParseType(strings.TrimSpace(part))
		if !ok {
			return nil, fmt.Errorf("unknown type %q", part)
		}
		types = append(types, t)
	}
	return types, nil
}

func (c *config) consumer(log zerolog.Logger) consumer.Config {
	urgent, _ := c.urgentTypes()
	return consumer.Config{
		Stream: c.Stream, Shards: c.Shards, Group: c.Group, Consumer: c.Consumer, StartID: c.StartID,
		FlushInterval: c.FlushInterval, UrgentTypes: urgent, UrgentDelay: c.UrgentDelay,
		MaxBatchMints: c.MaxBatchMints, MaxBatchEvents: c.MaxBatchEvents,
		ReadCount: c.ReadCount, ReadBlock: c.ReadBlock, ShutdownTimeout: c.ShutdownTimeout,
		MaxBufferedMints: c.MaxBufferedMints, ClaimIdle: c.ClaimIdle, ClaimInterval: c.ClaimInterval,
		MaxDeliveries: c.MaxDeliveries,
		// The library reads 0 as "default"; here 0 means none kept.
		Retain:       max(c.Retain, time.Millisecond),
		TrimInterval: c.TrimInterval, DisableTrim: c.TrimInterval == 0,
		Logger: log,
	}
}

func (c *config) logger(w io.Writer) zerolog.Logger {
	lvl, _ := zerolog.ParseLevel(c.LogLevel)
	console := c.LogFormat == "console"
	if c.LogFormat == "auto" {
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			console = true
		}
	}
	if console {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
	}
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// redactURL hides the password of a URL; logs and errors only ever see this.
// A cluster URL's host list does not parse as a URL: it is redacted in the
// form go-redis reads.
func redactURL(s string) string {
	if cu, many, err := clusterForm(s); err == nil && many {
		s = cu
	}
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// streams are the stream keys of all shards.
func (c *config) streams() []string { return event.ShardStreams(c.Stream, c.Shards) }

func environ() map[string]string {
	m := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, envPrefix) {
			m[k] = v
		}
	}
	return m
}
