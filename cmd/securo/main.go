// Command securo runs Securo Webhooks: `securo dev` for everything on one
// machine, `securo api` and `securo worker` for the two halves, and
// `securo accounts create` to make an account and its API key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "securo:", err)
		}
		os.Exit(1)
	}
}

const usage = `securo runs Securo Webhooks.

Usage:
  securo dev                     Temporal dev server (with Web UI), API and worker on embedded defaults
  securo api                     the HTTP API, against an existing Temporal and database
  securo worker                  the delivery worker, against an existing Temporal and database
  securo accounts create --name NAME [--json]
                                 create an account and print its API key
  securo accounts keys list|create|revoke --account NAME [...]
                                 list, create or revoke an account's API keys
  securo config [api|worker|dev] [flags]
                                 print the effective settings (secrets masked) and where each came from
  securo keygen                  print a new SECURO_ENCRYPTION_KEY
  securo healthcheck [--url URL] exit 0 if http://$SECURO_HTTP_ADDR/healthz answers 2xx (for containers)
  securo version                 print the version

Run "securo COMMAND -h" for a command's flags; the README lists the settings.
`

// run is main without the process: tests call it with their own args,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, args[1:], getenv, stdout, stderr)
	case "api":
		return runAPICommand(ctx, args[1:], getenv, stdout, stderr)
	case "worker":
		return runWorkerCommand(ctx, args[1:], getenv, stdout, stderr)
	case "accounts":
		return runAccounts(ctx, args[1:], getenv, stdout, stderr)
	case "config":
		return runConfig(ctx, args[1:], getenv, stdout, stderr)
	case "keygen":
		return runKeygen(stdout)
	case "healthcheck":
		return runHealthcheck(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "securo", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}
