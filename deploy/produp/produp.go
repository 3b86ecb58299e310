// Package produp runs Securo Webhooks the way production does, without
// containers: a Temporal server (built from its Go module) persisting to
// PostgreSQL with its schema set up by temporal-sql-tool, `securo api` and
// several `securo worker` processes against it and a PostgreSQL database of
// ours. `make prod-up` runs it in the foreground (cmd/securo-prod-up); the
// end-to-end test and the benchmark drive the same code.
package produp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/securo/webhooks/internal/freeport"
)

// Options say where the programs are and how the topology is laid out.
type Options struct {
	// BinDir holds temporal-server, temporal-sql-tool and securo.
	BinDir string
	// Dir gets the Temporal server's configuration and every program's log.
	Dir string
	// PostgresURL is a database on the PostgreSQL server the three databases
	// are made on, as a user that may create databases.
	PostgresURL string
	// DatabasePrefix names them: <prefix>_temporal,
	// <prefix>_temporal_visibility and <prefix>, ours.
	DatabasePrefix string
	// HistoryShards is Temporal's numHistoryShards; it is fixed once the
	// databases exist.
	HistoryShards int
	// Workers is how many `securo worker` processes run.
	Workers int
	// TemporalPort is the frontend's gRPC port (0: a free one); the other
	// Temporal ports are always free ones.
	TemporalPort int
	// APIAddr is where `securo api` listens ("": a free port on 127.0.0.1);
	// WorkerAddrs are SECURO_HTTP_ADDR of each worker (missing: free ports).
	APIAddr     string
	WorkerAddrs []string
	// Env is added to the environment of every securo process
	// (SECURO_ENCRYPTION_KEY, SECURO_CA_FILE, ...).
	Env []string
}

// Topology is the running programs.
type Topology struct {
	TemporalAddress string
	APIURL          string
	DatabaseURL     string
	Temporal        *Process
	API             *Process
	Workers         []*Process

	opts Options
	env  []string // of securo processes
}

// identifier is a database name we put into SQL unquoted.
var identifier = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// Binaries the Makefile builds into bin/.
const (
	TemporalServerBin = "temporal-server"
	SQLToolBin        = "temporal-sql-tool"
	SecuroBin         = "securo"
)

