// Command securo-bench measures delivery speed end to end: the limits of
// this machine (a tuned HTTPS client, a bare Temporal workflow) and the real
// service as `securo dev` runs it, under open-loop and closed-loop load.
// `make bench` runs it; --quick is the short run CI uses to check it works.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"log/slog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "securo-bench:", err)
		}
		os.Exit(1)
	}
}

// variants are the service configurations compared in one run, each adding
// one optimisation to the one before, so the run shows what each changed.
var variants = map[string][]string{
	// a child workflow per delivery with regular activities, Temporal's
	// SQLite as the CLI leaves it
	"naive": {"SECURO_TEMPORAL_SQLITE_TUNED=false", "SECURO_DELIVERY_FAST_PATH=false", "SECURO_EAGER_START=false"},
	// + WAL and synchronous=normal for the dev server's SQLite
	"wal": {"SECURO_DELIVERY_FAST_PATH=false", "SECURO_EAGER_START=false"},
	// + every first attempt in one local activity, children for retries only
	"fastpath": {"SECURO_EAGER_START=false"},
	// + eager workflow start (API and worker in one process)
	"eager": {"SECURO_BACKGROUND_LAUNCH=false"},
	// + the API answers once the event is committed and starts the
	// workflow after: the default
	"optimized": {},
	// the default again, on the production topology (startProdService)
	prodUp: {},
}

type options struct {
	quick bool
	// isolationRounds is how many times the isolation trio runs.
	isolationRounds int
	duration        time.Duration
	rates           []float64
	naiveRates      []float64
	endpoints       []int
	variants        []string
	out             string
	securoBin       string
	temporalBin     string
	databases       map[string]string // name -> SECURO_DATABASE_URL ("" = SQLite in the data dir)
	// prodPostgres is the server the prod-up variant makes its databases on.
	prodPostgres string
	isolation    bool
	clients      int
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("securo-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "a short run (under a minute) that checks the harness works")
	duration := fs.Duration("duration", 10*time.Second, "how long each load runs")
	rates := fs.String("rates", "10,25,50,100,200", "open-loop rates in events/s")
	naiveRates := fs.String("partial-rates", "5,10", "open-loop rates for the variants before optimized (1 endpoint), which back up beyond them")
	endpoints := fs.String("endpoints", "1,10", "endpoints per event")
	vars := fs.String("variants", "naive,wal,fastpath,eager,optimized,"+prodUp,
		"service variants to compare (each adds one optimisation; prod-up: optimized on the topology of make prod-up, on PostgreSQL)")
	out := fs.String("out", "bench/results", "where the JSON and PNG go")
	securoBin := fs.String("securo", "bin/securo", "the securo binary")
	temporalBin := fs.String("temporal", "bin/temporal", "the Temporal CLI")
	isolation := fs.Bool("isolation", true, "run the hung-endpoints scenario")
	isolationRounds := fs.Int("isolation-rounds", 3, "rounds of the hung-endpoints scenario, reported as medians (1 with --quick)")
	clients := fs.Int("clients", 64, "concurrent API clients in the closed-loop runs (the same as the Temporal floor's starters)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{quick: *quick, duration: *duration, out: *out, securoBin: *securoBin, temporalBin: *temporalBin,
		isolation: *isolation, isolationRounds: *isolationRounds, clients: *clients, databases: map[string]string{"sqlite": ""}}
	var err error
	if o.rates, err = parseRates("--rates", *rates); err != nil {
		return o, err
	}
	if o.naiveRates, err = parseRates("--naive-rates", *naiveRates); err != nil {
		return o, err
	}
	for _, s := range strings.Split(*endpoints, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("--endpoints: %q is not a positive number", s)
		}
		o.endpoints = append(o.endpoints, n)
	}
	for _, v := range strings.Split(*vars, ",") {
		if _, ok := variants[v]; !ok {
			return o, fmt.Errorf("--variants: unknown variant %q", v)
		}
		o.variants = append(o.variants, v)
	}
	o.prodPostgres = defaultProdPostgres
	if u := getenv("SECURO_BENCH_DATABASE_URL"); u != "" {
		o.databases["postgres"] = u
		o.prodPostgres = u
	}
	if o.quick {
		// Short and small, except where a flag says otherwise.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["duration"] {
			o.duration = 2 * time.Second
		}
		if !set["rates"] {
			o.rates = []float64{20}
		}
		if !set["variants"] {
			o.variants = []string{"optimized"}
		}
		if !set["isolation-rounds"] {
			o.isolationRounds = 1
		}
	}
	if o.isolationRounds < 1 {
		return o, fmt.Errorf("--isolation-rounds: want at least 1, got %d", o.isolationRounds)
	}
	return o, nil
}

