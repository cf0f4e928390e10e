package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wsstd/websocket/bench"
)

// metric is one table row: samples per library, one per round.
type metric struct {
	row    string
	unit   string
	format func(v float64) string // cell text for the median
	extra  func(v float64) string // optional second figure (e.g. MB/s)
	vals   map[string][]float64
	errs   map[string]string
	na     map[string]string // not applicable, with the reason
}

type section struct {
	key, title, intro string
	lowerBetter       bool
	rows              []*metric
	byRow             map[string]*metric
	notes             []string
}

type report struct {
	libs     []bench.Lib
	sections []*section
	byKey    map[string]*section
	correct  []checkResult
	elapsed  time.Duration
	load0    string // /proc/loadavg at start and end: other work on the
	load1    string // machine makes every number noisier
	// skip[lib] is set when the library failed its correctness checks for
	// the server echo; its throughput numbers are then not trusted.
	skip map[string]string
}

func newReport(libs []bench.Lib) *report {
	r := &report{libs: libs, byKey: map[string]*section{}, skip: map[string]string{}}
	add := func(key, title string, lowerBetter bool, intro string) {
		s := &section{key: key, title: title, intro: intro, lowerBetter: lowerBetter, byRow: map[string]*metric{}}
		r.sections = append(r.sections, s)
		r.byKey[key] = s
	}
	add("echo", "1. Server echo throughput", false,
		"Each library's echo server runs in its own process and is driven by the fixed raw-TCP load client "+
			"(pre-built masked frames, replies parsed from frame headers). *req/resp*: one message in flight per "+
			"connection; *pipelined*: up to 16 in flight per connection. Cell: messages/s echoed · payload MB/s (one direction).")
	add("echo-cpu", "1b. Server CPU time per echoed message", true,
		"The same runs as section 1: CPU time (user + system, all threads, from /proc/PID/task/*/schedstat) that "+
			"the server process used during the measurement window, divided by the messages it echoed. Unlike "+
			"throughput, this does not depend on how the scheduler happens to wake the load client, so it separates "+
			"the libraries' own cost where the throughput cells are latency-bound (1 connection, request/response). "+
			"On loopback most of it is the kernel's work in read/write, the same for every library.")
	add("client", "2. Client throughput", false,
		"Each library's client does request/response round trips (write a binary message, read the reply into a "+
			"reused buffer) against the fixed raw-TCP echo server in its own process.")
	add("client-cpu", "2b. Client CPU time per round trip", true,
		"The same runs as section 2: CPU time (user + system, all threads) of the driver process, where the "+
			"library clients are the only busy goroutines, during the measurement window, divided by the round "+
			"trips. The raw echo server runs in its own process and is not counted.")
	add("alloc", "3. Allocations per echoed message", true,
		"In-process over loopback, runtime.MemStats deltas over many request/response echoes divided by the count. "+
			"*server*: library echo handler driven by the raw client; *client*: library client against the raw echo "+
			"server. The *raw* column pair is the harness alone (raw client ↔ raw server) and should be 0.")
	add("idle", "4. Memory per idle connection", true,
		"Upgraded, idle echo connections held open to a fresh server process per library; the server reports its "+
			"own numbers after GC + FreeOSMemory, before and after. Per connection = delta ÷ connections.")
	add("handshake", "5. Upgrade (handshake) rate", false,
		"*server*: the raw client dials, upgrades (request written by hand, 101 verified) and resets the connection, "+
			"against each library's server process; *sequential* = 1 dialer, *parallel* = 8 concurrent dialers. "+
			"*client dial*: each library's Dial + Close against the raw echo server, sequential.")
	add("mask", "6. Masking throughput", false,
		"In-process, one goroutine, the same buffer masked repeatedly (hot in cache). GB/s of payload. "+
			"Ratios are relative to copy() of the same size, not to gorilla.")
	add("broadcast", "7. Broadcast fan-out", true,
		"One binary message sent by the library's hub (encode-once prepared/compiled frame where the library has one) "+
			"to every connection of the server process; raw-TCP receivers in the driver. *delivered*: from the HTTP "+
			"trigger until the last receiver has the whole message (includes the ~0.1 ms trigger round trip); "+
			"*server call*: time spent in the hub's Broadcast call (asynchronous libraries return before delivery).")
	add("deflate", "8. Compression: echo throughput with permessage-deflate", false,
		"Library client ↔ library server of the same library, both in the driver process over loopback, compression "+
			"negotiated in the row's mode (checked on the Sec-WebSocket-Extensions response; n/a with the reason when the "+
			"library cannot or did not agree). Request/response, 16 distinct compressible JSON-like messages sent in "+
			"turn, every echo compared byte for byte. Cell: messages/s · payload MB/s (one direction, uncompressed).")
	add("deflate-alloc", "9. Compression: allocations per echoed message", true,
		"Same pair as section 8, one connection; runtime.MemStats deltas divided by the count. Both sides are in "+
			"this process, so each figure covers client write + server read + server write + client read "+
			"(two compressions and two decompressions).")
	add("deflate-idle", "10. Compression: memory per idle compressed connection", true,
		"As section 4, with the raw client offering permessage-deflate in the row's mode (no context takeover: "+
			"`permessage-deflate; client_no_context_takeover; server_no_context_takeover`; context takeover: plain "+
			"`permessage-deflate`; windows 2^10: `permessage-deflate; server_max_window_bits=10; client_max_window_bits=10`, "+
			"and the answer must limit the server's window), requiring it in the response, and exchanging one compressed 1 KiB JSON-like text "+
			"message each way per connection (reply decompressed and compared) before going idle, so lazily created "+
			"compressors exist. The connections then sit idle for 3 s before the measurement (wsstd gives a compressor "+
			"back after 1-2 s without compressed writes).")
	add("deflate-ratio", "11. Compression: ratio for a stream of small JSON messages", true,
		"Library client ↔ library server of the same library in the driver process, one connection through a "+
			"byte-counting listener (which hides the socket from libraries that read it directly: speed differs "+
			"there, output does not); 2,000 distinct JSON-like arrays of records (`bench.JSONMessageSeed`, 500 with "+
			"`-quick`) echoed in turn. Cell: bytes on the wire in that direction (frames, handshake excluded) ÷ "+
			"payload bytes. Client → server is the client's compressor, server → client the server's.")
	return r
}

