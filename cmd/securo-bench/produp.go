package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/securo/webhooks/deploy/produp"
	"github.com/securo/webhooks/models"
)

// prodUp is the variant that runs the optimized service on the production
// topology of `make prod-up` (a Temporal server on PostgreSQL with 4 history
// shards, `securo api` and two `securo worker` processes) instead of `securo
// dev`.
const prodUp = "prod-up"

// defaultProdPostgres is where the prod-up variant makes its databases when
// SECURO_BENCH_DATABASE_URL does not say.
const defaultProdPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// startProdService starts the production topology on databases of its own
// on the PostgreSQL server at pgURL, dropped when it stops.
func startProdService(ctx context.Context, o serviceOptions, binDir, pgURL string) (*service, error) {
	key, err := models.NewEncryptionKey()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4)
	rand.Read(b)
	prefix := "securo_bench_" + hex.EncodeToString(b)
	drop := func() {
		if err := produp.DropDatabases(context.Background(), pgURL, prefix); err != nil {
			fmt.Println("securo-bench:", err)
		}
	}
	topo, err := produp.Start(ctx, produp.Options{
		BinDir: binDir, Dir: o.dataDir, PostgresURL: pgURL, DatabasePrefix: prefix, HistoryShards: 4, Workers: 2,
		Env: append([]string{"SECURO_ENCRYPTION_KEY=" + key, "SECURO_CA_FILE=" + o.caFile, "SECURO_ALLOW_PRIVATE_NETWORKS=true",
			"SECURO_RATE_LIMIT=off", "SECURO_MAX_ENDPOINTS=1000"}, o.env...),
	})
	if err != nil {
		drop()
		return nil, fmt.Errorf("prod-up topology (logs in %s): %w", o.dataDir, err)
	}
	stop := func() {
		if err := topo.Stop(); err != nil {
			fmt.Println("securo-bench:", err)
		}
		drop()
	}
	apiKey, err := topo.CreateAccount(ctx, "bench")
	if err != nil {
		stop()
		return nil, err
	}
	return &service{apiURL: topo.APIURL, key: apiKey, temporalAddr: topo.TemporalAddress, api: benchClient(), stop: stop,
		pids: func() (securo, temporal []int) {
			securo = append(securo, topo.API.Pid())
			for _, w := range topo.Workers {
				securo = append(securo, w.Pid())
			}
			return securo, []int{topo.Temporal.Pid()}
		}}, nil
}
