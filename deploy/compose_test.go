// Package deploy_test checks docker-compose.yml and the Dockerfile at the
// repository root statically: images cannot be pulled where the tests run,
// so what can go wrong without running them (a service, a dependency, a
// setting or a command that does not exist) is checked against the code.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/securo/webhooks/deploy/produp"
	"github.com/securo/webhooks/worker"
)

// composeFile is the part of the Compose model we check, decoded from the
// project compose-go loads (validated against the Compose specification,
// interpolated, normalized).
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context string `yaml:"context"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Ports []struct {
		Target    uint32 `yaml:"target"`
		Published string `yaml:"published"`
	} `yaml:"ports"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Deploy struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

// repoRoot is the directory above with go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = filepath.Dir(dir)
	}
}

// testKey is the SECURO_ENCRYPTION_KEY the file is read with.
const testKey = "c2VjdXJvLXRlc3RzLW9ubHktMzItYnl0ZXMta2V5ISE="

// loadCompose reads docker-compose.yml as `docker compose` would with
// SECURO_ENCRYPTION_KEY set and nothing else.
func loadCompose(t *testing.T) composeFile {
	t.Helper()
	c, err := readCompose(t, map[string]string{"SECURO_ENCRYPTION_KEY": testKey})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readCompose(t *testing.T, env map[string]string) (composeFile, error) {
	t.Helper()
	root := repoRoot(t)
	project, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("securo", true) })
	if err != nil {
		return composeFile{}, fmt.Errorf("docker-compose.yml: %w", err)
	}
	b, err := project.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("the project compose-go loaded: %v\n%s", err, b)
	}
	return c, nil
}

func TestComposeStartsEachServiceAfterWhatItNeeds(t *testing.T) {
	c := loadCompose(t)
	var names []string
	for name := range c.Services {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"postgresql", "securo-api", "securo-worker", "temporal", "temporal-namespace", "temporal-schema", "temporal-ui"}
	if !slices.Equal(names, want) {
		t.Fatalf("services %v, want %v", names, want)
	}
	for _, dep := range []struct{ service, on, condition string }{
		{"temporal-schema", "postgresql", "service_healthy"},
		{"temporal", "temporal-schema", "service_completed_successfully"},
		{"temporal-namespace", "temporal", "service_started"},
		{"temporal-ui", "temporal-namespace", "service_completed_successfully"},
		{"securo-api", "postgresql", "service_healthy"},
		{"securo-api", "temporal-namespace", "service_completed_successfully"},
		{"securo-worker", "postgresql", "service_healthy"},
		{"securo-worker", "temporal-namespace", "service_completed_successfully"},
	} {
		if got := c.Services[dep.service].DependsOn[dep.on].Condition; got != dep.condition {
			t.Errorf("%s depends on %s with condition %q, want %q", dep.service, dep.on, got, dep.condition)
		}
	}
	// Every dependency exists, can be met (a healthy one has a health
	// check) and the services start in some order (no cycle).
	started := map[string]bool{}
	for len(started) < len(c.Services) {
		progress := false
		for name, s := range c.Services {
			if started[name] {
				continue
			}
			ready := true
			for on, d := range s.DependsOn {
				dep, ok := c.Services[on]
				if !ok {
					t.Fatalf("%s depends on %s, which is not a service", name, on)
				}
				if d.Condition == "service_healthy" && dep.Healthcheck == nil {
					t.Errorf("%s waits for %s to be healthy, which has no health check", name, on)
				}
				ready = ready && started[on]
			}
			if ready {
				started[name], progress = true, true
			}
		}
		if !progress {
			t.Fatalf("depends_on has a cycle among the services not started: %v", c.Services)
		}
	}
	for _, name := range []string{"postgresql", "securo-api", "securo-worker"} {
		if c.Services[name].Healthcheck == nil {
			t.Errorf("%s has no health check", name)
		}
	}
}

