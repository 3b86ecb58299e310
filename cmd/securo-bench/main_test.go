package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
}