func (r *report) metric(sec, row, unit string, format func(float64) string) *metric {
	s := r.byKey[sec]
	m := s.byRow[row]
	if m == nil {
		m = &metric{row: row, unit: unit, format: format, vals: map[string][]float64{}, errs: map[string]string{}, na: map[string]string{}}
		s.rows = append(s.rows, m)
		s.byRow[row] = m
	}
	return m
}

func (r *report) add(sec, row, lib string, v float64, format func(float64) string) *metric {
	m := r.metric(sec, row, "", format)
	m.vals[lib] = append(m.vals[lib], v)
	return m
}

func (r *report) fail(sec, row, lib string, err error, format func(float64) string) {
	m := r.metric(sec, row, "", format)
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60] + "…"
	}
	m.errs[lib] = msg
	logf("%s / %s / %s: %v", sec, row, lib, err)
}

// na marks lib as not applicable for row, with the reason.
func (r *report) na(sec, row, lib, why string, format func(float64) string) {
	m := r.metric(sec, row, "", format)
	if len(why) > 70 {
		why = why[:70] + "…"
	}
	m.na[lib] = why
}

func (r *report) note(sec, format string, args ...any) {
	s := r.byKey[sec]
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(s.notes, n) {
		s.notes = append(s.notes, n)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is half the min–max range relative to the median, in percent.
func spread(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	m := median(v)
	if m == 0 {
		return 0
	}
	return (slices.Max(v) - slices.Min(v)) / 2 / math.Abs(m) * 100
}

func (r *report) write(w io.Writer, cfg config) {
	fmt.Fprintf(w, "# WebSocket library benchmarks\n\n")
	fmt.Fprintf(w, "Generated %s by `go run ./cmd/wsbench%s` in %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), cmdline(), r.elapsed.Round(time.Second))
	fmt.Fprintf(w, "- Machine: %s, %d CPUs, GOMAXPROCS %d, %s %s/%s\n", cpuModel(), runtime.NumCPU(),
		runtime.GOMAXPROCS(0), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "- Load average (1/5/15 min) at start: %s; at end: %s (the suite itself loads both cores; "+
		"other work on the machine adds noise)\n", r.load0, r.load1)
	if l := firstLoad(r.load0); l > float64(runtime.NumCPU())/2 {
		fmt.Fprintf(w, "- **Warning**: the 1-minute load average was %.1f on %d CPUs when the suite started: other work "+
			"was running, so expect large ±x%% and treat small differences as noise.\n", l, runtime.NumCPU())
	}
	fmt.Fprintf(w, "- Rounds: %d (libraries interleaved within each round; cells are medians over rounds", cfg.rounds)
	if cfg.rounds > 1 {
		fmt.Fprintf(w, ", ±x%% = half the min–max range")
	}
	fmt.Fprintf(w, ")\n- Libraries: %s\n", versions(r.libs))
	for _, v := range bench.ClientVariants(r.libs) {
		fmt.Fprintf(w, "- Client variant %s (sections 0, 2 and 2b only; never counted as the best other library): %s\n", v.Name, v.Doc)
	}
	fmt.Fprintf(w, "- Ratios: value ÷ gorilla's value for the same row (mask: ÷ copy()). "+
		"Whether higher is better is stated per section.\n\n")

	r.writeCorrectness(w)
	r.writeSummary(w)
	for _, s := range r.sections {
		if len(s.rows) == 0 {
			continue
		}
		better := "higher is better"
		if s.lowerBetter {
			better = "lower is better"
		}
		fmt.Fprintf(w, "## %s (%s)\n\n%s\n\n", s.title, better, s.intro)
		if s.key == "mask" {
			r.writeMask(w, s)
		} else {
			r.writeTable(w, s)
		}
		for _, n := range s.notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
		if len(s.notes) > 0 {
			fmt.Fprintln(w)
		}
	}
}

func (r *report) writeTable(w io.Writer, s *section) {
	cols := []string{}
	for _, l := range r.libs {
		cols = append(cols, l.Name())
	}
	// Extra columns present only in some sections (the alloc harness row).
	for _, m := range s.rows {
		for k := range m.vals {
			if !slices.Contains(cols, k) {
				cols = append(cols, k)
			}
		}
	}
	fmt.Fprintf(w, "| |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c)
	}
	fmt.Fprintf(w, "\n|---|")
	for range cols {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, m := range s.rows {
		fmt.Fprintf(w, "| %s |", m.row)
		base := math.NaN()
		if v := m.vals["gorilla"]; len(v) > 0 {
			base = median(v)
		}
		for _, c := range cols {
			fmt.Fprintf(w, " %s |", m.cell(c, base))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func (m *metric) cell(lib string, base float64) string {
	if e, ok := m.errs[lib]; ok {
		return "**FAIL**: " + strings.ReplaceAll(e, "|", "/")
	}
	v := m.vals[lib]
	if len(v) == 0 {
		if why, ok := m.na[lib]; ok {
			return "n/a: " + strings.ReplaceAll(why, "|", "/")
		}
		return "–"
	}
	med := median(v)
	s := m.format(med)
	if m.extra != nil {
		s += " · " + m.extra(med)
	}
	var paren []string
	if lib != "gorilla" && !math.IsNaN(base) && base != 0 && lib != "raw" {
		paren = append(paren, fmt.Sprintf("%.2f×", med/base))
	}
	if sp := spread(v); len(v) > 1 && sp >= 0.5 {
		paren = append(paren, fmt.Sprintf("±%.0f%%", sp))
	}
	if len(paren) > 0 {
		s += " (" + strings.Join(paren, ", ") + ")"
	}
	return s
}

func (r *report) writeMask(w io.Writer, s *section) {
	// Rows are "impl @ size"; pivot to impl rows × size columns.
	var impls, sizes []string
	for _, m := range s.rows {
		impl, size, _ := strings.Cut(m.row, " @ ")
		if !slices.Contains(impls, impl) {
			impls = append(impls, impl)
		}
		if !slices.Contains(sizes, size) {
			sizes = append(sizes, size)
		}
	}
	fmt.Fprintf(w, "| function |")
	for _, sz := range sizes {
		fmt.Fprintf(w, " %s |", sz)
	}
	fmt.Fprintf(w, "\n|---|")
	for range sizes {
		fmt.Fprintf(w, "---:|")
	}
	fmt.Fprintln(w)
	for _, impl := range impls {
		fmt.Fprintf(w, "| %s |", impl)
		for _, sz := range sizes {
			m := s.byRow[impl+" @ "+sz]
			base := math.NaN()
			if c := s.byRow["copy() (baseline) @ "+sz]; c != nil && len(c.vals["-"]) > 0 {
				base = median(c.vals["-"])
			}
			cell := "–"
			if m != nil {
				if e, ok := m.errs["-"]; ok {
					cell = e
				} else if v := m.vals["-"]; len(v) > 0 {
					med := median(v)
					cell = m.format(med)
					var paren []string
					if !strings.HasPrefix(impl, "copy()") && !math.IsNaN(base) && base != 0 {
						paren = append(paren, fmt.Sprintf("%.2f× copy", med/base))
					}
					if sp := spread(v); len(v) > 1 && sp >= 0.5 {
						paren = append(paren, fmt.Sprintf("±%.0f%%", sp))
					}
					if len(paren) > 0 {
						cell += " (" + strings.Join(paren, ", ") + ")"
					}
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func (r *report) writeCorrectness(w io.Writer) {
	if len(r.correct) == 0 {
		return
	}
	fmt.Fprintf(w, "## 0. Correctness (checked before timing)\n\n")
	fmt.Fprintf(w, "Server echo checks use the raw client against each library's server process; client checks "+
		"use each library's client against the raw echo server. A library that fails a server check is still "+
		"timed, but its row cells are suspect; see the failure text.\n\n")
	var checks []string
	for _, c := range r.correct {
		if !slices.Contains(checks, c.check) {
			checks = append(checks, c.check)
		}
	}
	var cols []string
	for _, cl := range clientsOf(r.libs) {
		cols = append(cols, cl.name)
	}
	fmt.Fprintf(w, "| check |")
	for _, c := range cols {
		fmt.Fprintf(w, " %s |", c)
	}
	fmt.Fprintf(w, "\n|---|")
	for range cols {
		fmt.Fprintf(w, ":---:|")
	}
	fmt.Fprintln(w)
	for _, ch := range checks {
		fmt.Fprintf(w, "| %s |", ch)
		for _, col := range cols {
			cell := "–"
			for _, c := range r.correct {
				if c.check == ch && c.lib == col {
					if c.err == nil {
						cell = "ok"
					} else {
						e := c.err.Error()
						if len(e) > 70 {
							e = e[:70] + "…"
						}
						cell = "**FAIL**: " + strings.ReplaceAll(e, "|", "/")
					}
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func firstLoad(s string) float64 {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func cmdline() string {
	if len(os.Args) <= 1 {
		return ""
	}
	return " " + strings.Join(os.Args[1:], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// versions lists the library module versions compiled into this binary.
func versions(libs []bench.Lib) string {
	mods := map[string]string{
		"gorilla": "github.com/gorilla/websocket",
		"coder":   "github.com/coder/websocket",
		"gobwas":  "github.com/gobwas/ws",
		"gws":     "github.com/lxzan/gws",
		"wsstd":   "github.com/wsstd/websocket",
	}
	info, _ := debug.ReadBuildInfo()
	var out []string
	for _, l := range libs {
		v := "?"
		if info != nil {
			for _, d := range info.Deps {
				if d.Path == mods[l.Name()] {
					v = d.Version
					if d.Replace != nil {
						v = "local checkout (" + d.Replace.Path + ")"
					}
				}
			}
		}
		out = append(out, fmt.Sprintf("%s = `%s` %s", l.Name(), mods[l.Name()], v))
	}
	return strings.Join(out, "; ")
}

// Formatting helpers.

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk/s", v/1e3)
	default:
		return fmt.Sprintf("%.0f/s", v)
	}
}

func fmtMBs(size int) func(float64) string {
	return func(v float64) string {
		mb := v * float64(size) / 1e6
		if mb >= 100 {
			return fmt.Sprintf("%.0f MB/s", mb)
		}
		return fmt.Sprintf("%.2f MB/s", mb)
	}
}

func fmtCount(v float64) string {
	if v == math.Trunc(v) || v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtBytes(v float64) string {
	switch {
	case math.Abs(v) >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case math.Abs(v) >= 10<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}

func fmtDur(v float64) string { // v in seconds
	switch {
	case v >= 1:
		return fmt.Sprintf("%.2f s", v)
	case v >= 1e-3:
		return fmt.Sprintf("%.2f ms", v*1e3)
	default:
		return fmt.Sprintf("%.1f µs", v*1e6)
	}
}

func fmtMicros(v float64) string { // v in seconds
	return fmt.Sprintf("%.2f µs", v*1e6)
}

func fmtGBs(v float64) string { return fmt.Sprintf("%.2f GB/s", v) }

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// summaryLib is the library whose standing the summary reports.
const summaryLib = "wsstd"

// writeSummary states, for every throughput and CPU row, how summaryLib
// compares with the best other library, and each library's geometric mean
// against gorilla, so that targets can be read off one table.
func (r *report) writeSummary(w io.Writer) {
	keys := []string{"echo", "echo-cpu", "client", "client-cpu"}
	var any bool
	for _, k := range keys {
		if s := r.byKey[k]; s != nil && len(s.rows) > 0 {
			any = true
		}
	}
	if !any || !slices.ContainsFunc(r.libs, func(l bench.Lib) bool { return l.Name() == summaryLib }) {
		return
	}
	fmt.Fprintf(w, "## Summary: %s beside the best other library\n\n", summaryLib)
	fmt.Fprintf(w, "Per row of sections 1, 1b, 2 and 2b: %s's median ÷ the best other library's median "+
		"(for CPU time, the best other's ÷ %s's, so above 1 always means %s is ahead). *ahead*: at or above 1; "+
		"*level*: below 1 but the two libraries' min–max ranges over the rounds overlap, so the gap is within "+
		"the run's noise; *behind*: below 1 and the ranges do not overlap.\n\n", summaryLib, summaryLib, summaryLib)
	for _, k := range keys {
		s := r.byKey[k]
		if s == nil || len(s.rows) == 0 {
			continue
		}
		counts := map[string]int{}
		fmt.Fprintf(w, "**%s**\n\n| row | best other | %s ÷ best other | verdict |\n|---|---|---:|---|\n", s.title, summaryLib)
		for _, m := range s.rows {
			mine := m.vals[summaryLib]
			if len(mine) == 0 {
				continue
			}
			best, bestName := math.NaN(), ""
			for _, l := range r.libs {
				v := m.vals[l.Name()]
				if l.Name() == summaryLib || len(v) == 0 {
					continue
				}
				med := median(v)
				if bestName == "" || (s.lowerBetter && med < best) || (!s.lowerBetter && med > best) {
					best, bestName = med, l.Name()
				}
			}
			if bestName == "" {
				continue
			}
			ratio := median(mine) / best
			if s.lowerBetter {
				ratio = best / median(mine)
			}
			other := m.vals[bestName]
			verdict := "ahead"
			switch {
			case ratio >= 1:
			case slices.Min(mine) <= slices.Max(other) && slices.Min(other) <= slices.Max(mine):
				verdict = "level"
			default:
				verdict = "**behind**"
			}
			counts[verdict]++
			fmt.Fprintf(w, "| %s | %s | %.2f× | %s |\n", m.row, bestName, ratio, verdict)
		}
		fmt.Fprintf(w, "\n%d ahead, %d level, %d behind. Geometric mean ÷ gorilla over the rows:", counts["ahead"],
			counts["level"], counts["**behind**"])
		for _, cl := range clientsOf(r.libs) {
			if g, n := r.geomean(s, cl.name); n > 0 {
				fmt.Fprintf(w, " %s %.2f×", cl.name, g)
			}
		}
		if s.lowerBetter {
			fmt.Fprintf(w, " (CPU time: below 1 is less than gorilla's)")
		}
		fmt.Fprintf(w, ".\n\n")
	}
}

// geomean is the geometric mean of lib's median ÷ gorilla's median over the
// rows of s where both have values, and the number of such rows.
func (r *report) geomean(s *section, lib string) (float64, int) {
	var sum float64
	n := 0
	for _, m := range s.rows {
		a, b := m.vals[lib], m.vals["gorilla"]
		if len(a) == 0 || len(b) == 0 || median(b) == 0 || median(a) == 0 {
			continue
		}
		sum += math.Log(median(a) / median(b))
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return math.Exp(sum / float64(n)), n
}
