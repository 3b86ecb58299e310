package produp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Temporal's schemas, embedded in temporal-sql-tool v1.29.
const (
	temporalSchema   = "postgresql/v12/temporal"
	visibilitySchema = "postgresql/v12/visibility"
)

// Namespace is the Temporal namespace the topology registers and runs in.
const Namespace = "default"

// pgServer is where the PostgreSQL server is and who we are on it.
type pgServer struct {
	url                  *url.URL
	host, port, user, pw string
}

func parsePostgres(raw string) (pgServer, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" || u.Host == "" {
		return pgServer{}, fmt.Errorf("PostgreSQL URL %q: want postgres://user[:password]@host:port/db", raw)
	}
	s := pgServer{url: u, host: u.Hostname(), port: u.Port(), user: u.User.Username()}
	s.pw, _ = u.User.Password()
	if s.port == "" {
		s.port = "5432"
	}
	return s, nil
}

// dbURL is the URL of database name on the server.
func (s pgServer) dbURL(name string) string {
	u := *s.url
	u.Path = "/" + name
	return u.String()
}

func openPostgres(raw string) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(raw), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	return db, nil
}

func closeGorm(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// setupSchema creates database name when it is missing and brings Temporal's
// schema in it up to date with temporal-sql-tool, from the schema embedded in
// the tool: setup-schema makes the versioning tables (and leaves a versioned
// database alone), update-schema applies the versions the database lacks.
func setupSchema(ctx context.Context, tool string, pg pgServer, name, schema string, logPath string) error {
	exists, err := databaseExists(ctx, pg, name)
	if err != nil {
		return err
	}
	run := func(args ...string) error {
		base := []string{"--plugin", "postgres12", "--endpoint", pg.host, "--port", pg.port, "--user", pg.user, "--password", pg.pw, "--database", name}
		cmd := exec.CommandContext(ctx, tool, append(base, args...)...)
		log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		defer log.Close()
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("temporal-sql-tool %s on %s: %w; see %s", args[0], name, err, logPath)
		}
		return nil
	}
	if !exists {
		if err := run("create-database", "--defaultdb", strings.TrimPrefix(pg.url.Path, "/")); err != nil {
			return err
		}
	}
	if err := run("setup-schema", "--version", "0.0"); err != nil {
		return err
	}
	return run("update-schema", "--schema-name", schema)
}

func databaseExists(ctx context.Context, pg pgServer, name string) (bool, error) {
	db, err := openPostgres(pg.url.String())
	if err != nil {
		return false, err
	}
	defer closeGorm(db)
	var n int64
	if err := db.WithContext(ctx).Raw("SELECT count(*) FROM pg_database WHERE datname = ?", name).Scan(&n).Error; err != nil {
		return false, fmt.Errorf("look for database %s: %w", name, err)
	}
	return n > 0, nil
}