func parseRates(flagName, list string) ([]float64, error) {
	var out []float64
	for _, s := range strings.Split(list, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flagName, s)
		}
		out = append(out, r)
	}
	return out, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	for _, bin := range []string{o.securoBin, o.temporalBin} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%s not found: run `make bench`, which builds it", bin)
		}
	}
	tmp, err := os.MkdirTemp("", "securo-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	rc := newReceiver(false)
	defer rc.srv.Close()
	// Hung endpoints live on a server of their own, as another customer's
	// would: what they share with the healthy one is our worker.
	hung := newReceiver(true)
	defer hung.srv.Close()
	caFile := filepath.Join(tmp, "receiver-ca.pem")
	if err := os.WriteFile(caFile, append(rc.caPEM(), hung.caPEM()...), 0o600); err != nil {
		return err
	}
	rep := report{Date: time.Now().UTC().Format("2006-01-02"), Commit: commit(), Quick: o.quick,
		Machine: fmt.Sprintf("%s/%s, %d cores", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())}
	progress := func(r runResult) {
		rep.Results = append(rep.Results, r)
		fmt.Fprintf(stderr, "  %-44s %-9s %-8s %3d ep  %7.1f deliv/s  p50 %7.1f ms  p99 %8.1f ms  lost %d\n",
			r.Name, r.Variant, r.Database, r.Endpoints, r.DeliveriesPerSec, r.Latency.P50, r.Latency.P99, r.Lost)
	}

	limitDur := o.duration / 2
	fmt.Fprintln(stderr, "limits")
	httpLimit := limitHTTP(ctx, rc, limitDur)
	progress(httpLimit)

	var runErr error // a failed run still leaves the report of those before it
	dbNames := []string{"sqlite"}
	if _, ok := o.databases["postgres"]; ok {
		dbNames = append(dbNames, "postgres")
	}
	for _, variant := range o.variants {
		dbs := dbNames
		if variant == prodUp {
			dbs = []string{"postgres"} // Temporal's and ours
		}
		for _, db := range dbs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(stderr, "service: %s on %s\n", variant, db)
			env := append([]string(nil), variants[variant]...)
			if u := o.databases[db]; u != "" {
				env = append(env, "SECURO_DATABASE_URL="+u)
			}
			dataDir := filepath.Join(tmp, variant+"-"+db)
			so := serviceOptions{securoBin: o.securoBin, temporalBin: o.temporalBin, dataDir: dataDir, caFile: caFile, env: env}
			var svc *service
			if variant == prodUp {
				if err := os.MkdirAll(dataDir, 0o700); err != nil {
					return err
				}
				so.env = variants[variant]
				svc, err = startProdService(ctx, so, filepath.Dir(o.securoBin), o.prodPostgres)
			} else {
				svc, err = startService(ctx, so)
			}
			if err != nil {
				return err
			}
			vo := o
			if variant != "optimized" && variant != prodUp {
				// The variants before the last back up at the full rates;
				// a backlog would spill into the runs after it.
				vo.rates, vo.endpoints, vo.isolation = o.naiveRates, []int{1}, false
			}
			results, iso, err := serviceRuns(ctx, vo, svc, rc, hung, httpLimit.DeliveriesPerSec)
			svc.stop()
			for _, r := range results {
				r.Variant, r.Database = variant, db
				progress(r)
			}
			if iso != nil {
				iso.Variant, iso.Database = variant, db
				rep.Isolated = append(rep.Isolated, *iso)
			}
			if err != nil {
				fmt.Fprintln(stderr, "stopping early:", err)
				runErr = err
				break
			}
		}
		if runErr != nil {
			break
		}
	}

	printTable(stdout, rep)
	name := rep.Date + "-" + rep.Commit
	if o.quick {
		name += "-quick"
	}
	// A second run of the same commit on the same day keeps the first's files.
	for n, base := 2, name; fileExists(filepath.Join(o.out, name+".json")); n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	jsonPath := filepath.Join(o.out, name+".json")
	pngPath := filepath.Join(o.out, name+".png")
	if err := writeJSON(jsonPath, rep); err != nil {
		return err
	}
	if err := writeChart(pngPath, rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s and %s\n", jsonPath, pngPath)
	if runErr != nil {
		return runErr
	}
	for _, r := range rep.Results {
		if r.Lost != 0 {
			return fmt.Errorf("%s (%s, %s): %d deliveries lost", r.Name, r.Variant, r.Database, r.Lost)
		}
	}
	return nil
}

