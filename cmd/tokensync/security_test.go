package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokensync/tokensync/internal/testenv"
)

// aclRules is the least-privilege Redis ACL that docs/operations.md
// documents; TestACLUserRunsEndToEnd proves it is enough.
func aclRules(keyPattern, password string) []any {
	rules := []any{"on", ">" + password, "~" + keyPattern, "resetchannels", "-@all"}
	for _, c := range strings.Fields(`+hello +ping +auth +client|setname +client|setinfo +time +select
		+xadd +xreadgroup +xack +xclaim +xpending +xrange +xlen +xtrim +xdel
		+xgroup|create +xgroup|delconsumer +xinfo|groups +xinfo|consumers +xinfo|stream
		+set +exists +del +scan +evalsha +eval +script|load`) {
		rules = append(rules, c)
	}
	return rules
}

// TestACLUserRunsEndToEnd: a Redis user limited to the documented commands
// on tokensync's keys can produce and consume end to end.
func TestACLUserRunsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	pool, dbURL := testenv.Schema(t)
	rdb, prefix := testenv.Redis(t)
	ctx := context.Background()
	user, password := testenv.Name("tokensync-acl-"), "s3cret-"+testenv.Name("")
	args := append([]any{"ACL", "SETUSER", user}, aclRules(prefix+"*", password)...)
	if err := rdb.Do(ctx, args...).Err(); err != nil {
		// CLIENT SETINFO only exists from Redis 7.2 on; 7.0 refuses the rule.
		var kept []any
		for _, a := range args {
			if a != "+client|setinfo" {
				kept = append(kept, a)
			}
		}
		if err := rdb.Do(ctx, kept...).Err(); err != nil {
			t.Fatalf("ACL SETUSER: %v", err)
		}
	}
	t.Cleanup(func() { rdb.Do(context.Background(), "ACL", "DELUSER", user) })

	u, _ := url.Parse(testenv.RedisURL())
	u.User = url.UserPassword(user, password)
	env := map[string]string{
		"TOKENSYNC_REDIS_URL":      u.String(),
		"TOKENSYNC_DATABASE_URL":   dbURL,
		"TOKENSYNC_STREAM":         prefix + "events",
		"TOKENSYNC_FLUSH_INTERVAL": "100ms",
		"TOKENSYNC_TRIM_INTERVAL":  "200ms",
		"TOKENSYNC_CLAIM_INTERVAL": "200ms",
		"TOKENSYNC_METRICS_ADDR":   "",
	}
	c := start(t, "consumer", env, "consume")
	prod := start(t, "producer", env, "produce", "--synthetic", "--count", "5000", "--mints", "300", "--seed", "4")
	select {
	case <-prod.done:
	case <-time.After(time.Minute):
		t.Fatal("producer did not finish")
	}
	if code := prod.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("produce exited %d:\n%s", code, prod.output())
	}
	testenv.WaitDrained(t, rdb, prefix+"events", "tokensync", time.Minute)
	// Let a janitor and a claim pass run under the ACL as well.
	if !c.waitLine(`"message":"consuming"`, 10*time.Second) {
		t.Fatalf("consumer did not start:\n%s", c.output())
	}
	time.Sleep(500 * time.Millisecond)
	if code := c.stop(30 * time.Second); code != 0 {
		t.Fatalf("consume exited %d:\n%s", code, c.output())
	}
	if strings.Contains(c.output(), "NOPERM") || strings.Contains(c.output(), `"level":"error"`) {
		t.Fatalf("the ACL user hit errors:\n%s", c.output())
	}
	evs, _ := testenv.StreamEvents(t, rdb, prefix+"events")
	testenv.RequireTable(t, pool, testenv.Fold(evs))
}

// TestPasswordsNeverLogged: with passwords in both URLs and the servers
// refusing them, every line the processes write is free of them.
func TestPasswordsNeverLogged(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	_, dbURL := testenv.Schema(t)
	_, prefix := testenv.Redis(t)
	const secret = "hunter2-do-not-log"
	redisURL, _ := url.Parse(testenv.RedisURL())
	redisURL.User = url.UserPassword("nobody", secret) // WRONGPASS
	pgURL, _ := url.Parse(dbURL)
	pgURL.User = url.UserPassword("postgres", secret) // trust auth lets it in: Redis is what fails
	env := map[string]string{
		"TOKENSYNC_REDIS_URL":    redisURL.String(),
		"TOKENSYNC_DATABASE_URL": pgURL.String(),
		"TOKENSYNC_STREAM":       prefix + "events",
		"TOKENSYNC_METRICS_ADDR": "",
		"TOKENSYNC_LOG_LEVEL":    "debug",
	}
	c := start(t, "consumer", env, "consume")
	if !c.waitLine("WRONGPASS", 30*time.Second) {
		t.Fatalf("no Redis authentication failure logged:\n%s", c.output())
	}
	p := start(t, "producer", env, "produce", "--synthetic", "--count", "10")
	<-p.done
	c.stop(30 * time.Second)
	// PostgreSQL refusing: nothing listens on the port.
	env["TOKENSYNC_DATABASE_URL"] = fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/tokensync?connect_timeout=1", secret, freePort(t))
	m := start(t, "migrate", env, "migrate")
	<-m.done
	for name, out := range map[string]string{"consume": c.output(), "produce": p.output(), "migrate": m.output()} {
		if strings.Contains(out, secret) {
			t.Fatalf("%s logged a password:\n%s", name, out)
		}
		if out == "" {
			t.Errorf("%s logged nothing", name)
		}
	}
	if !strings.Contains(c.output(), "xxxxx") {
		t.Errorf("consume did not log the redacted URLs:\n%s", c.output())
	}
	// A malformed URL is refused without echoing it.
	bad := start(t, "bad", map[string]string{"TOKENSYNC_DATABASE_URL": "postgres://u:" + secret + "@host:notaport/db"}, "migrate")
	<-bad.done
	if out := bad.output(); strings.Contains(out, secret) || !strings.Contains(out, "TOKENSYNC_DATABASE_URL") {
		t.Fatalf("config error leaks or lacks the variable:\n%s", out)
	}
}

// TestOperationsDocShowsTestedACL keeps docs/operations.md's ACL line equal
// to the rules TestACLUserRunsEndToEnd proves.
func TestOperationsDocShowsTestedACL(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range aclRules("tokensync:*", "CHANGE-ME") {
		want = append(want, fmt.Sprint(r))
	}
	line := "ACL SETUSER tokensync " + strings.Join(want, " ")
	if !strings.Contains(string(doc), line) {
		t.Fatalf("docs/operations.md lacks the tested ACL line:\n%s", line)
	}
}