func TestComposeRunsTemporalOnPostgreSQLWithTheOfficialSchemaTool(t *testing.T) {
	c := loadCompose(t)
	version := strings.TrimPrefix(produp.TemporalVersion, "v")
	for name, s := range c.Services {
		if strings.Contains(s.Image, "auto-setup") {
			t.Errorf("%s uses %s: the auto-setup image is deprecated", name, s.Image)
		}
	}
	server, schema, ns := c.Services["temporal"], c.Services["temporal-schema"], c.Services["temporal-namespace"]
	if server.Image != "temporalio/server:"+version {
		t.Errorf("temporal image %q, want temporalio/server:%s (what make prod-up builds)", server.Image, version)
	}
	for name, s := range map[string]composeService{"temporal-schema": schema, "temporal-namespace": ns} {
		if !strings.HasPrefix(s.Image, "temporalio/admin-tools:"+version) {
			t.Errorf("%s image %q, want temporalio/admin-tools:%s-...", name, s.Image, version)
		}
	}
	script := strings.Join(schema.Command, "\n")
	for _, step := range []string{
		"for db in " + server.Environment["DBNAME"] + " " + server.Environment["VISIBILITY_DBNAME"] + "; do",
		"create-database",
		"setup-schema --version 0.0",
		"--db " + server.Environment["DBNAME"] + " update-schema --schema-name postgresql/v12/temporal",
		"--db " + server.Environment["VISIBILITY_DBNAME"] + " update-schema --schema-name postgresql/v12/visibility",
	} {
		if !strings.Contains(script, step) {
			t.Errorf("temporal-schema does not run %q:\n%s", step, script)
		}
	}
	checks := []struct{ what, got, want string }{
		{"temporal DB", server.Environment["DB"], "postgres12"},
		{"temporal-schema SQL_PLUGIN", schema.Environment["SQL_PLUGIN"], "postgres12"},
		{"temporal POSTGRES_SEEDS", server.Environment["POSTGRES_SEEDS"], "postgresql"},
		{"temporal-schema SQL_HOST", schema.Environment["SQL_HOST"], "postgresql"},
		{"temporal-schema SQL_USER", schema.Environment["SQL_USER"], server.Environment["POSTGRES_USER"]},
		{"temporal-schema SQL_PASSWORD", schema.Environment["SQL_PASSWORD"], server.Environment["POSTGRES_PWD"]},
		{"temporal POSTGRES_USER", server.Environment["POSTGRES_USER"], c.Services["postgresql"].Environment["POSTGRES_USER"]},
		{"temporal POSTGRES_PWD", server.Environment["POSTGRES_PWD"], c.Services["postgresql"].Environment["POSTGRES_PASSWORD"]},
		{"temporal-namespace TEMPORAL_ADDRESS", ns.Environment["TEMPORAL_ADDRESS"], "temporal:7233"},
		{"temporal-ui TEMPORAL_ADDRESS", c.Services["temporal-ui"].Environment["TEMPORAL_ADDRESS"], "temporal:7233"},
	}
	for _, ch := range checks {
		if ch.got != ch.want || ch.got == "" {
			t.Errorf("%s = %q, want %q", ch.what, ch.got, ch.want)
		}
	}
	if shards := server.Environment["NUM_HISTORY_SHARDS"]; shards == "" || shards == "1" {
		t.Errorf("temporal NUM_HISTORY_SHARDS = %q, want several", shards)
	}
	if !strings.Contains(strings.Join(ns.Command, "\n"), "namespace create --namespace "+produp.Namespace) {
		t.Errorf("temporal-namespace does not create namespace %s: %v", produp.Namespace, ns.Command)
	}
	publishes(t, c, "temporal", "7233")
	publishes(t, c, "temporal-ui", "8080")
}

// publishes checks service publishes its container port.
func publishes(t *testing.T, c composeFile, service, port string) {
	t.Helper()
	for _, p := range c.Services[service].Ports {
		if strconv.Itoa(int(p.Target)) == port && p.Published != "" {
			return
		}
	}
	t.Errorf("%s publishes %+v, want its port %s", service, c.Services[service].Ports, port)
}

// settingName is a SECURO_* or TEMPORAL_* name as the code reads it.
var settingName = regexp.MustCompile(`"((?:SECURO|TEMPORAL)_[A-Z0-9_]+)"`)

