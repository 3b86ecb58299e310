// Command securo-prod-up runs Securo Webhooks as production runs it, on this
// machine and without containers: a Temporal server on PostgreSQL with
// several history shards, `securo api` and two `securo worker` processes.
// `make prod-up` builds what it needs and runs it; Ctrl-C stops everything.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/securo/webhooks/deploy/produp"
	"github.com/securo/webhooks/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "securo-prod-up:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("securo-prod-up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "bin", "directory with temporal-server, temporal-sql-tool and securo")
	dir := fs.String("dir", ".securo/prod", "where the Temporal configuration, the logs and the dev account's key go")
	defaultPG := getenv("SECURO_PROD_POSTGRES_URL")
	if defaultPG == "" {
		defaultPG = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	pg := fs.String("postgres", defaultPG,
		"a database on the PostgreSQL server, as a user that may create databases ($SECURO_PROD_POSTGRES_URL)")
	prefix := fs.String("db-prefix", "securo_prod", "names the databases: PREFIX_temporal, PREFIX_temporal_visibility and PREFIX")
	shards := fs.Int("shards", 4, "Temporal history shards (fixed once its database exists)")
	workers := fs.Int("workers", 2, "securo worker processes")
	apiAddr := fs.String("api-addr", "127.0.0.1:8080", "where securo api listens")
	temporalPort := fs.Int("temporal-port", 7233, "the Temporal frontend's port on 127.0.0.1")
	workerPort := fs.Int("worker-port", 8091, "SECURO_HTTP_ADDR of the first worker on 127.0.0.1; the next ones count up")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	key, err := encryptionKey(getenv, *dir)
	if err != nil {
		return err
	}
	var workerAddrs []string
	for i := range *workers {
		workerAddrs = append(workerAddrs, fmt.Sprintf("127.0.0.1:%d", *workerPort+i))
	}
	fmt.Fprintln(stderr, "setting up the databases and starting Temporal (logs in "+*dir+")...")
	t, err := produp.Start(ctx, produp.Options{
		BinDir: *bin, Dir: *dir, PostgresURL: *pg, DatabasePrefix: *prefix, HistoryShards: *shards, Workers: *workers,
		TemporalPort: *temporalPort, APIAddr: *apiAddr, WorkerAddrs: workerAddrs,
		Env: []string{"SECURO_ENCRYPTION_KEY=" + key},
	})
	if err != nil {
		return err
	}
	keyFile, err := devAccount(ctx, t, *dir)
	if err != nil {
		t.Stop()
		return err
	}
	fmt.Fprintf(stdout, `Securo Webhooks, production topology:
  API               %s  (key of account "dev" in %s)
  Temporal          %s  (namespace %s, %d history shards, databases %s_temporal*)
  database          %s
`, t.APIURL, keyFile, t.TemporalAddress, produp.Namespace, *shards, *prefix, t.DatabaseURL)
	for _, w := range t.Workers {
		fmt.Fprintf(stdout, "  %-17s %s (SECURO_HTTP_ADDR)\n", w.Name, w.Addr)
	}
	fmt.Fprintf(stdout, "  logs              %s/*.log\nCtrl-C stops everything.\n", *dir)

	exited := make(chan *produp.Process, len(t.Processes()))
	for _, p := range t.Processes() {
		go func() { <-p.Done(); exited <- p }()
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "stopping...")
		return t.Stop()
	case p := <-exited:
		t.Stop()
		return fmt.Errorf("%s exited (%s); see %s", p.Name, p.ExitState(), p.LogPath)
	}
}

// encryptionKey is $SECURO_ENCRYPTION_KEY, or the key kept in dir, made once
// as `securo keygen` makes one.
func encryptionKey(getenv func(string) string, dir string) (string, error) {
	if k := getenv("SECURO_ENCRYPTION_KEY"); k != "" {
		return k, nil
	}
	path := filepath.Join(dir, "encryption-key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	key, err := models.NewEncryptionKey()
	if err != nil {
		return "", err
	}
	return key, os.WriteFile(path, []byte(key+"\n"), 0o600)
}

// devAccount creates the account "dev" the first time and keeps its API key
// in dir.
func devAccount(ctx context.Context, t *produp.Topology, dir string) (string, error) {
	path := filepath.Join(dir, "dev-api-key")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	key, err := t.CreateAccount(ctx, "dev")
	if err != nil {
		return "", fmt.Errorf("%w (remove the databases, or create an account with `securo accounts create`)", err)
	}
	return path, os.WriteFile(path, []byte(key+"\n"), 0o600)
}