// serviceRuns measures one running service: the Temporal floor on its dev
// server, open-loop rates and a closed loop per endpoint count, and the
// isolation scenario.
func serviceRuns(ctx context.Context, o options, svc *service, rc, hung *receiver, httpLimit float64) ([]runResult, *isolation, error) {
	tc, err := client.Dial(client.Options{HostPort: svc.temporalAddr, Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return nil, nil, err
	}
	defer tc.Close()
	var out []runResult
	floor, err := limitTemporal(ctx, tc, rc, o.duration/2, o.clients)
	if err != nil {
		return nil, nil, err
	}
	floor.RatioToHTTP = floor.DeliveriesPerSec / httpLimit
	out = append(out, floor)
	add := func(r runResult) {
		r.RatioToHTTP = r.DeliveriesPerSec / httpLimit
		if floor.DeliveriesPerSec > 0 {
			r.RatioToTemporal = r.DeliveriesPerSec / floor.DeliveriesPerSec
		}
		out = append(out, r)
	}
	isoRate := o.rates[0]
	closed := func(eps int) error {
		r, err := svc.run(ctx, rc, nil, loadSpec{name: fmt.Sprintf("closed loop, %d clients", o.clients), endpoints: eps, concurrency: o.clients, duration: o.duration})
		if err == nil {
			add(r)
		}
		return err
	}
	for _, eps := range o.endpoints {
		// The closed loop first: the open-loop rates end beyond what the
		// service sustains, and what they leave behind would weigh on it.
		if err := closed(eps); err != nil {
			return out, nil, err
		}
		for _, rate := range o.rates {
			r, err := svc.run(ctx, rc, nil, loadSpec{name: fmt.Sprintf("open loop %.0f/s", rate), endpoints: eps, rate: rate, duration: o.duration})
			if err != nil {
				return out, nil, err
			}
			add(r)
		}
	}
	if len(o.endpoints) == 1 && o.endpoints[0] == 1 {
		// Partial variants: a closed loop with ten endpoints too, which
		// cannot back up.
		if err := closed(10); err != nil {
			return out, nil, err
		}
	}
	if !o.isolation {
		return out, nil, nil
	}
	hungEndpoints := 100
	if o.quick {
		hungEndpoints = 10
	}
	// Rounds of three runs, each right after the other so they meet the same
	// state: the healthy endpoint alone; beside the neighbours' traffic to
	// endpoints that answer (what their load costs); beside the same
	// traffic to endpoints that hang. Medians over the rounds.
	var alone, answering, hanging [2][]float64 // p50s, p99s
	keep := func(dst *[2][]float64, r runResult) {
		add(r)
		dst[0], dst[1] = append(dst[0], r.Latency.P50), append(dst[1], r.Latency.P99)
	}
	for round := 1; round <= o.isolationRounds; round++ {
		b, err := svc.run(ctx, rc, nil, loadSpec{name: fmt.Sprintf("open loop %.0f/s, alone (round %d)", isoRate, round), endpoints: 1, rate: isoRate, duration: o.duration})
		if err != nil {
			return out, nil, err
		}
		keep(&alone, b)
		c, err := svc.run(ctx, rc, hung, loadSpec{name: fmt.Sprintf("open loop %.0f/s + %d answering (round %d)", isoRate, hungEndpoints, round), endpoints: 1, rate: isoRate,
			duration: o.duration, hung: hungEndpoints, hungRate: 10, busy: true})
		if err != nil {
			return out, nil, err
		}
		keep(&answering, c)
		r, err := svc.run(ctx, rc, hung, loadSpec{name: fmt.Sprintf("open loop %.0f/s + %d hung (round %d)", isoRate, hungEndpoints, round), endpoints: 1, rate: isoRate,
			duration: o.duration, hung: hungEndpoints, hungRate: 10})
		if err != nil {
			return out, nil, err
		}
		keep(&hanging, r)
		hung.settle(ctx)
	}
	iso := &isolation{Rounds: o.isolationRounds,
		BaselineP50: median(alone[0]), BaselineP99: median(alone[1]),
		AnsweringP50: median(answering[0]), AnsweringP99: median(answering[1]),
		HungP50: median(hanging[0]), HungP99: median(hanging[1])}
	iso.ChangeP50 = pctChange(iso.BaselineP50, iso.HungP50)
	return out, iso, nil
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
