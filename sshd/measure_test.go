package sshd

import (
	"bufio"
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

// holdIdleSessions opens the sessions, prints "ready" once each has shown
// output, and holds them until standard input closes.
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
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: waitTimeout,
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
		first := make(chan struct{})
		wg.Add(1)
		go func() {
			var once sync.Once
			buf := make([]byte, 32*1024)
			for {
				n, err := stdout.Read(buf)
				if n > 0 {
					once.Do(func() { close(first); wg.Done() })
				}
				if err != nil {
					once.Do(func() { errs <- fmt.Errorf("session ended before any output: %v", err); wg.Done() })
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

// waitQuiet waits until the terminal's output has not grown for quiet and
// returns its length.
func (term *terminal) waitQuiet(quiet time.Duration) int {
	last := term.rawLen()
	stable := time.Now()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if n := term.rawLen(); n != last {
			last, stable = n, time.Now()
		} else if time.Since(stable) >= quiet {
			break
		}
	}
	return last
}

func TestMeasureCursorMoveBytes(t *testing.T) {
	ts := startServer(t, nil)
	term := ts.openTerminal(t, termOptions{width: 120, height: 40})
	term.waitForText("London")
	firstFrame := term.waitQuiet(500 * time.Millisecond)

	term.send("j")
	term.waitFor("the cursor to move", func(string) bool { return term.rawLen() > firstFrame })
	afterMove := term.waitQuiet(500 * time.Millisecond)

	t.Logf("120x40 session: first full frame %d bytes, one cursor move (j) %d bytes (%.1f%% of the first frame)",
		firstFrame, afterMove-firstFrame, 100*float64(afterMove-firstFrame)/float64(firstFrame))
	if afterMove-firstFrame >= firstFrame {
		t.Errorf("a cursor move sent %d bytes, no less than the full first frame (%d): the renderer redrew everything",
			afterMove-firstFrame, firstFrame)
	}
}

func TestMeasureIdleSessions(t *testing.T) {
	// With the UI's default refresh of 10s, and with refresh off for the
	// cost of SSH and Bubble Tea alone.
	for _, refresh := range []time.Duration{0, 10 * time.Second} {
		t.Run("refresh "+refresh.String(), func(t *testing.T) { measureIdleSessions(t, refresh) })
	}
}

// measureIdleSessions logs the heap, goroutines and CPU time of 100 idle
// sessions. The embedded emulator runs in the same process, so its work
// for the refreshes is included.
func measureIdleSessions(t *testing.T, refresh time.Duration) {
	const sessions = 100
	ts := startServer(t, func(o *Options) {
		o.MaxSessions = sessions + 10
		o.UI.Refresh = refresh
	})
	keyPath, line := writeOpenSSHKey(t, t.TempDir())
	f, err := os.OpenFile(ts.opts.AuthorizedKeys, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line + " idle-clients\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if host, _, _ := net.SplitHostPort(ts.addr); host != "127.0.0.1" {
		t.Fatalf("server address %s is not loopback", ts.addr)
	}

	heapBefore, goroutinesBefore := settledHeap()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), clientsEnv+"="+ts.addr+","+keyPath+","+strconv.Itoa(sessions))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
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
			t.Fatalf("client process said %q, want ready", line)
		}
	case <-time.After(2 * waitTimeout):
		t.Fatal("client process did not open its sessions")
	}
	deadline := time.Now().Add(waitTimeout)
	for ts.sessionCount() != sessions && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := ts.sessionCount(); n != sessions {
		t.Fatalf("%d sessions open, want %d; server log:\n%s", n, sessions, tail(ts.logs.String(), 3000))
	}
	// Let the first loads of every UI finish before measuring.
	time.Sleep(3 * time.Second)

	heapAfter, goroutinesAfter := settledHeap()
	t.Logf("%d idle sessions: heap in use %+.1f MiB (%.0f KiB per session), goroutines %+d (%.1f per session)",
		sessions, float64(heapAfter-heapBefore)/(1<<20), float64(heapAfter-heapBefore)/1024/sessions,
		goroutinesAfter-goroutinesBefore, float64(goroutinesAfter-goroutinesBefore)/sessions)

	const window = 5 * time.Second
	cpuBefore := processCPU(t)
	start := time.Now()
	time.Sleep(window)
	cpu := processCPU(t) - cpuBefore
	wall := time.Since(start)
	t.Logf("%d idle sessions over %v (refresh %v): CPU %v, %.1f%% of one core",
		sessions, wall.Round(time.Millisecond), refresh, cpu.Round(time.Millisecond), 100*cpu.Seconds()/wall.Seconds())

	if ts.sessionCount() != sessions {
		t.Errorf("%d sessions open after the idle window, want %d", ts.sessionCount(), sessions)
	}
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
func processCPU(t *testing.T) time.Duration {
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
