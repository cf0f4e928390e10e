// Command wsbench compares WebSocket libraries side by side and prints a
// markdown report on stdout (progress goes to stderr).
//
//	cd bench && go run ./cmd/wsbench -rounds 5 > results.md
//	cd bench && go run ./cmd/wsbench -quick > smoke.md
//
// With -serve NAME it instead runs as a benchmark server child process (the
// driver re-executes itself that way); see serve.go.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wsstd/websocket/bench"
)

type config struct {
	rounds           int
	quick            bool
	libs             []bench.Lib
	only             map[string]bool
	idleConns        int
	deflateIdleConns int
	bcastConns       int

	warm, dur     time.Duration // echo and client throughput, per measurement
	hsDur         time.Duration // handshake rate, per measurement
	maskDur       time.Duration // masking, per function and size
	allocSmallN   int           // messages per alloc measurement, 16 B
	allocLargeN   int           // messages per alloc measurement, 16 KiB
	bcastFanouts  int           // timed fan-outs per size
	pipelineDepth int
}

var sections = []string{"mask", "alloc", "echo", "client", "handshake", "broadcast", "idle", "deflate"}

func main() {
	serve := flag.String("serve", "", "run as a server child for library `NAME` (or \"raw\")")
	addr := flag.String("addr", "127.0.0.1:0", "listen address for -serve (loopback only)")
	rounds := flag.Int("rounds", 3, "rounds; each round runs every benchmark for every library, interleaved")
	quick := flag.Bool("quick", false, "1-round smoke run with short durations (under 2 minutes)")
	libsFlag := flag.String("libs", "", "comma-separated libraries (default: all registered)")
	onlyFlag := flag.String("only", "", "comma-separated benchmarks to run: "+strings.Join(sections, ","))
	idle := flag.Int("idle-conns", 10000, "idle connections per library for the memory benchmark")
	deflateIdle := flag.Int("deflate-idle-conns", 2000, "idle compressed connections per library/mode for the deflate benchmark")
	bcast := flag.Int("bcast-conns", 1000, "connections for the broadcast benchmark")
	durFlag := flag.Duration("dur", 0, "override the echo/client measurement window (default 300ms, 150ms with -quick)")
	sizesFlag := flag.String("sizes", "", "comma-separated payload sizes in bytes for echo/client (default 16,1024,16384,1048576)")
	connsFlag := flag.String("conns", "", "comma-separated connection counts for echo/client (default 1,64)")
	modesFlag := flag.String("modes", "", "echo modes: req (request/response), pipe (pipelined), or both (default)")
	flag.Parse()

	if *serve != "" {
		os.Exit(runServer(*serve, *addr))
	}

	cfg := config{
		rounds: *rounds, quick: *quick, idleConns: *idle, deflateIdleConns: *deflateIdle, bcastConns: *bcast,
		warm: 100 * time.Millisecond, dur: 300 * time.Millisecond,
		hsDur: 400 * time.Millisecond, maskDur: 60 * time.Millisecond,
		allocSmallN: 4000, allocLargeN: 1500, bcastFanouts: 20, pipelineDepth: 16,
	}
	if cfg.quick {
		cfg.rounds = 1
		cfg.warm, cfg.dur = 50*time.Millisecond, 150*time.Millisecond
		cfg.hsDur, cfg.maskDur = 200*time.Millisecond, 25*time.Millisecond
		cfg.allocSmallN, cfg.allocLargeN, cfg.bcastFanouts = 1500, 500, 8
	}
	if *durFlag > 0 {
		cfg.dur = *durFlag
	}
	if *sizesFlag != "" {
		echoSizes = nil
		for _, f := range strings.Split(*sizesFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 0 || n > 16<<20 {
				fatalf("bad -sizes entry %q", f)
			}
			echoSizes = append(echoSizes, n)
		}
	}
	if *connsFlag != "" {
		echoConns = nil
		for _, f := range strings.Split(*connsFlag, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || n > 4096 {
				fatalf("bad -conns entry %q", f)
			}
			echoConns = append(echoConns, n)
		}
	}
	switch *modesFlag {
	case "":
	case "req":
		echoModes = []bool{false}
	case "pipe":
		echoModes = []bool{true}
	default:
		fatalf("bad -modes %q (want req or pipe)", *modesFlag)
	}
	if cfg.rounds < 1 {
		cfg.rounds = 1
	}
	if *libsFlag == "" {
		cfg.libs = bench.Libs()
	} else {
		for _, n := range strings.Split(*libsFlag, ",") {
			l := bench.Lookup(strings.TrimSpace(n))
			if l == nil {
				fatalf("unknown library %q (registered: %s)", n, libNames(bench.Libs()))
			}
			cfg.libs = append(cfg.libs, l)
		}
	}
	cfg.only = map[string]bool{}
	if *onlyFlag != "" {
		for _, s := range strings.Split(*onlyFlag, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(sections, s) {
				fatalf("unknown benchmark %q (have: %s)", s, strings.Join(sections, ","))
			}
			cfg.only[s] = true
		}
	}

	limit := raiseNofile()
	if need := max(cfg.idleConns, cfg.bcastConns, cfg.deflateIdleConns) + 512; limit < uint64(need) {
		logf("RLIMIT_NOFILE is %d; reducing idle connections to fit", limit)
		cfg.idleConns = min(cfg.idleConns, int(limit)-1024)
		cfg.deflateIdleConns = min(cfg.deflateIdleConns, int(limit)-1024)
		cfg.bcastConns = min(cfg.bcastConns, int(limit)-1024)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stopAllChildren()
		os.Exit(2)
	}()

	if path := os.Getenv("WSBENCH_CPUPROFILE"); path != "" {
		// The driver's own profile: the library clients of section 2.
		if f, err := os.Create(path + ".driver"); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	start, load0 := time.Now(), loadAvg()
	if l := firstLoad(load0); l > float64(runtime.NumCPU())/2 {
		logf("warning: load average is %.1f on %d CPUs; other work will make the numbers noisy", l, runtime.NumCPU())
	}
	rep := run(cfg)
	stopAllChildren()
	rep.elapsed = time.Since(start)
	rep.load0, rep.load1 = load0, loadAvg()
	rep.write(os.Stdout, cfg)
	logf("done in %s", rep.elapsed.Round(time.Second))
}

func (c config) want(section string) bool { return len(c.only) == 0 || c.only[section] }

// run executes every round. Within a round each benchmark configuration is
// measured for every library back to back (the starting library rotates per
// round), so slow drift of the machine affects all libraries alike.
func run(cfg config) *report {
	rep := newReport(cfg.libs)
	rep.correct = checkAll(cfg) // correctness first: failing libraries are flagged and skipped

	var servers map[string]*child
	if cfg.want("echo") || cfg.want("broadcast") {
		servers = map[string]*child{}
		for _, l := range cfg.libs {
			c, err := startChild(l.Name())
			if err != nil {
				fatalf("start %s server: %v", l.Name(), err)
			}
			servers[l.Name()] = c
		}
	}
	var raw *child
	if cfg.want("client") || cfg.want("handshake") {
		var err error
		if raw, err = startChild("raw"); err != nil {
			fatalf("start raw server: %v", err)
		}
	}

	for r := 0; r < cfg.rounds; r++ {
		libs := rotate(cfg.libs, r)
		logf("round %d/%d (order: %s)", r+1, cfg.rounds, libNames(libs))
		if cfg.want("mask") {
			benchMask(rep, cfg)
		}
		if cfg.want("alloc") {
			benchAlloc(rep, cfg, libs)
		}
		if cfg.want("echo") {
			benchEcho(rep, cfg, libs, servers)
		}
		if cfg.want("client") {
			benchClient(rep, cfg, libs, raw)
		}
		if cfg.want("handshake") {
			benchHandshake(rep, cfg, libs, servers, raw)
		}
		if cfg.want("broadcast") {
			benchBroadcast(rep, cfg, libs, servers)
		}
		if cfg.want("idle") {
			benchIdle(rep, cfg, libs)
		}
		if cfg.want("deflate") {
			benchDeflate(rep, cfg, libs)
		}
	}
	return rep
}

func rotate(libs []bench.Lib, r int) []bench.Lib {
	out := make([]bench.Lib, 0, len(libs))
	for i := range libs {
		out = append(out, libs[(i+r)%len(libs)])
	}
	return out
}

func libNames(libs []bench.Lib) string {
	var s []string
	for _, l := range libs {
		s = append(s, l.Name())
	}
	return strings.Join(s, ",")
}

// raiseNofile raises the soft RLIMIT_NOFILE to the hard limit and returns it.
func raiseNofile() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 1024
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
		}
	}
	return rl.Cur
}

var startTime = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wsbench %5.1fs: "+format+"\n", append([]any{time.Since(startTime).Seconds()}, args...)...)
}

func fatalf(format string, args ...any) {
	logf(format, args...)
	stopAllChildren()
	os.Exit(1)
}