// knownSettings are the SECURO_* and TEMPORAL_* names the service's code
// reads (every non-test Go file outside the tools that start it).
func knownSettings(t *testing.T) map[string]bool {
	t.Helper()
	root := repoRoot(t)
	known := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && (rel == "deploy" || rel == "bin" || strings.HasPrefix(d.Name(), ".") && rel != ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.HasPrefix(rel, filepath.Join("cmd", "securo-")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range settingName.FindAllSubmatch(b, -1) {
			known[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return known
}

// subcommands are the commands `securo help` lists.
func subcommands(t *testing.T) (securo string, commands map[string]bool) {
	t.Helper()
	dir, err := produp.FindBinDir(os.Getenv, produp.SecuroBin)
	if err != nil {
		t.Fatal(err)
	}
	securo = filepath.Join(dir, produp.SecuroBin)
	out, err := exec.Command(securo, "help").Output()
	if err != nil {
		t.Fatalf("securo help: %v", err)
	}
	commands = map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "securo" && strings.HasPrefix(sc.Text(), "  securo ") {
			commands[f[1]] = true
		}
	}
	return securo, commands
}

func TestComposeRunsSecuroWithSettingsItKnows(t *testing.T) {
	c := loadCompose(t)
	known := knownSettings(t)
	securo, commands := subcommands(t)
	if !commands["api"] || !commands["healthcheck"] {
		t.Fatalf("securo help lists %v; the parsing of its usage is wrong", commands)
	}
	pg := c.Services["postgresql"]
	for _, tc := range []struct{ service, command, port string }{
		{"securo-api", "api", "8080"},
		{"securo-worker", "worker", ""},
	} {
		t.Run(tc.service, func(t *testing.T) {
			s := c.Services[tc.service]
			if s.Build == nil || s.Build.Context != repoRoot(t) {
				t.Errorf("build %+v, want the repository's root (its Dockerfile)", s.Build)
			}
			if !slices.Equal(s.Command, []string{tc.command}) {
				t.Errorf("command %v, want [%s]", s.Command, tc.command)
			}
			for _, cmd := range [][]string{s.Command, s.Healthcheck.Test[2:]} {
				name := cmd[0]
				out, _ := exec.Command(securo, name, "-h").CombinedOutput()
				if !commands[name] || strings.Contains(string(out), "unknown command") {
					t.Errorf("%v: securo has no command %q (%s)", cmd, name, out)
				}
			}
			if !slices.Equal(s.Healthcheck.Test[:2], []string{"CMD", "/securo"}) {
				t.Errorf("healthcheck %v, want the image's /securo (no shell in it)", s.Healthcheck.Test)
			}
			for name := range s.Environment {
				if !known[name] {
					t.Errorf("%s is not a setting securo reads", name)
				}
			}
			db, err := url.Parse(s.Environment["SECURO_DATABASE_URL"])
			if err != nil || db.Scheme != "postgres" || db.Hostname() != "postgresql" || db.Path != "/"+pg.Environment["POSTGRES_DB"] ||
				db.User.Username() != pg.Environment["POSTGRES_USER"] {
				t.Errorf("SECURO_DATABASE_URL %q is not postgresql's database %s as %s", s.Environment["SECURO_DATABASE_URL"],
					pg.Environment["POSTGRES_DB"], pg.Environment["POSTGRES_USER"])
			}
			if got := s.Environment["TEMPORAL_ADDRESS"]; got != "temporal:7233" {
				t.Errorf("TEMPORAL_ADDRESS %q, want temporal:7233", got)
			}
			if got := s.Environment["TEMPORAL_NAMESPACE"]; got != produp.Namespace {
				t.Errorf("TEMPORAL_NAMESPACE %q, want %s", got, produp.Namespace)
			}
			if key := s.Environment["SECURO_ENCRYPTION_KEY"]; key != testKey {
				t.Errorf("SECURO_ENCRYPTION_KEY %q: want the one from the environment or .env", key)
			}
			_, port, err := net.SplitHostPort(s.Environment["SECURO_HTTP_ADDR"])
			if err != nil {
				t.Errorf("SECURO_HTTP_ADDR: %v", err)
			}
			if tc.port != "" {
				if port != tc.port {
					t.Errorf("SECURO_HTTP_ADDR port %s, want %s", port, tc.port)
				}
				publishes(t, c, tc.service, tc.port)
			}
		})
	}
	if _, err := readCompose(t, nil); err == nil || !strings.Contains(err.Error(), "set SECURO_ENCRYPTION_KEY") {
		t.Errorf("without SECURO_ENCRYPTION_KEY: %v, want Compose to refuse with a message", err)
	}
	w := c.Services["securo-worker"]
	if w.Deploy.Replicas != 2 {
		t.Errorf("securo-worker replicas %d, want 2", w.Deploy.Replicas)
	}
	if len(w.Ports) != 0 {
		t.Errorf("securo-worker publishes %v: replicas would fight over the host ports", w.Ports)
	}
	if grace, err := time.ParseDuration(w.StopGracePeriod); err != nil || grace <= worker.StopTimeout {
		t.Errorf("securo-worker stop_grace_period %q, want longer than the worker's stop timeout %s", w.StopGracePeriod, worker.StopTimeout)
	}
}

func TestDockerfileBuildsAStaticBinaryIntoASmallNonRootImage(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	type stage struct {
		from, name string
		lines      []string
	}
	var stages []stage
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if strings.EqualFold(f[0], "FROM") {
			s := stage{from: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				s.name = f[3]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %q before the first FROM", line)
		}
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, strings.TrimSpace(line))
	}
	if len(stages) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, run)", len(stages))
	}
	build, final := stages[0], stages[1]
	if !strings.HasPrefix(build.from, "golang:1.26") || build.name == "" {
		t.Errorf("build stage FROM %s AS %q, want golang:1.26 named", build.from, build.name)
	}
	buildRun := strings.Join(build.lines, "\n")
	for _, want := range []string{"CGO_ENABLED=0", "go build", "-o /out/securo ./cmd/securo"} {
		if !strings.Contains(buildRun, want) {
			t.Errorf("build stage does not have %q", want)
		}
	}
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %s, want distroless/static or scratch", final.from)
	}
	has := func(prefix string) string {
		for _, l := range final.lines {
			if strings.HasPrefix(l, prefix) {
				return l
			}
		}
		return ""
	}
	if l := has("COPY --from=" + build.name + " "); l != "COPY --from="+build.name+" /out/securo /securo" {
		t.Errorf("final stage copies %q, want /out/securo from %s to /securo", l, build.name)
	}
	user := strings.TrimSpace(strings.TrimPrefix(has("USER "), "USER"))
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "root" || u == "0" {
		t.Errorf("final stage USER %q, want a non-root user", user)
	}
	if l := has("ENTRYPOINT "); l != `ENTRYPOINT ["/securo"]` {
		t.Errorf("final stage %q, want ENTRYPOINT [\"/securo\"] (compose's commands and health checks rely on it)", l)
	}
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "bin", ".securo", ".env"} {
		if !slices.Contains(strings.Fields(string(ignore)), want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
}
