package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// runResult is one line of the report.
type runResult struct {
	Name               string         `json:"name"`
	Kind               string         `json:"kind"` // limit or service
	Variant            string         `json:"variant,omitempty"`
	Database           string         `json:"database,omitempty"`
	Endpoints          int            `json:"endpoints"`
	OfferedRate        float64        `json:"offered_events_per_sec,omitempty"` // 0: closed loop
	Concurrency        int            `json:"concurrency,omitempty"`
	Duration           float64        `json:"duration_sec"`
	Accepted           int            `json:"accepted"`
	AcceptedPerSec     float64        `json:"accepted_per_sec"`
	Expected           int            `json:"expected_deliveries"`
	Delivered          int            `json:"delivered"`
	DeliveriesPerSec   float64        `json:"deliveries_per_sec"`
	RatioToHTTP        float64        `json:"ratio_to_http_limit"`
	RatioToTemporal    float64        `json:"ratio_to_temporal_limit"`
	Latency            latencySummary `json:"latency_accept_to_arrival"`
	API                latencySummary `json:"api_response"`
	CPUSeconds         float64        `json:"cpu_seconds_service"`
	TemporalCPUSeconds float64        `json:"cpu_seconds_temporal"`
	PeakRSSMiB         float64        `json:"peak_rss_mib_service"`
	Lost               int            `json:"lost"`
	Duplicates         int            `json:"duplicates"`
	APIErrors          int            `json:"api_errors"`
}

type report struct {
	Date     string      `json:"date"`
	Commit   string      `json:"commit"`
	Machine  string      `json:"machine"`
	Quick    bool        `json:"quick"`
	Results  []runResult `json:"results"`
	Isolated []isolation `json:"isolation,omitempty"`
}

// isolation compares a healthy endpoint's latency with and without hung
// endpoints beside it.
type isolation struct {
	Variant     string  `json:"variant"`
	Rounds      int     `json:"rounds"` // the figures are medians over them
	Database    string  `json:"database"`
	BaselineP50 float64 `json:"baseline_p50_ms"`
	BaselineP99 float64 `json:"baseline_p99_ms"`
	HungP50     float64 `json:"with_hung_p50_ms"`
	HungP99     float64 `json:"with_hung_p99_ms"`
	ChangeP50   float64 `json:"change_p50_pct"`
	// The same neighbours' events to endpoints that answer.
	AnsweringP50 float64 `json:"with_answering_p50_ms"`
	AnsweringP99 float64 `json:"with_answering_p99_ms"`
}

func printTable(w io.Writer, r report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tvariant\tdb\teps\toffered/s\taccepted/s\tdeliv/s\t÷http\t÷temporal\tp50 ms\tp95 ms\tp99 ms\tmax ms\tapi p50\tapi p99\tcpu s\ttemporal cpu s\trss MiB\tlost\tdups\t")
	for _, x := range r.Results {
		offered := "max"
		if x.OfferedRate > 0 {
			offered = fmt.Sprintf("%.0f", x.OfferedRate)
		}
		if x.Kind == "limit" {
			offered = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%.1f\t%.1f\t%.3f\t%.2f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.0f\t%d\t%d\t\n",
			x.Name, x.Variant, x.Database, x.Endpoints, offered, x.AcceptedPerSec, x.DeliveriesPerSec, x.RatioToHTTP, x.RatioToTemporal,
			x.Latency.P50, x.Latency.P95, x.Latency.P99, x.Latency.Max, x.API.P50, x.API.P99,
			x.CPUSeconds, x.TemporalCPUSeconds, x.PeakRSSMiB, x.Lost, x.Duplicates)
	}
	tw.Flush()
	if len(r.Isolated) > 0 {
		fmt.Fprintln(w, "\nisolation: a healthy endpoint's latency alone, beside 100 endpoints that answer, and beside 100 that hang (same traffic); medians over rounds")
		for _, i := range r.Isolated {
			fmt.Fprintf(w, "  %s/%s, %d rounds: p50 %.1f / %.1f / %.1f ms (hung vs alone %+.0f%%, hung vs answering %+.0f%%), p99 %.1f / %.1f / %.1f ms\n", i.Variant, i.Database, i.Rounds,
				i.BaselineP50, i.AnsweringP50, i.HungP50, i.ChangeP50, pctChange(i.AnsweringP50, i.HungP50), i.BaselineP99, i.AnsweringP99, i.HungP99)
		}
	}
}

func writeJSON(path string, r report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeChart plots latency (p50 and p99) against offered load, one line per
// variant, database and endpoint count.
func writeChart(path string, r report) error {
	p := plot.New()
	p.Title.Text = "Acceptance to arrival latency vs offered load"
	p.X.Label.Text = "offered events/s"
	p.Y.Label.Text = "latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true

	series := map[string]plotter.XYs{}
	for _, x := range r.Results {
		if x.Kind != "service" || x.OfferedRate == 0 || strings.Contains(x.Name, "(round ") {
			continue
		}
		for _, q := range []struct {
			name string
			v    float64
		}{{"p50", x.Latency.P50}, {"p99", x.Latency.P99}} {
			key := fmt.Sprintf("%s %s %d ep %s", x.Variant, x.Database, x.Endpoints, q.name)
			series[key] = append(series[key], plotter.XY{X: x.OfferedRate, Y: max(q.v, 0.1)})
		}
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		pts := series[k]
		sort.Slice(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := plotutil.Color(i / 2)
		line.Color, points.Color = c, c
		if strings.HasSuffix(k, "p99") {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		points.Shape = plotutil.Shape(i / 2)
		p.Add(line, points)
		p.Legend.Add(k, line, points)
	}
	target := plotter.NewFunction(func(float64) float64 { return 100 })
	target.Color = color.RGBA{R: 200, A: 255}
	target.Dashes = []vg.Length{vg.Points(1), vg.Points(2)}
	p.Add(target)
	p.Legend.Add("100 ms target (p99 at 50/s)", target)
	return p.Save(9*vg.Inch, 6*vg.Inch, path)
}

// pctChange is how far to is from from, in percent; 0 when from is 0.
func pctChange(from, to float64) float64 {
	if from == 0 {
		return 0
	}
	return 100 * (to - from) / from
}
