package sshd

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// clientsEnv, when set to "address,key file,count", makes the test binary
// act as a client process that holds count idle TUI sessions open until its
// standard input closes. The measurement runs the clients in a separate
// process so that the server's heap, goroutines and CPU time are its own.
const clientsEnv = "SSHD_TEST_IDLE_CLIENTS"

func TestMain(m *testing.M) {
	if spec := os.Getenv(clientsEnv); spec != "" {
		if err := holdIdleSessions(spec); err != nil {
			fmt.Fprintln(os.Stderr, "idle clients:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holdIdleSessions opens the sessions, prints "ready" once each shows the
// site list, and holds them until standard input closes.
func holdIdleSessions(spec string) error {
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		return fmt.Errorf("%s=%q: want address,key file,count", clientsEnv, spec)
	}
	addr, keyPath := parts[0], parts[1]
	count, err := strconv.Atoi(parts[2])
	if err != nil {
		return fmt.Errorf("count %q: %w", parts[2], err)
	}
	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	signer, err := gossh.ParsePrivateKey(keyData)
	if err != nil {
		return err
	}
	config := &gossh.ClientConfig{
		User: "idle", Auth: []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: benchSetupTimeout,
	}

	var wg sync.WaitGroup
	errs := make(chan error, count)
	for range count {
		c, err := gossh.Dial("tcp", addr, config)
		if err != nil {
			return err
		}
		sess, err := c.NewSession()
		if err != nil {
			return err
		}
		if err := sess.RequestPty("xterm-256color", 40, 120, gossh.TerminalModes{}); err != nil {
			return err
		}
		// An open input, because the end of input ends a session.
		if _, err := sess.StdinPipe(); err != nil {
			return err
		}
		stdout, err := sess.StdoutPipe()
		if err != nil {
			return err
		}
		if err := sess.Shell(); err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			var once sync.Once
			// seen keeps the output until the site list shows, then
			// nil: the rest is read and dropped.
			seen := &bytes.Buffer{}
			buf := make([]byte, 32*1024)
			for {
				n, err := stdout.Read(buf)
				if n > 0 && seen != nil {
					seen.Write(buf[:n])
					if bytes.Contains(seen.Bytes(), []byte("London")) {
						once.Do(wg.Done)
						seen = nil
					}
				}
				if err != nil {
					once.Do(func() { errs <- fmt.Errorf("session ended before it showed the site list: %v", err); wg.Done() })
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// benchSetupTimeout bounds the opening of the idle sessions in the
// benchmarks, which takes long under -race on a busy machine.
const benchSetupTimeout = 5 * time.Minute

// waitQuiet waits until the terminal's output has not grown for quiet and
// returns its length.
func (term *terminal) waitQuiet(quiet time.Duration) int {
	last := term.rawLen()
	stable := time.Now()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		if n := term.rawLen(); n != last {
			last, stable = n, time.Now()
		} else if time.Since(stable) >= quiet {
			break
		}
	}
	return last
}

// moveCursor presses j, or k when up is true, and returns the number of
// bytes the session sent for it.
func (term *terminal) moveCursor(up bool, quiet time.Duration) int {
	term.t.Helper()
	key := "j"
	if up {
		key = "k"
	}
	before := term.rawLen()
	term.send(key)
	term.waitFor("a redraw after "+key, func(string) bool { return term.rawLen() > before })
	return term.waitQuiet(quiet) - before
}

// TestCursorMoveSendsLessThanFirstFrame checks that the renderer sends a
// cursor move as a change to the screen rather than as a full redraw. A
// full redraw that comes late after the first frame could coincide with one
// move, so up to three moves are tried.
func TestCursorMoveSendsLessThanFirstFrame(t *testing.T) {
	ts := startServer(t, nil)
	term := ts.openTerminal(t, termOptions{width: 120, height: 40})
	term.waitForText("London")
	firstFrame := term.waitQuiet(200 * time.Millisecond)

	var moves []int
	for i := range 3 {
		moved := term.moveCursor(i%2 == 1, 100*time.Millisecond)
		if moved < firstFrame {
			return
		}
		moves = append(moves, moved)
	}
	t.Errorf("cursor moves sent %v bytes, none less than the first frame (%d): the renderer redraws everything", moves, firstFrame)
}

// BenchmarkCursorMoveBytes reports the bytes sent to a 120x40 session for
// one cursor move (j or k) and their ratio to the first full frame. The
// time per operation is dominated by waiting for the output to settle, so
// it is not reported.
func BenchmarkCursorMoveBytes(b *testing.B) {
	ts := startServer(b, nil)
	term := ts.openTerminal(b, termOptions{width: 120, height: 40})
	term.waitForText("London")
	firstFrame := term.waitQuiet(500 * time.Millisecond)

	total, moves := 0, 0
	for b.Loop() {
		total += term.moveCursor(moves%2 == 1, 300*time.Millisecond)
		moves++
	}
	perMove := float64(total) / float64(moves)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(firstFrame), "first-frame-B")
	b.ReportMetric(perMove, "B/move")
	b.ReportMetric(perMove/float64(firstFrame), "move/first-frame")
}

// BenchmarkIdleSessions reports the heap, goroutines and CPU time of the
// server with 100 idle sessions. It runs with the UI's refresh off (the
// cost of SSH and Bubble Tea alone) and at the UI's default of 10s, each
// with the renderer at 60 (Bubble Tea's default), 30 and 20 frames per
// second. Each iteration is an idle window of two seconds, so
// -benchtime=5x measures over ten seconds.
func BenchmarkIdleSessions(b *testing.B) {
	for _, refresh := range []time.Duration{0, 10 * time.Second} {
		for _, fps := range []int{60, 30, 20} {
			name := fmt.Sprintf("refresh=%s/fps=%d", refresh, fps)
			if refresh == 0 {
				name = fmt.Sprintf("refresh=off/fps=%d", fps)
			}
			b.Run(name, func(b *testing.B) { benchmarkIdleSessions(b, refresh, fps) })
		}
	}
}

// benchmarkIdleSessions measures 100 idle sessions. The clients run in a
// separate process, so that the heap, goroutines and CPU time measured are
// the server's. The embedded emulator runs in this process, so its work
// for the refreshes is included.
func benchmarkIdleSessions(b *testing.B, refresh time.Duration, fps int) {
	const sessions = 100
	const window = 2 * time.Second
	ts := startServer(b, func(o *Options) {
		o.MaxSessions = sessions + 10
		o.UI.Refresh = refresh
		o.renderFPS = fps
	})
	keyPath, line := writeOpenSSHKey(b, b.TempDir())
	f, err := os.OpenFile(ts.opts.AuthorizedKeys, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.WriteString(line + " idle-clients\n"); err != nil {
		b.Fatal(err)
	}
	f.Close()
	if host, _, _ := net.SplitHostPort(ts.addr); host != "127.0.0.1" {
		b.Fatalf("server address %s is not loopback", ts.addr)
	}

	heapBefore, goroutinesBefore := settledHeap()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), clientsEnv+"="+ts.addr+","+keyPath+","+strconv.Itoa(sessions))
	var clientErr syncBuffer
	cmd.Stderr = &clientErr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Wait()
	}()
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			b.Fatalf("client process printed %q, expected ready; its errors: %s", line, clientErr.String())
		}
	case <-time.After(benchSetupTimeout):
		b.Fatalf("client process did not open its sessions within %v; its errors: %s", benchSetupTimeout, clientErr.String())
	}
	if n := ts.sessionCount(); n != sessions {
		b.Fatalf("%d sessions open, want %d; server log:\n%s", n, sessions, tail(ts.logs.String(), 3000))
	}
	// Every UI has drawn its site list. The pause lets the last frames and
	// the replies to the terminal queries settle.
	time.Sleep(time.Second)
	heapAfter, goroutinesAfter := settledHeap()

	cpuBefore := processCPU(b)
	start := time.Now()
	for b.Loop() {
		time.Sleep(window)
	}
	cpu := processCPU(b) - cpuBefore
	wall := time.Since(start)
	if n := ts.sessionCount(); n != sessions {
		b.Fatalf("%d sessions open after the idle window, want %d", n, sessions)
	}

	heapPerSession := float64(int64(heapAfter)-int64(heapBefore)) / sessions
	goroutinesPerSession := float64(goroutinesAfter-goroutinesBefore) / sessions
	cpuFraction := cpu.Seconds() / wall.Seconds()
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(heapPerSession, "heap-B/session")
	b.ReportMetric(goroutinesPerSession, "goroutines/session")
	b.ReportMetric(cpuFraction, "cpu-fraction")
	b.Logf("%d idle sessions (refresh %v, %d fps): heap %.0f KiB and %.1f goroutines per session, CPU %v over %v (%.1f%% of one core)",
		sessions, refresh, fps, heapPerSession/1024, goroutinesPerSession,
		cpu.Round(time.Millisecond), wall.Round(time.Millisecond), 100*cpuFraction)
}

// settledHeap returns HeapInuse and the goroutine count after two
// collections.
func settledHeap() (uint64, int) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, runtime.NumGoroutine()
}

// processCPU returns the user and system CPU time of this process.
func processCPU(t testing.TB) time.Duration {
	t.Helper()
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// BenchmarkSessionStart measures one client's login, PTY request and first
// output from the TUI, then its disconnect.
func BenchmarkSessionStart(b *testing.B) {
	ts := startServer(b, func(o *Options) { o.MaxSessions = 1000 })
	b.ResetTimer()
	for b.Loop() {
		ts.openRawSession(b)()
	}
}

// BenchmarkAuthorizedKeyLookup measures the check made on every login
// attempt against a file of 100 keys, which reads and hashes the file.
func BenchmarkAuthorizedKeyLookup(b *testing.B) {
	path := b.TempDir() + "/authorized_keys"
	var lines []string
	var last gossh.Signer
	for range 100 {
		signer, line := newTestKey(b)
		lines = append(lines, `from="127.0.0.1" `+line)
		last = signer
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	f, _, err := loadKeyFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if entry, _, _, _ := f.lookup(last.PublicKey()); entry == nil {
			b.Fatal("the last key is not found")
		}
	}
}
