package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/securo/webhooks/signing"
)

// benchSecret signs the limit runs' bodies, as a delivery would be signed.
const benchSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// body1KiB is a delivery body of 1 KiB with the given id and time.
func body1KiB(id string, created time.Time) []byte {
	head := fmt.Sprintf(`{"id":%q,"type":"dex.swap","created_at":%q,"sandbox":false,"data":{"pad":"`, id, created.UTC().Format(time.RFC3339Nano))
	pad := strings.Repeat("x", max(0, 1024-len(head)-3))
	return []byte(head + pad + `"}}`)
}

func tunedClient(roots *x509.CertPool, conns int) *http.Client {
	return &http.Client{
		Timeout: 15 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: roots},
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
		},
	}
}

// post sends one signed body and reports whether it got a 2xx.
func post(ctx context.Context, c *http.Client, signer *signing.Signer, url, id string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signing.HeaderID, id)
	req.Header.Set(signing.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(signing.HeaderSignature, signer.Sign(id, now, body))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// limitHTTP is what the hardware allows: a tuned Go client posting signed
// 1 KiB bodies with 64 concurrent keep-alive connections.
func limitHTTP(ctx context.Context, rc *receiver, d time.Duration) runResult {
	const conns = 64
	c := tunedClient(rc.pool(), conns)
	signer, _ := signing.NewSigner(benchSecret)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("msg_%d_%d", w, i)
				if err := post(ctx, c, signer, rc.srv.URL+"/limit/http", id, body1KiB(id, time.Now())); err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	distinct, dups, lat := rc.collect("/limit/http")
	return runResult{Name: "limit: tuned Go HTTPS client", Kind: "limit", Endpoints: 1, Duration: elapsed.Seconds(),
		Accepted: int(n.Load()), Delivered: distinct, Duplicates: dups,
		DeliveriesPerSec: float64(n.Load()) / elapsed.Seconds(), Latency: summarize(lat)}
}

// The bare Temporal floor: a workflow with one local activity that only
// POSTs, started directly by a client; no API and no database of ours.

type floorInput struct {
	ID        string
	URL       string
	CreatedAt time.Time
}

type floorActivities struct {
	client *http.Client
	signer *signing.Signer
}

func (a *floorActivities) FloorPost(ctx context.Context, in floorInput) error {
	return post(ctx, a.client, a.signer, in.URL, in.ID, body1KiB(in.ID, in.CreatedAt))
}

func floorWorkflow(ctx workflow.Context, in floorInput) error {
	var a *floorActivities
	ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 20 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	return workflow.ExecuteLocalActivity(ctx, a.FloorPost, in).Get(ctx, nil)
}

func limitTemporal(ctx context.Context, tc client.Client, rc *receiver, d time.Duration, concurrency int) (runResult, error) {
	const queue = "bench-floor"
	signer, _ := signing.NewSigner(benchSecret)
	w := worker.New(tc, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(floorWorkflow, workflow.RegisterOptions{Name: "BenchFloor"})
	w.RegisterActivity(&floorActivities{client: tunedClient(rc.pool(), 64), signer: signer})
	if err := w.Start(); err != nil {
		return runResult{}, err
	}
	defer w.Stop()
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	prefix := fmt.Sprintf("/limit/temporal/%d", start.UnixNano())
	// Starters as fast as the server takes them, handed eagerly to this
	// process's worker: the best Temporal does here, with nothing of ours.
	for c := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; runCtx.Err() == nil; i++ {
				id := fmt.Sprintf("floor-%d-%d-%d", start.UnixNano(), c, i)
				_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, EnableEagerStart: true}, "BenchFloor",
					floorInput{ID: id, URL: rc.srv.URL + prefix, CreatedAt: time.Now()})
				if err != nil {
					failed.Add(1)
					continue
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	drain(ctx, rc, prefix, int(n.Load()))
	distinct, dups, lat := rc.collect(prefix)
	span := max(rc.lastArrival(prefix).Sub(start), d)
	return runResult{Name: "limit: bare Temporal workflow + local activity", Kind: "limit", Endpoints: 1, Duration: span.Seconds(),
		Accepted: int(n.Load()), AcceptedPerSec: float64(n.Load()) / d.Seconds(), Expected: int(n.Load()), Delivered: distinct,
		Duplicates: dups, Lost: int(n.Load()) - distinct, APIErrors: int(failed.Load()),
		DeliveriesPerSec: float64(distinct) / span.Seconds(), Latency: summarize(lat)}, nil
}
