package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/securo/webhooks/internal/freeport"
)

// service is the service under test: `securo dev` running as its own
// process, as `make run` runs it, or the production topology of `make
// prod-up`.
type service struct {
	apiURL       string
	key          string
	temporalAddr string
	api          *http.Client
	stop         func()
	// pids are the service's processes and its Temporal server's, for
	// their CPU time and memory.
	pids func() (securo, temporal []int)
}

type serviceOptions struct {
	securoBin, temporalBin string
	dataDir                string
	caFile                 string
	env                    []string // extra settings (the variant, the database)
}

var keyLine = regexp.MustCompile(`API key:\s+(\S+)`)

func freePort() int {
	port, err := freeport.Get()
	if err != nil {
		panic(err)
	}
	return port
}

func startService(ctx context.Context, o serviceOptions) (*service, error) {
	httpPort, temporalPort, uiPort := freePort(), freePort(), freePort()
	cmd := exec.Command(o.securoBin, "dev", "--data-dir", o.dataDir,
		"--http-addr", "127.0.0.1:"+strconv.Itoa(httpPort),
		"--temporal-port", strconv.Itoa(temporalPort), "--ui-port", strconv.Itoa(uiPort),
		"--temporal-bin", o.temporalBin)
	// The isolation run needs 101 endpoints in one account.
	cmd.Env = append(append(os.Environ(), "SECURO_CA_FILE="+o.caFile, "SECURO_MAX_ENDPOINTS=1000"), o.env...)
	logFile, err := os.Create(filepath.Join(o.dataDir, "..", filepath.Base(o.dataDir)+".log"))
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	s := &service{temporalAddr: "127.0.0.1:" + strconv.Itoa(temporalPort),
		apiURL: "http://127.0.0.1:" + strconv.Itoa(httpPort), api: benchClient(),
		stop: func() { stopDev(cmd, exited) },
		pids: func() ([]int, []int) { return []int{cmd.Process.Pid}, childPids(cmd.Process.Pid) }}
	keyc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := keyLine.FindStringSubmatch(sc.Text()); m != nil {
				keyc <- m[1]
			}
		}
	}()
	go func() { cmd.Wait(); logFile.Close(); close(exited) }()
	select {
	case s.key = <-keyc:
		return s, nil
	case <-exited:
		return nil, fmt.Errorf("securo dev exited at start; see %s", logFile.Name())
	case <-time.After(120 * time.Second):
		s.stop()
		return nil, errors.New("securo dev did not start within 120s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

func benchClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024}}
}

