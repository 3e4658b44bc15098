package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeFile loads docker-compose.yml with the loader Docker Compose
// itself uses (no Docker engine runs on CI machines) and checks what the
// README promises: persistent Redis, a healthy PostgreSQL before anything
// starts, two consumer replicas, a demo producer behind a profile, and
// environment that tokensync accepts.
func TestComposeFile(t *testing.T) {
	path, err := filepath.Abs("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	load := func(profiles ...string) *types.Project {
		t.Helper()
		opts, err := cli.NewProjectOptions([]string{path},
			cli.WithWorkingDirectory(filepath.Dir(path)), cli.WithEnv(nil), cli.WithProfiles(profiles))
		if err != nil {
			t.Fatal(err)
		}
		p, err := opts.LoadProject(context.Background())
		if err != nil {
			t.Fatalf("load %s: %v", path, err)
		}
		return p
	}
	p := load()
	svc := func(name string) types.ServiceConfig {
		s, err := p.GetService(name)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		return s
	}

	redis := strings.Join(svc("redis").Command, " ")
	if !strings.Contains(redis, "--appendonly yes") || !strings.Contains(redis, "--appendfsync everysec") {
		t.Errorf("redis command %q: want appendonly yes and appendfsync everysec", redis)
	}
	for _, name := range []string{"redis", "postgres"} {
		if hc := svc(name).HealthCheck; hc == nil || len(hc.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
	}
	c := svc("consumer")
	if c.Deploy == nil || c.Deploy.Replicas == nil || *c.Deploy.Replicas != 2 {
		t.Errorf("consumer replicas: %+v, want 2", c.Deploy)
	}
	for dep, cond := range map[string]string{"redis": "service_healthy", "postgres": "service_healthy", "migrate": "service_completed_successfully"} {
		if got := c.DependsOn[dep].Condition; got != cond {
			t.Errorf("consumer depends on %s with %q, want %q", dep, got, cond)
		}
	}
	if _, err := p.GetService("producer"); err == nil {
		t.Error("the demo producer runs without the demo profile")
	}
	if _, err := load("demo").GetService("producer"); err != nil {
		t.Errorf("profile demo lacks the producer: %v", err)
	}

	// Every service running tokensync gets environment it accepts.
	for _, s := range load("demo").Services {
		if s.Image != "tokensync:dev" {
			continue
		}
		env := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			}
		}
		if _, err := loadConfig(env); err != nil {
			t.Errorf("service %s: %v", s.Name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "Dockerfile")); err != nil {
		t.Errorf("compose builds from a Dockerfile that is missing: %v", err)
	}
}
