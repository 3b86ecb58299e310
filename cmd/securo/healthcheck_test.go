package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheckPassesOnlyOn2xx(t *testing.T) {
	for _, tc := range []struct {
		status int
		ok     bool
	}{{http.StatusOK, true}, {http.StatusServiceUnavailable, false}, {http.StatusNotFound, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/healthz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(tc.status)
		}))
		addr := strings.TrimPrefix(srv.URL, "http://")
		getenv := func(k string) string {
			if k == "SECURO_HTTP_ADDR" {
				return addr
			}
			return ""
		}
		err := run(context.Background(), []string{"healthcheck"}, getenv, io.Discard, io.Discard)
		if (err == nil) != tc.ok {
			t.Errorf("/healthz answering %d: healthcheck error %v, want ok=%v", tc.status, err, tc.ok)
		}
		srv.Close()
	}
}

func TestHealthcheckReadsAWildcardListenAddressAsLoopback(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080":   "http://127.0.0.1:8080/healthz",
		"[::]:9090":      "http://127.0.0.1:9090/healthz",
		":8080":          "http://127.0.0.1:8080/healthz",
		"10.0.0.5:8080":  "http://10.0.0.5:8080/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
	} {
		if got, err := healthURL(addr); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL("no-port"); err == nil {
		t.Error("healthURL accepted an address without a port")
	}
}