// DropDatabases drops the topology's three databases on the server at
// postgresURL, connections and all.
func DropDatabases(ctx context.Context, postgresURL, prefix string) error {
	db, err := openPostgres(postgresURL)
	if err != nil {
		return err
	}
	defer closeGorm(db)
	var errs []error
	for _, name := range databaseNames(prefix) {
		if err := db.WithContext(ctx).Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
			errs = append(errs, fmt.Errorf("drop database %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// databaseNames are Temporal's, Temporal's visibility and ours.
func databaseNames(prefix string) [3]string {
	return [3]string{prefix + "_temporal", prefix + "_temporal_visibility", prefix}
}

// temporalPorts are the server's: the frontend serves clients, the rest talk
// among themselves.
type temporalPorts struct {
	Frontend, FrontendHTTP, FrontendMembership int
	History, HistoryMembership                 int
	Matching, MatchingMembership               int
	Worker, WorkerMembership                   int
}

var temporalConfig = template.Must(template.New("temporal").Funcs(template.FuncMap{"q": strconv.Quote}).Parse(`# Written by deploy/produp: Temporal server {{.Version}} on PostgreSQL.
log:
  stdout: true
  level: warn

persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: {{.Shards}}
  datastores:
{{- range .Stores}}
    {{.Name}}:
      sql:
        pluginName: postgres12
        databaseName: {{.Database}}
        connectAddr: {{q $.PGAddr}}
        connectProtocol: tcp
        user: {{q $.PGUser}}
        password: {{q $.PGPassword}}
        maxConns: {{.MaxConns}}
        maxIdleConns: {{.MaxConns}}
        maxConnLifetime: 1h
{{- end}}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1

services:
  frontend:
    rpc:
      grpcPort: {{.Ports.Frontend}}
      membershipPort: {{.Ports.FrontendMembership}}
      httpPort: {{.Ports.FrontendHTTP}}
      bindOnLocalHost: true
  history:
    rpc:
      grpcPort: {{.Ports.History}}
      membershipPort: {{.Ports.HistoryMembership}}
      bindOnLocalHost: true
  matching:
    rpc:
      grpcPort: {{.Ports.Matching}}
      membershipPort: {{.Ports.MatchingMembership}}
      bindOnLocalHost: true
  worker:
    rpc:
      grpcPort: {{.Ports.Worker}}
      membershipPort: {{.Ports.WorkerMembership}}
      bindOnLocalHost: true

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:{{.Ports.Frontend}}"

dcRedirectionPolicy:
  policy: noop
`))

type store struct {
	Name, Database string
	MaxConns       int
}

// writeTemporalConfig writes <dir>/temporal/securo.yaml, the file
// `temporal-server --root <dir> --config temporal --env securo` reads.
func writeTemporalConfig(dir string, pg pgServer, prefix string, shards int, ports temporalPorts) error {
	names := databaseNames(prefix)
	var b strings.Builder
	err := temporalConfig.Execute(&b, map[string]any{
		"Version": TemporalVersion, "Shards": shards, "Ports": ports,
		"PGAddr": net.JoinHostPort(pg.host, pg.port), "PGUser": pg.user, "PGPassword": pg.pw,
		// Per Temporal service (4 in this process): the server stays under
		// 35 connections, so two topologies and our processes fit in
		// PostgreSQL's default 100.
		"Stores": []store{{"default", names[0], 6}, {"visibility", names[1], 2}},
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "temporal"), 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "temporal", "securo.yaml"), []byte(b.String()), 0o600)
}

// TemporalVersion is the Temporal server the Makefile builds.
const TemporalVersion = "v1.29.1"

// waitTemporal waits until the frontend at hostPort answers and namespace
// default exists, registering it the first time.
func waitTemporal(ctx context.Context, hostPort string, server *Process) error {
	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	var last error
	for {
		if !server.Running() {
			return fmt.Errorf("temporal server exited at start (%s); see %s", server.ExitState(), server.LogPath)
		}
		if last = namespaceReady(ctx, hostPort, quiet); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal server at %s not ready: %w (last: %v); see %s", hostPort, ctx.Err(), last, server.LogPath)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func namespaceReady(ctx context.Context, hostPort string, log sdklog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nc, err := client.NewNamespaceClient(client.Options{HostPort: hostPort, Logger: log})
	if err != nil {
		return err
	}
	defer nc.Close()
	_, err = nc.Describe(ctx, Namespace)
	var notFound *serviceerror.NamespaceNotFound
	if errors.As(err, &notFound) {
		err = nc.Register(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        Namespace,
			WorkflowExecutionRetentionPeriod: durationpb.New(3 * 24 * time.Hour),
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	// The frontend serves the namespace once its registry has it.
	c, err := client.Dial(client.Options{HostPort: hostPort, Namespace: Namespace, Logger: log})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.WorkflowService().ListOpenWorkflowExecutions(ctx, &workflowservice.ListOpenWorkflowExecutionsRequest{Namespace: Namespace, MaximumPageSize: 1})
	return err
}

func hostPort(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
