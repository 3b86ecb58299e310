package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/securo/webhooks/models"
)

const devAccount = "dev"

// runDev runs everything on one machine: a Temporal dev server (with its
// Web UI) as a child process, and the API and worker in this one, on SQLite
// in the data dir. One Ctrl-C stops all of it.
func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var dev *devFlags
	cfg, err := commandConfig("securo dev", cmdDev, args, getenv, stderr, func(fs *flag.FlagSet) func() string {
		dev = addDevFlags(fs)
		return func() string { return *dev.dataDir }
	}, true)
	if err != nil {
		return err
	}
	dataDir, temporalPort, uiPort := dev.dataDir, dev.temporalPort, dev.uiPort
	if err = os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	// dev runs its own server.
	temporalAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(*temporalPort))
	cfg.override("TEMPORAL_ADDRESS", temporalAddr, "dev (--temporal-port)")
	cfg.TemporalAddress = temporalAddr
	if cfg.TemporalUIURL == "" {
		cfg.TemporalUIURL = "http://127.0.0.1:" + strconv.Itoa(*uiPort)
		cfg.override("SECURO_TEMPORAL_UI_URL", cfg.TemporalUIURL, "dev (--ui-port)")
	}
	log := cfg.logger(stderr)

	bin, err := findTemporal(*dev.temporalBin)
	if err != nil {
		return err
	}
	// Listen before starting anything, so a busy port fails fast.
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (another securo running? pick one with --http-addr): %w", cfg.HTTPAddr, err)
	}
	defer ln.Close()

	temporal, err := startTemporal(bin, *dataDir, *temporalPort, *uiPort, cfg.TemporalSQLiteTuned)
	if err != nil {
		return err
	}
	defer temporal.stop()
	if err := temporal.waitReady(ctx, temporalAddr, cfg.TemporalNamespace); err != nil {
		return err
	}

	s, err := openStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	key, err := devAPIKey(ctx, s.store, *dataDir)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, `
Securo Webhooks is running (Ctrl-C stops everything).
  Dashboard:    http://%[1]s/dashboard
  API:          http://%[1]s
  Temporal UI:  http://127.0.0.1:%[2]d
  API key:      %s   (account %q, kept in %s)
  Data:         %s

`, ln.Addr(), *uiPort, key, devAccount, filepath.Join(*dataDir, "dev-api-key"), *dataDir)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		// If Temporal dies, stop the rest rather than run half a service.
		<-temporal.exited
		cancel()
	}()
	err = s.runBoth(runCtx, ln)
	if ctx.Err() == nil && temporal.exitedEarly() {
		return fmt.Errorf("temporal dev server stopped; see %s", temporal.logPath)
	}
	return err
}

// devFlags are the flags only dev has, beside the settings.
type devFlags struct {
	dataDir, temporalBin *string
	temporalPort, uiPort *int
}

func addDevFlags(fs *flag.FlagSet) *devFlags {
	return &devFlags{
		dataDir:      fs.String("data-dir", defaultDataDir, "where the SQLite database, Temporal's database and the dev API key live"),
		temporalPort: fs.Int("temporal-port", 7233, "Temporal frontend port"),
		uiPort:       fs.Int("ui-port", 8233, "Temporal Web UI port"),
		temporalBin:  fs.String("temporal-bin", "", "Temporal CLI binary (default bin/temporal, then temporal on PATH)"),
	}
}

func findTemporal(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if _, err := os.Stat("bin/temporal"); err == nil {
		return "bin/temporal", nil
	}
	if p, err := exec.LookPath("temporal"); err == nil {
		return p, nil
	}
	return "", errors.New("no Temporal CLI: run `make run` (it builds bin/temporal), or pass --temporal-bin")
}

type temporalProcess struct {
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	stopped bool
}

func startTemporal(bin, dataDir string, port, uiPort int, tuned bool) (*temporalProcess, error) {
	logPath := filepath.Join(dataDir, "temporal.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(port),
		"--ui-port", strconv.Itoa(uiPort),
		"--db-filename", filepath.Join(dataDir, "temporal.db"),
		"--namespace", "default",
		"--log-level", "warn",
	}
	if tuned {
		args = append(args, "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
			// The CLI re-reads search attributes on every use so new ones show
			// at once; we register none at run time, and it costs a read a call.
			"--dynamic-config-value", "system.forceSearchAttributesCacheRefreshOnRead=false")
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &temporalProcess{cmd: cmd, exited: make(chan struct{}), logPath: logPath}
	go func() {
		cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

func (p *temporalProcess) exitedEarly() bool {
	select {
	case <-p.exited:
		return !p.stopped
	default:
		return false
	}
}

// waitReady waits until the server answers and its namespace exists.
func (p *temporalProcess) waitReady(ctx context.Context, addr, namespace string) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: addr, Namespace: namespace, Logger: quietLogger{}})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		select {
		case <-p.exited:
			out, _ := os.ReadFile(p.logPath)
			return fmt.Errorf("temporal dev server exited (port %s in use?): %s", addr, lastLines(string(out), 15))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal dev server at %s not ready after 90s: %w", addr, err)
		}
	}
}

// stop asks the server to shut down and waits for it, killing it if it
// takes too long.
func (p *temporalProcess) stop() {
	p.stopped = true
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// devAPIKey makes sure the dev account exists and returns its API key,
// written once to a 0600 file in the data dir.
func devAPIKey(ctx context.Context, store *models.Store, dataDir string) (string, error) {
	path := filepath.Join(dataDir, "dev-api-key")
	if b, err := os.ReadFile(path); err == nil {
		key := strings.TrimSpace(string(b))
		if _, err := store.AccountByAPIKey(ctx, key); err == nil {
			return key, nil
		}
	}
	var key string
	acct, err := store.AccountByName(ctx, devAccount)
	switch {
	case err == nil:
		// The account exists but its key file was lost: issue a new key.
		_, key, err = store.CreateAPIKey(ctx, acct.ID, devAccount)
	case errors.Is(err, models.ErrNotFound):
		_, key, err = store.CreateAccount(ctx, devAccount)
	}
	if err != nil {
		return "", fmt.Errorf("dev account: %w", err)
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return key, nil
}

// quietLogger drops the SDK's messages while we poll for readiness.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
