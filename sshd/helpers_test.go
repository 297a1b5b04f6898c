package sshd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/log/v2"
	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"accsyn-sites/client"
	"accsyn-sites/emulator"
	"accsyn-sites/model"
	"accsyn-sites/ui"
)

// waitTimeout is how long a test waits for something to appear. It is
// generous because the tests run under -race on a shared machine.
const waitTimeout = 30 * time.Second

// testBackend is the real emulator on a loopback port and the real client
// logged in to it as the admin user.
type testBackend struct {
	emulator *emulator.Server
	client   *client.Client
	apiKey   string
}

func startBackend(t testing.TB) *testBackend {
	t.Helper()
	srv, err := emulator.Start(emulator.Options{Memory: true, Seed: "demo"}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	var admin emulator.User
	for _, u := range srv.Emulator.Users() {
		if u.Role == emulator.RoleAdmin {
			admin = u
		}
	}
	c, err := client.New(client.Config{
		Workspace: srv.Emulator.Workspace(), User: admin.Name, APIKey: admin.APIKey,
		Hostname: srv.Host, Port: srv.Port, Scheme: "http",
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &testBackend{emulator: srv, client: c, apiKey: admin.APIKey}
}

// site reads one site from the emulator through the client.
func (b *testBackend) site(t testing.TB, code string) model.Site {
	t.Helper()
	sites, err := b.client.FindSites(context.Background(), client.FindOptions{Query: "code=" + code})
	if err != nil || len(sites) != 1 {
		t.Fatalf("find site %s: %d sites, %v", code, len(sites), err)
	}
	return sites[0]
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is a Server on 127.0.0.1:0 with one authorized key.
type testServer struct {
	*Server
	addr    string
	signer  gossh.Signer // authorized
	hostKey gossh.PublicKey
	logs    *syncBuffer
	backend *testBackend
	dir     string
	served  chan error
}

// startServer starts a server over a fresh emulator. change adjusts the
// options before New.
func startServer(t testing.TB, change func(*Options)) *testServer {
	t.Helper()
	backend := startBackend(t)
	dir := t.TempDir()
	signer, line := newTestKey(t)
	keysPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keysPath, []byte("# test key\n"+line+" tester\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	logs := &syncBuffer{}
	logger := log.NewWithOptions(logs, log.Options{Prefix: "ssh", Level: log.DebugLevel})
	opts := Options{
		Listen:         "127.0.0.1:0",
		AuthorizedKeys: keysPath,
		HostKey:        filepath.Join(dir, "ssh_host_ed25519_key"),
		UI: ui.Options{
			Backend:   backend.client,
			Workspace: backend.emulator.Emulator.Workspace(),
			Emulator:  true,
			Refresh:   time.Hour,
		},
		Logger: logger,
	}
	if change != nil {
		change(&opts)
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, addr: l.Addr().String(), signer: signer, logs: logs, backend: backend, dir: dir, served: make(chan error, 1)}
	go func() { ts.served <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ts
}

// dial connects with auth methods; nil means the authorized key.
func (ts *testServer) dial(t testing.TB, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	t.Helper()
	if len(auth) == 0 {
		auth = []gossh.AuthMethod{gossh.PublicKeys(ts.signer)}
	}
	return gossh.Dial("tcp", ts.addr, &gossh.ClientConfig{
		User:            "tester",
		Auth:            auth,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Timeout:         waitTimeout,
	})
}

// terminal is one SSH session with a PTY, whose output feeds a terminal
// emulator that replies to the program's queries as a real terminal does.
type terminal struct {
	t       testing.TB
	client  *gossh.Client
	session *gossh.Session
	stdin   io.WriteCloser

	mu     sync.Mutex
	screen *vt.Emulator
	raw    bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
	err    error // from session.Wait
}

type termOptions struct {
	term          string
	width, height int // 0 means 120x40
	// noSize sends a 0x0 window in the PTY request, as ssh -tt does when
	// its input is not a terminal.
	noSize bool
	env    map[string]string
}

// openTerminal logs in with the authorized key and starts the TUI.
func (ts *testServer) openTerminal(t testing.TB, o termOptions) *terminal {
	t.Helper()
	if o.term == "" {
		o.term = "xterm-256color"
	}
	if o.width == 0 {
		o.width, o.height = 120, 40
	}
	c, err := ts.dial(t)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	for k, v := range o.env {
		if err := sess.Setenv(k, v); err != nil {
			t.Fatalf("setenv %s: %v", k, err)
		}
	}
	requestW, requestH := o.width, o.height
	if o.noSize {
		requestW, requestH = 0, 0
	}
	if err := sess.RequestPty(o.term, requestH, requestW, gossh.TerminalModes{}); err != nil {
		t.Fatalf("request pty: %v", err)
	}
	term := &terminal{t: t, client: c, session: sess, screen: vt.NewEmulator(o.width, o.height), done: make(chan struct{})}
	term.stdin, err = sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	sess.Stderr = writerFunc(func(p []byte) (int, error) {
		term.mu.Lock()
		defer term.mu.Unlock()
		return term.stderr.Write(p)
	})
	if err := sess.Shell(); err != nil {
		t.Fatalf("shell: %v", err)
	}

	// The emulator's replies (background colour, modes) go back as input.
	replies := term.screen.InputPipe().(io.Closer)
	// The copy keeps draining after stdin fails, because the emulator
	// blocks on an unread reply while it holds term.mu.
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := term.screen.Read(buf)
			if n > 0 {
				_, _ = term.stdin.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		buf := make([]byte, 32*1024)
		for {
			n, err := stdout.Read(buf)
			if n > 0 {
				term.mu.Lock()
				term.raw.Write(buf[:n])
				_, _ = term.screen.Write(buf[:n])
				term.mu.Unlock()
			}
			if err != nil {
				break
			}
		}
		term.err = sess.Wait()
		_ = replies.Close()
		close(term.done)
	}()
	t.Cleanup(term.close)
	return term
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (term *terminal) close() {
	_ = term.session.Close()
	_ = term.client.Close()
	select {
	case <-term.done:
	case <-time.After(waitTimeout):
		term.t.Errorf("session output did not end after the client closed")
	}
}

// text returns the screen as plain text.
func (term *terminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

func (term *terminal) rawOutput() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.raw.String()
}

func (term *terminal) rawLen() int {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.raw.Len()
}

func (term *terminal) stderrText() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.stderr.String()
}

func (term *terminal) send(keys string) {
	term.t.Helper()
	if _, err := io.WriteString(term.stdin, keys); err != nil {
		term.t.Fatalf("send %q: %v", keys, err)
	}
}

// waitFor polls the screen until ok returns true.
func (term *terminal) waitFor(what string, ok func(screen string) bool) {
	term.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if ok(term.text()) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.t.Fatalf("timed out waiting for %s; screen:\n%s\nstderr: %s", what, term.text(), term.stderrText())
}

func (term *terminal) waitForText(s string) {
	term.t.Helper()
	term.waitFor("the text "+s, func(screen string) bool { return strings.Contains(screen, s) })
}

// waitExit waits for the session to end and returns its exit status, or -1
// when the server sent none.
func (term *terminal) waitExit() int {
	term.t.Helper()
	select {
	case <-term.done:
	case <-time.After(waitTimeout):
		term.t.Fatalf("session did not end; screen:\n%s", term.text())
	}
	return exitStatus(term.err)
}

func exitStatus(err error) int {
	if err == nil {
		return 0
	}
	var exit *gossh.ExitError
	if errors.As(err, &exit) {
		return exit.ExitStatus()
	}
	return -1
}

// waitUntil polls cond until it is true.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

var sgrPattern = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

// colourParams returns the SGR colour parameters found in raw output:
// "38;5" for 256 colours, "38;2" for true colour, "3x"/"9x" for the basic
// sixteen, and the same for backgrounds.
func colourParams(raw string) map[string]int {
	found := map[string]int{}
	for _, m := range sgrPattern.FindAllStringSubmatch(raw, -1) {
		params := strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' })
		for i := 0; i < len(params); i++ {
			p := params[i]
			switch {
			case (p == "38" || p == "48") && i+1 < len(params):
				found[p+";"+params[i+1]]++
				if params[i+1] == "5" {
					i += 2
				} else if params[i+1] == "2" {
					i += 4
				}
			case len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p[1] >= '0' && p[1] <= '7':
				found["basic"]++
			case len(p) == 3 && p[:2] == "10" && p[2] >= '0' && p[2] <= '7':
				found["basic"]++
			}
		}
	}
	return found
}
