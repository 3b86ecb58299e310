package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/securo/webhooks/internal/temporaltest"
)

// TestQuickBenchRuns checks that the harness works end to end, as CI runs
// it; it asserts nothing about speed, only that every run measured something
// and nothing was lost.
func TestQuickBenchRuns(t *testing.T) {
	temporal := temporaltest.Binary(t)
	securo := filepath.Join(filepath.Dir(filepath.Dir(temporal)), "bin", "securo")
	if _, err := os.Stat(securo); err != nil {
		t.Fatalf("%s: run the tests with `make test`, which builds it", securo)
	}
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--quick", "--out", out, "--securo", securo, "--temporal", temporal},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("securo-bench --quick: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*-quick.json"))
	pngs, _ := filepath.Glob(filepath.Join(out, "*-quick.png"))
	if len(files) != 1 || len(pngs) != 1 {
		t.Fatalf("wrote %v and %v", files, pngs)
	}
	b, _ := os.ReadFile(files[0])
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, r := range rep.Results {
		kinds[r.Kind]++
		if r.Delivered == 0 || r.Lost != 0 || r.DeliveriesPerSec <= 0 {
			t.Errorf("run %q: delivered %d, lost %d, %.1f/s", r.Name, r.Delivered, r.Lost, r.DeliveriesPerSec)
		}
	}
	if kinds["limit"] != 2 || kinds["service"] < 5 || len(rep.Isolated) != 1 {
		t.Fatalf("runs by kind %v, isolation %v", kinds, rep.Isolated)
	}
	if i := rep.Isolated[0]; i.BaselineP50 <= 0 || i.AnsweringP50 <= 0 || i.HungP50 <= 0 {
		t.Fatalf("isolation without a latency for each of its three runs: %+v", i)
	}
}

// TestQuickBenchRunsOnTheProductionTopology checks the prod-up variant's
// harness (the topology of make prod-up, on PostgreSQL) with the shortest
// runs; like the test above, it asserts nothing about speed.
func TestQuickBenchRunsOnTheProductionTopology(t *testing.T) {
	temporal := temporaltest.Binary(t)
	bin := filepath.Dir(temporal)
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--quick", "--variants", prodUp, "--isolation=false", "--duration", "1s", "--endpoints", "1",
		"--clients", "8", "--out", out, "--securo", filepath.Join(bin, "securo"), "--temporal", temporal},
		func(k string) string { return os.Getenv(k) }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("securo-bench --variants prod-up: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*-quick.json"))
	if len(files) != 1 {
		t.Fatalf("wrote %v", files)
	}
	b, _ := os.ReadFile(files[0])
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	services := 0
	for _, r := range rep.Results {
		if r.Kind == "service" {
			services++
			if r.Variant != prodUp || r.Database != "postgres" {
				t.Errorf("run %q: variant %q on %q, want %s on postgres", r.Name, r.Variant, r.Database, prodUp)
			}
		}
		if r.Delivered == 0 || r.Lost != 0 {
			t.Errorf("run %q: delivered %d, lost %d", r.Name, r.Delivered, r.Lost)
		}
	}
	if services < 2 {
		t.Fatalf("%d service runs, want the closed and open loops", services)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		in := slices.Clone(tc.in)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("median reordered its input: %v", tc.in)
		}
	}
}
