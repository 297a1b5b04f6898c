package sshd

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"
	gossh "golang.org/x/crypto/ssh"
)

// openRawSession starts the TUI over one connection and waits for the
// first bytes of output, without a terminal emulator. It returns a
// function that disconnects without quitting.
func (ts *testServer) openRawSession(t testing.TB) (disconnect func()) {
	t.Helper()
	c, err := ts.dial(t)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	if err := sess.RequestPty("xterm-256color", 40, 120, gossh.TerminalModes{}); err != nil {
		t.Fatalf("request pty: %v", err)
	}
	// An open input, because the end of input ends a session: this
	// checks the disconnect instead.
	if _, err := sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}

	first := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 32*1024)
		once := sync.Once{}
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				once.Do(func() { close(first) })
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-first:
	case <-time.After(waitTimeout):
		t.Fatal("no output from the session")
	}
	return func() {
		sess.Close()
		c.Close()
		<-done
	}
}

func TestConnectCyclesLeaveNoGoroutines(t *testing.T) {
	// A short refresh, because each program's pending refresh tick is a
	// goroutine that Bubble Tea cannot cancel: it ends when the tick fires.
	const refresh = 300 * time.Millisecond
	ts := startServer(t, func(o *Options) { o.UI.Refresh = refresh })

	// One warm-up cycle starts whatever the process starts once, such as
	// the pooled HTTP connections to the emulator. The count is taken
	// when the warm-up's own goroutines have ended, or after a few
	// refresh periods for the ones that stay.
	initial, _ := countGoroutines()
	ts.openRawSession(t)()
	waitUntil(t, "the warm-up session to end", func() bool { return ts.sessionCount() == 0 })
	before, _ := countGoroutines()
	for settle := time.Now().Add(10 * refresh); before > initial && time.Now().Before(settle); {
		time.Sleep(20 * time.Millisecond)
		before, _ = countGoroutines()
	}

	for range 50 {
		ts.openRawSession(t)()
	}
	waitUntil(t, "all sessions to end", func() bool { return ts.sessionCount() == 0 })

	const slack = 2
	deadline := time.Now().Add(waitTimeout)
	after, stacks := countGoroutines()
	for after > before+slack && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		after, stacks = countGoroutines()
	}
	t.Logf("goroutines other than pooled HTTP connections: %d before 50 cycles, %d after", before, after)
	if after > before+slack {
		t.Fatalf("goroutines grew from %d to %d after 50 connect/disconnect cycles:\n%s", before, after, stacks)
	}
}

// countGoroutines counts the goroutines of the process except those that
// serve pooled HTTP keep-alive connections between the shared client and
// the emulator. Their number follows the peak of concurrent API calls, and
// they close on the transport's idle timeout rather than with a session.
func countGoroutines() (int, string) {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var kept []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "net/http.(*conn).serve") {
			continue
		}
		kept = append(kept, g)
	}
	return len(kept), strings.Join(kept, "\n\n")
}

// writeOpenSSHKey writes signer's private key in OpenSSH format, mode 0600.
func writeOpenSSHKey(t testing.TB, dir string) (path string, authorizedLine string) {
	t.Helper()
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(private, "system ssh test")
	if err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
}

func TestSystemSSHClient(t *testing.T) {
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no ssh client installed: the system client test needs OpenSSH's ssh in PATH")
	}
	ts := startServer(t, nil)
	keyPath, line := writeOpenSSHKey(t, t.TempDir())
	f, err := os.OpenFile(ts.opts.AuthorizedKeys, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(line + " system-ssh\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, port, _ := strings.Cut(ts.addr, ":")

	cmd := exec.Command(sshPath, "-tt", "-F", "/dev/null", "-i", keyPath,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-p", port, "alice@127.0.0.1")
	cmd.Env = []string{"TERM=xterm-256color", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	// ssh runs on a real PTY, as it does for a user, so it sends that
	// PTY's size.
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Fatalf("start ssh: %v", err)
	}
	defer ptmx.Close()

	var mu sync.Mutex
	screen := vt.NewEmulator(100, 30)
	var raw bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 32*1024)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				mu.Lock()
				raw.Write(buf[:n])
				_, _ = screen.Write(buf[:n])
				mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := screen.Read(buf)
			if n > 0 {
				_, _ = ptmx.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	defer screen.InputPipe().(io.Closer).Close()

	text := func() string {
		mu.Lock()
		defer mu.Unlock()
		return screen.String()
	}
	waitUntil(t, "the site list through the system ssh client", func() bool {
		s := text()
		return strings.Contains(s, "London") && widestLine(s) == 100
	})
	if !strings.Contains(ts.logs.String(), "user=alice") {
		t.Errorf("the log does not name the SSH user alice:\n%s", ts.logs.String())
	}

	if _, err := ptmx.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			mu.Lock()
			t.Errorf("ssh exited with %v; output tail: %q", err, tail(raw.String(), 300))
			mu.Unlock()
		}
	case <-time.After(waitTimeout):
		_ = cmd.Process.Kill()
		t.Fatalf("ssh did not exit after q; screen:\n%s", text())
	}
}
