package produp

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartRefusesBadOptionsBeforeTouchingAnything(t *testing.T) {
	bins := t.TempDir()
	for _, b := range []string{TemporalServerBin, SQLToolBin, SecuroBin} {
		if err := os.WriteFile(filepath.Join(bins, b), nil, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	good := Options{BinDir: bins, PostgresURL: "postgres://postgres@127.0.0.1:5432/postgres", DatabasePrefix: "securo_prod"}
	for _, tc := range []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"a prefix that is not an identifier", func(o *Options) { o.DatabasePrefix = "prod; DROP DATABASE x" }, "database prefix"},
		{"an upper-case prefix", func(o *Options) { o.DatabasePrefix = "Prod" }, "database prefix"},
		{"binaries not built", func(o *Options) { o.BinDir = t.TempDir() }, "make prod-up"},
		{"a URL that is not PostgreSQL's", func(o *Options) { o.PostgresURL = "mysql://root@127.0.0.1/x" }, "want postgres://"},
		{"a URL without a host", func(o *Options) { o.PostgresURL = "postgres:///x" }, "want postgres://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := good
			o.Dir = filepath.Join(t.TempDir(), "state")
			tc.change(&o)
			_, err := Start(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Start: %v, want an error about %q", err, tc.want)
			}
			if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
				t.Errorf("Start made %s before refusing", o.Dir)
			}
		})
	}
}

func TestTemporalConfigKeepsEveryPortBelowTheSmallintLimit(t *testing.T) {
	ports, err := freePorts(0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range []int{ports.Frontend, ports.FrontendHTTP, ports.FrontendMembership, ports.History, ports.HistoryMembership,
		ports.Matching, ports.MatchingMembership, ports.Worker, ports.WorkerMembership} {
		if p < 1024 || p > 32767 || seen[p] {
			t.Errorf("port %d: want distinct ports in 1024..32767 (membership ports are a smallint in Temporal's schema)", p)
		}
		seen[p] = true
	}
	pg, err := parsePostgres("postgres://temporal:p%22w@db.internal:6543/postgres")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeTemporalConfig(dir, pg, "securo_prod", 4, ports); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "temporal", "securo.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`numHistoryShards: 4`, `databaseName: securo_prod_temporal`, `databaseName: securo_prod_temporal_visibility`,
		`connectAddr: "db.internal:6543"`, `user: "temporal"`, `password: "p\"w"`, `pluginName: postgres12`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("config lacks %s:\n%s", want, b)
		}
	}
}