// stopDev presses Ctrl-C and waits.
func stopDev(cmd *exec.Cmd, exited chan struct{}) {
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// childPids are the children of every thread of pid: the Temporal dev server
// is a child of whichever thread started it.
func childPids(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		kids, _ := os.ReadFile(f)
		for _, k := range strings.Fields(string(kids)) {
			if n, err := strconv.Atoi(k); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// usage is the CPU seconds used so far by the service and by its Temporal
// server, and the service's peak RSS in MiB (summed over its processes).
func (s *service) usage() (cpu, temporalCPU float64, peakRSSMiB float64) {
	securo, temporal := s.pids()
	for _, pid := range securo {
		cpu += procCPU(pid)
		peakRSSMiB += procPeakRSSMiB(pid)
	}
	for _, pid := range temporal {
		temporalCPU += procCPU(pid)
	}
	return cpu, temporalCPU, peakRSSMiB
}

func procPeakRSSMiB(pid int) float64 {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name: utime and stime are the 14th and 15th.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

func (s *service) call(ctx context.Context, method, path string, body any, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.apiURL+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := s.api.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		json.Unmarshal(raw, out)
	}
	return resp.StatusCode, nil
}

// loadSpec is one run against the service.
type loadSpec struct {
	name        string
	endpoints   int
	rate        float64 // events/s; 0 = closed loop
	concurrency int     // closed loop clients
	duration    time.Duration
	hung        int     // endpoints that never answer, fed at hungRate
	hungRate    float64 // events/s spread over the hung endpoints
	// busy makes the hung endpoints answer at once, on rc: the same
	// neighbours' traffic without the hanging, to tell the two costs apart.
	busy bool
}

var runSeq atomic.Int64

func (s *service) run(ctx context.Context, rc, hung *receiver, spec loadSpec) (runResult, error) {
	runID := fmt.Sprintf("r%d", runSeq.Add(1))
	prefix := "/run/" + runID + "/"
	eventType := "bench." + runID
	var created []string
	defer func() {
		for _, id := range created {
			s.call(context.Background(), "DELETE", "/v1/endpoints/"+id, nil, nil)
		}
	}()
	addEndpoint := func(url, eventType string) error {
		var ep struct{ ID string }
		code, err := s.call(ctx, "POST", "/v1/endpoints", map[string]any{"url": url, "event_types": []string{eventType}}, &ep)
		if err != nil || code != http.StatusCreated {
			return fmt.Errorf("create endpoint: %d %v", code, err)
		}
		created = append(created, ep.ID)
		return nil
	}
	for i := range spec.endpoints {
		if err := addEndpoint(fmt.Sprintf("%s%sep%d", rc.srv.URL, prefix, i), eventType); err != nil {
			return runResult{}, err
		}
	}
	for i := range spec.hung {
		otherURL := hung.srv.URL + "/hang/"
		if spec.busy {
			otherURL = rc.srv.URL + "/busy/"
		}
		if err := addEndpoint(fmt.Sprintf("%s%s/%d", otherURL, runID, i), fmt.Sprintf("hang.%s.%d", runID, i)); err != nil {
			return runResult{}, err
		}
	}

	cpu0, tcpu0, _ := s.usage()
	var (
		mu          sync.Mutex
		apiLatency  []time.Duration
		accepted    atomic.Int64
		apiErrors   atomic.Int64
		wg          sync.WaitGroup
		inflight    = make(chan struct{}, 2048)
		seq         atomic.Int64
		loadCtx, cl = context.WithTimeout(ctx, spec.duration)
	)
	defer cl()
	// emit sends one event and returns its id ("" when refused).
	emit := func(typ string) string {
		defer wg.Done()
		defer func() { <-inflight }()
		n := seq.Add(1)
		t0 := time.Now()
		var ev struct{ ID string }
		code, err := s.call(ctx, "POST", "/v1/events", map[string]any{"type": typ, "data": map[string]any{"n": n, "pair": "ETH/USDC", "amount_in": "1000000000000000000"}}, &ev)
		d := time.Since(t0)
		if err != nil || code != http.StatusAccepted {
			apiErrors.Add(1)
			return ""
		}
		if typ == eventType {
			accepted.Add(1)
			mu.Lock()
			apiLatency = append(apiLatency, d)
			mu.Unlock()
		}
		return ev.ID
	}
	ticker := func(rate float64, typ func() string) {
		defer wg.Done()
		interval := time.Duration(float64(time.Second) / rate)
		next := time.Now()
		for loadCtx.Err() == nil {
			inflight <- struct{}{}
			wg.Add(1)
			go func() { emit(typ()) }()
			next = next.Add(interval)
			time.Sleep(time.Until(next))
		}
	}
	start := time.Now()
	if spec.hung > 0 && spec.hungRate > 0 {
		var h atomic.Int64
		wg.Add(1)
		go ticker(spec.hungRate, func() string { return fmt.Sprintf("hang.%s.%d", runID, h.Add(1)%int64(spec.hung)) })
	}
	if spec.rate > 0 {
		wg.Add(1)
		go ticker(spec.rate, func() string { return eventType })
	} else {
		// Closed loop: each client emits an event and waits for it to reach
		// every endpoint before the next, so the run measures what the
		// service sustains rather than how fast a backlog grows.
		for range spec.concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for loadCtx.Err() == nil {
					inflight <- struct{}{}
					wg.Add(1)
					if id := emit(eventType); id != "" {
						rc.wait(loadCtx, id, spec.endpoints)
					}
				}
			}()
		}
	}
	wg.Wait()
	loadTime := time.Since(start)

	expected := int(accepted.Load()) * spec.endpoints
	drain(ctx, rc, prefix, expected)
	distinct, dups, lat := rc.collect(prefix)
	last := rc.lastArrival(prefix)
	span := last.Sub(start)
	if span < loadTime {
		span = loadTime
	}
	cpu1, tcpu1, rss := s.usage()
	return runResult{
		Name: spec.name, Kind: "service", Endpoints: spec.endpoints, OfferedRate: spec.rate, Concurrency: spec.concurrency,
		Duration: loadTime.Seconds(), Accepted: int(accepted.Load()), AcceptedPerSec: float64(accepted.Load()) / loadTime.Seconds(),
		Expected: expected, Delivered: distinct, Lost: expected - distinct, Duplicates: dups, APIErrors: int(apiErrors.Load()),
		DeliveriesPerSec: float64(distinct) / span.Seconds(), Latency: summarize(lat), API: summarize(apiLatency),
		CPUSeconds: cpu1 - cpu0, TemporalCPUSeconds: tcpu1 - tcpu0, PeakRSSMiB: rss,
	}, nil
}

// drain waits for expected deliveries under prefix, giving up only when
// nothing new has arrived for 30 s (a backlog drains slowly but steadily).
func drain(ctx context.Context, rc *receiver, prefix string, expected int) {
	lastCount, lastProgress := -1, time.Now()
	for ctx.Err() == nil {
		n := rc.count(prefix)
		if n >= expected || time.Since(lastProgress) > 30*time.Second {
			break
		}
		if n != lastCount {
			lastCount, lastProgress = n, time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // late duplicates
}