// Start sets up the databases and starts the Temporal server, the API and
// the workers, each once the one before it serves. On error it stops what it
// started.
func Start(ctx context.Context, o Options) (*Topology, error) {
	t, err := prepare(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := t.start(ctx); err != nil {
		t.Stop()
		return nil, err
	}
	return t, nil
}

func prepare(ctx context.Context, o Options) (*Topology, error) {
	if o.HistoryShards < 1 {
		o.HistoryShards = 4
	}
	if o.Workers < 1 {
		o.Workers = 2
	}
	if o.DatabasePrefix == "" {
		o.DatabasePrefix = "securo_prod"
	}
	if !identifier.MatchString(o.DatabasePrefix) {
		return nil, fmt.Errorf("database prefix %q: want lower-case letters, digits and _, starting with a letter", o.DatabasePrefix)
	}
	pg, err := parsePostgres(o.PostgresURL)
	if err != nil {
		return nil, err
	}
	for _, bin := range []string{TemporalServerBin, SQLToolBin, SecuroBin} {
		if _, err := os.Stat(filepath.Join(o.BinDir, bin)); err != nil {
			return nil, fmt.Errorf("%s: %w (`make prod-up` builds it)", bin, err)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, err
	}
	ports, err := freePorts(o.TemporalPort)
	if err != nil {
		return nil, err
	}
	names := databaseNames(o.DatabasePrefix)
	t := &Topology{opts: o,
		TemporalAddress: hostPort(ports.Frontend),
		DatabaseURL:     pg.dbURL(names[2])}

	// Temporal's two databases and their schemas, then ours (the securo
	// processes migrate it themselves).
	toolLog := filepath.Join(o.Dir, "temporal-sql-tool.log")
	if err := setupSchema(ctx, filepath.Join(o.BinDir, SQLToolBin), pg, names[0], temporalSchema, toolLog); err != nil {
		return nil, err
	}
	if err := setupSchema(ctx, filepath.Join(o.BinDir, SQLToolBin), pg, names[1], visibilitySchema, toolLog); err != nil {
		return nil, err
	}
	if err := createDatabase(ctx, pg, names[2]); err != nil {
		return nil, err
	}
	if err := writeTemporalConfig(o.Dir, pg, o.DatabasePrefix, o.HistoryShards, ports); err != nil {
		return nil, err
	}

	t.env = append(append(os.Environ(), o.Env...),
		"SECURO_DATABASE_URL="+t.DatabaseURL,
		"TEMPORAL_ADDRESS="+t.TemporalAddress,
		"TEMPORAL_NAMESPACE="+Namespace)
	t.Temporal = &Process{Name: "temporal-server", LogPath: filepath.Join(o.Dir, "temporal-server.log"), Addr: t.TemporalAddress,
		path: filepath.Join(o.BinDir, TemporalServerBin), env: os.Environ(),
		args: []string{"--root", o.Dir, "--config", "temporal", "--env", "securo", "--allow-no-auth", "start"}}
	apiAddr := o.APIAddr
	if apiAddr == "" {
		if apiAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	t.APIURL = "http://" + apiAddr
	t.API = t.securo("api", apiAddr, "api")
	for i := range o.Workers {
		addr := ""
		if i < len(o.WorkerAddrs) {
			addr = o.WorkerAddrs[i]
		}
		if addr == "" {
			if addr, err = freeAddr(); err != nil {
				return nil, err
			}
		}
		t.Workers = append(t.Workers, t.securo("worker-"+strconv.Itoa(i+1), addr, "worker"))
	}
	return t, nil
}

func (t *Topology) securo(name, httpAddr string, args ...string) *Process {
	return &Process{Name: name, LogPath: filepath.Join(t.opts.Dir, name+".log"), Addr: httpAddr,
		path: filepath.Join(t.opts.BinDir, SecuroBin), args: args,
		env: append(append([]string(nil), t.env...), "SECURO_HTTP_ADDR="+httpAddr)}
}

func (t *Topology) start(ctx context.Context) error {
	if err := t.StartTemporal(ctx); err != nil {
		return err
	}
	if err := t.StartAPI(ctx); err != nil {
		return err
	}
	for i := range t.Workers {
		if err := t.StartWorker(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// StartTemporal starts the Temporal server (again, after it was stopped or
// killed, on the same ports and databases) and waits until namespace default
// serves.
func (t *Topology) StartTemporal(ctx context.Context) error {
	if err := t.Temporal.start(""); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return waitTemporal(ctx, t.TemporalAddress, t.Temporal)
}

// StartAPI starts `securo api` and waits until /healthz answers.
func (t *Topology) StartAPI(ctx context.Context) error {
	if err := t.API.start(""); err != nil {
		return err
	}
	return waitUp(ctx, t.API)
}

// workerReady is the line `securo worker` prints once it is connected.
const workerReady = "Securo Webhooks worker on task queue"

// StartWorker starts worker i (from 0) and waits until it is connected: it
// printed so, or it serves /healthz on its SECURO_HTTP_ADDR.
func (t *Topology) StartWorker(ctx context.Context, i int) error {
	if err := t.Workers[i].start(workerReady); err != nil {
		return err
	}
	return waitUp(ctx, t.Workers[i])
}

// waitUp waits until p answers GET /healthz on its address or printed its
// ready line, for up to a minute.
func waitUp(ctx context.Context, p *Process) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	url := "http://" + p.Addr + "/healthz"
	for {
		if p.printedReady() || healthy(ctx, url) {
			return nil
		}
		select {
		case <-p.Done():
			return fmt.Errorf("%s exited at start (%s); see %s", p.Name, p.ExitState(), p.LogPath)
		case <-ctx.Done():
			return fmt.Errorf("%s not up (%s does not answer): %w; see %s", p.Name, url, ctx.Err(), p.LogPath)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func healthy(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop stops the API and the workers with SIGTERM (the workers get longer
// than their own stop timeout), then the Temporal server.
func (t *Topology) Stop() error {
	var errs []error
	errs = append(errs, t.API.Stop(15*time.Second))
	for _, w := range t.Workers {
		errs = append(errs, w.Stop(30*time.Second))
	}
	errs = append(errs, t.Temporal.Stop(30*time.Second))
	return errors.Join(errs...)
}

// Processes are every program, in start order.
func (t *Topology) Processes() []*Process {
	return append([]*Process{t.Temporal, t.API}, t.Workers...)
}

// Securo runs a one-shot securo command (accounts, keygen) with the
// topology's settings and returns its standard output.
func (t *Topology) Securo(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(t.opts.BinDir, SecuroBin), args...)
	cmd.Env = t.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("securo %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// CreateAccount creates an account and returns its API key.
func (t *Topology) CreateAccount(ctx context.Context, name string) (string, error) {
	out, err := t.Securo(ctx, "accounts", "create", "--name", name, "--json")
	if err != nil {
		return "", err
	}
	var created struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(out, &created); err != nil || created.APIKey == "" {
		return "", fmt.Errorf("securo accounts create printed %q", out)
	}
	return created.APIKey, nil
}

// createDatabase creates our database when it is missing.
func createDatabase(ctx context.Context, pg pgServer, name string) error {
	if exists, err := databaseExists(ctx, pg, name); err != nil || exists {
		return err
	}
	db, err := openPostgres(pg.url.String())
	if err != nil {
		return err
	}
	defer closeGorm(db)
	if err := db.WithContext(ctx).Exec("CREATE DATABASE " + name).Error; err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// freePorts picks the Temporal server's ports. Membership ports go in
// Temporal's cluster_membership table as a smallint, so every port is taken
// below 32768, under Linux's ephemeral range.
func freePorts(frontend int) (temporalPorts, error) {
	var p temporalPorts
	ports := []*int{&p.FrontendHTTP, &p.FrontendMembership, &p.History, &p.HistoryMembership,
		&p.Matching, &p.MatchingMembership, &p.Worker, &p.WorkerMembership}
	if frontend == 0 {
		ports = append(ports, &p.Frontend)
	} else {
		p.Frontend = frontend
	}
	taken := map[int]bool{frontend: true}
	for _, dst := range ports {
		port, err := lowFreePort(taken)
		if err != nil {
			return p, err
		}
		taken[port] = true
		*dst = port
	}
	return p, nil
}

// lowFreePort is a port between 20000 and 32767 free on 127.0.0.1 now.
func lowFreePort(taken map[int]bool) (int, error) {
	for range 200 {
		port := 20000 + mathrand.IntN(12768)
		if taken[port] {
			continue
		}
		ln, err := net.Listen("tcp", hostPort(port))
		if err != nil {
			continue
		}
		ln.Close()
		return port, nil
	}
	return 0, errors.New("no free port between 20000 and 32767 on 127.0.0.1")
}

func freeAddr() (string, error) {
	port, err := freeport.Get()
	if err != nil {
		return "", err
	}
	return hostPort(port), nil
}

// FindBinDir is where `make` put the binaries: beside $SECURO_TEMPORAL_BIN
// (which the Makefile sets), else bin/ in the nearest directory above the
// working directory that has bin/<name>.
func FindBinDir(getenv func(string) string, name string) (string, error) {
	if p := getenv("SECURO_TEMPORAL_BIN"); p != "" {
		return filepath.Dir(p), nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "bin", name)); err == nil {
			return filepath.Join(dir, "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no bin/%s: run `make test`, which builds it, or set SECURO_TEMPORAL_BIN", name)
		}
		dir = parent
	}
}
