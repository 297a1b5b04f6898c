package sshd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"accsyn-sites/client"
	"accsyn-sites/model"
	"accsyn-sites/ui"
)

func TestNewRejectsMissingOrEmptyKeys(t *testing.T) {
	backend := startBackend(t)
	dir := t.TempDir()
	opts := Options{
		AuthorizedKeys: filepath.Join(dir, "authorized_keys"),
		HostKey:        filepath.Join(dir, "host_key"),
		UI:             ui.Options{Backend: backend.client},
	}
	_, err := New(opts)
	if err == nil || !strings.Contains(err.Error(), "cat ~/.ssh/id_ed25519.pub >> "+opts.AuthorizedKeys) {
		t.Errorf("missing authorized_keys: error = %v, want the command that adds a key", err)
	}

	if err := os.WriteFile(opts.AuthorizedKeys, []byte("\n# empty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = New(opts)
	if err == nil || !strings.Contains(err.Error(), "no valid public key") {
		t.Errorf("authorized_keys without keys: error = %v, want no valid public key", err)
	}
	if _, statErr := os.Stat(opts.HostKey); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("a host key was created although New failed: %v", statErr)
	}

	bad := opts
	bad.UI.Backend = nil
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "Backend") {
		t.Errorf("no backend: error = %v, want one naming Backend", err)
	}
	bad = opts
	bad.MaxSessions = -1
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "-1") {
		t.Errorf("negative max sessions: error = %v, want one naming -1", err)
	}
}

func TestHostKeySameFingerprintAcrossServers(t *testing.T) {
	first := startServer(t, nil)
	info, err := os.Stat(first.opts.HostKey)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("host key mode = %#o, want 0600", mode)
	}

	second, err := New(first.opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.HostKeyFingerprint() != second.HostKeyFingerprint() {
		t.Errorf("fingerprint changed: %s then %s", first.HostKeyFingerprint(), second.HostKeyFingerprint())
	}

	// The client sees the same key.
	var seen gossh.PublicKey
	c, err := gossh.Dial("tcp", first.addr, &gossh.ClientConfig{
		User: "tester", Auth: []gossh.AuthMethod{gossh.PublicKeys(first.signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key gossh.PublicKey) error { seen = key; return nil },
		Timeout:         waitTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if got := gossh.FingerprintSHA256(seen); got != first.HostKeyFingerprint() {
		t.Errorf("client saw host key %s, want %s", got, first.HostKeyFingerprint())
	}
}

func TestSessionShowsSiteList(t *testing.T) {
	ts := startServer(t, nil)
	term := ts.openTerminal(t, termOptions{})
	term.waitForText("London")
	term.waitForText("Stockholm")

	logs := ts.logs.String()
	fingerprint := gossh.FingerprintSHA256(ts.signer.PublicKey())
	if !strings.Contains(logs, "session started") || !strings.Contains(logs, fingerprint) || !strings.Contains(logs, "user=tester") {
		t.Errorf("log has no session start with user and key fingerprint %s:\n%s", fingerprint, logs)
	}

	term.send("q")
	if status := term.waitExit(); status != 0 {
		t.Errorf("exit status after q = %d, want 0", status)
	}
	waitUntil(t, "the session end in the log", func() bool { return strings.Contains(ts.logs.String(), "session ended") })
	logs = ts.logs.String()
	if !strings.Contains(logs, "duration=") || !strings.Contains(logs, "remote=127.0.0.1:") {
		t.Errorf("session end log lacks duration or remote address:\n%s", logs)
	}
	if strings.Contains(logs, ts.backend.apiKey) {
		t.Error("the log contains the API key")
	}
}

func TestEndOfInputEndsSession(t *testing.T) {
	ts := startServer(t, nil)
	term := ts.openTerminal(t, termOptions{})
	term.waitForText("London")
	term.stdin.Close()
	if status := term.waitExit(); status != 0 {
		t.Errorf("exit status after the end of input = %d, want 0", status)
	}
	waitUntil(t, "the session to be released", func() bool { return ts.sessionCount() == 0 })
}

func TestAuthRejectsOtherMethods(t *testing.T) {
	ts := startServer(t, nil)
	stranger, _ := newTestKey(t)
	cases := map[string]gossh.AuthMethod{
		"unknown key": gossh.PublicKeys(stranger),
		"password":    gossh.Password("tester"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"tester"}, nil
		}),
	}
	for name, method := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := ts.dial(t, method)
			if err == nil {
				c.Close()
				t.Fatal("login succeeded")
			}
			if !strings.Contains(err.Error(), "unable to authenticate") {
				t.Errorf("error = %v, want an authentication failure", err)
			}
		})
	}
}

func TestNoPTYGetsOneLineAndStatus1(t *testing.T) {
	ts := startServer(t, nil)
	for _, command := range []string{"", "list"} {
		c, err := ts.dial(t)
		if err != nil {
			t.Fatal(err)
		}
		sess, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		var stdout, stderr strings.Builder
		sess.Stdout, sess.Stderr = &stdout, &stderr
		if command == "" {
			err = sess.Shell()
			if err == nil {
				err = sess.Wait()
			}
		} else {
			err = sess.Run(command)
		}
		c.Close()
		if status := exitStatus(err); status != 1 {
			t.Errorf("command %q: exit status = %d (%v), want 1", command, status, err)
		}
		want := "accsyn-sites is a full-screen terminal program and needs a terminal: connect with ssh -t, without -T or a command.\n"
		if stderr.String() != want {
			t.Errorf("command %q: stderr = %q, want %q", command, stderr.String(), want)
		}
		if stdout.String() != "" {
			t.Errorf("command %q: stdout = %q, want nothing", command, stdout.String())
		}
	}
}

func TestWindowChangeResizesScreen(t *testing.T) {
	ts := startServer(t, nil)
	term := ts.openTerminal(t, termOptions{width: 120, height: 40})
	term.waitForText("London")
	if w := widestLine(term.text()); w != 120 {
		t.Errorf("widest line before resize = %d, want 120", w)
	}

	term.mu.Lock()
	term.screen.Resize(90, 30)
	term.mu.Unlock()
	if err := term.session.WindowChange(30, 90); err != nil {
		t.Fatal(err)
	}
	term.waitFor("a redraw 90 columns wide", func(screen string) bool {
		lines := strings.Split(screen, "\n")
		return widestLine(screen) == 90 && len(lines) <= 30 && strings.Contains(screen, "London")
	})
}

func TestZeroWindowDrawsAt80x24(t *testing.T) {
	ts := startServer(t, nil)
	term := ts.openTerminal(t, termOptions{width: 80, height: 24, noSize: true})
	term.waitFor("a screen 80 columns wide", func(screen string) bool {
		return widestLine(screen) == 80 && strings.Contains(screen, "London")
	})
}

func widestLine(screen string) int {
	widest := 0
	for _, line := range strings.Split(screen, "\n") {
		widest = max(widest, ansi.StringWidth(line))
	}
	return widest
}

func TestColourProfilePerSession(t *testing.T) {
	// The server's own environment must not matter.
	t.Setenv("NO_COLOR", "1")
	t.Setenv("TERM", "dumb")
	t.Setenv("COLORTERM", "")
	ts := startServer(t, nil)

	colours := func(o termOptions) map[string]int {
		term := ts.openTerminal(t, o)
		term.waitForText("London")
		found := colourParams(term.rawOutput())
		term.send("q")
		term.waitExit()
		return found
	}

	got := colours(termOptions{term: "xterm-256color"})
	if got["38;5"] == 0 || got["38;2"] != 0 {
		t.Errorf("xterm-256color: colour codes %v, want 256-colour (38;5) and no true colour", got)
	}
	got = colours(termOptions{term: "xterm-256color", env: map[string]string{"COLORTERM": "truecolor"}})
	if got["38;2"] == 0 {
		t.Errorf("COLORTERM=truecolor: colour codes %v, want true colour (38;2)", got)
	}
	for name, o := range map[string]termOptions{
		"NO_COLOR=1":   {term: "xterm-256color", env: map[string]string{"NO_COLOR": "1"}},
		"NO_COLOR=yes": {term: "xterm-256color", env: map[string]string{"NO_COLOR": "yes"}},
		"TERM=dumb":    {term: "dumb"},
	} {
		if got := colours(o); len(got) != 0 {
			t.Errorf("%s: colour codes %v, want none", name, got)
		}
	}
}

func TestTwoSessionsSeeEachOthersChanges(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.UI.Refresh = 500 * time.Millisecond })
	if site := ts.backend.site(t, "tokyo"); site.Status == model.StatusDisabled {
		t.Fatal("tokyo starts disabled")
	}
	watcher := ts.openTerminal(t, termOptions{})
	actor := ts.openTerminal(t, termOptions{})
	watcher.waitForText("Tokyo")
	actor.waitForText("Tokyo")
	selectSite(watcher, "tokyo")
	watcher.waitFor("tokyo shown enabled", func(screen string) bool {
		return rowWith(screen, "status", "enabled")
	})

	selectSite(actor, "tokyo")
	actor.send(" ")
	confirmIfAsked(actor, "Disable", func() bool {
		return ts.backend.site(t, "tokyo").Status == model.StatusDisabled
	})
	watcher.waitFor("tokyo shown disabled after a refresh", func(screen string) bool {
		return rowWith(screen, "status", "disabled")
	})
	fingerprint := gossh.FingerprintSHA256(ts.signer.PublicKey())
	waitUntil(t, "the change in the log", func() bool { return strings.Contains(ts.logs.String(), "site disabled") })
	if !rowWith(ts.logs.String(), "site disabled", "code=tokyo", "user=tester", "key="+fingerprint) {
		t.Errorf("the change log line does not carry the SSH user and key fingerprint:\n%s", ts.logs.String())
	}
}

// selectSite moves the cursor to the site with code by filtering the list.
func selectSite(term *terminal, code string) {
	term.t.Helper()
	term.send("/")
	term.send(code)
	term.send("\r")
	term.waitFor("the filter to show only "+code, func(screen string) bool {
		return !strings.Contains(screen, "London") && strings.Contains(strings.ToLower(screen), code)
	})
}

// confirmIfAsked waits until done reports the change made, and presses y
// once if a confirmation dialog with word appears first. The UI shows the
// dialog only for some sites, for example those with active transfers.
func confirmIfAsked(term *terminal, word string, done func() bool) {
	term.t.Helper()
	asked := false
	term.waitFor("the change to be made", func(screen string) bool {
		if !asked && strings.Contains(screen, word+" ") && strings.Contains(screen, "?") {
			term.send("y")
			asked = true
		}
		return done()
	})
}

// rowWith reports whether one screen line contains all the words.
func rowWith(screen string, words ...string) bool {
	for _, line := range strings.Split(screen, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(line, w)
		}
		if all {
			return true
		}
	}
	return false
}

func TestReadOnlyServerChangesNothing(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.ReadOnly = true })
	term := ts.openTerminal(t, termOptions{})
	term.waitForText("Tokyo")
	selectSite(term, "tokyo")
	saysReadOnly := func(screen string) bool {
		return strings.Contains(strings.ToLower(screen), strings.ToLower(readOnlyReason))
	}
	term.send(" ")
	term.waitFor("the read-only reason after space", saysReadOnly)
	// The help overlay opening on the next key shows that d was handled
	// and left no confirmation open, which would take the key instead.
	term.send("d")
	term.send("?")
	term.waitForText("Keys")
	if screen := term.text(); strings.Contains(screen, "Delete Tokyo?") {
		t.Errorf("d on a read-only server asks to delete:\n%s", screen)
	}
	term.send("?")
	term.waitFor("the help overlay to close", func(screen string) bool { return !strings.Contains(screen, "Keys") })
	term.send("d")
	term.waitFor("the read-only reason after d", saysReadOnly)
	if screen := term.text(); strings.Contains(screen, "Delete Tokyo?") {
		t.Errorf("d on a read-only server asks to delete:\n%s", screen)
	}

	if site := ts.backend.site(t, "tokyo"); site.Status != model.StatusEnabled {
		t.Errorf("tokyo status = %s after space on a read-only server, want enabled", site.Status)
	}
}

func TestIdleSessionEndsWithGoodbye(t *testing.T) {
	const timeout = time.Second
	ts := startServer(t, func(o *Options) { o.IdleTimeout = timeout })
	busy := ts.openTerminal(t, termOptions{})
	idle := ts.openTerminal(t, termOptions{})

	// Keep one session busy with harmless keys, from before its UI is up,
	// until the other has ended and twice the timeout has passed.
	started := time.Now()
	tick := time.NewTicker(timeout / 8)
	defer tick.Stop()
	for idleEnded := false; !idleEnded || time.Since(started) < 2*timeout; {
		<-tick.C
		busy.send("j")
		select {
		case <-idle.done:
			idleEnded = true
		default:
		}
		if time.Since(started) > waitTimeout {
			t.Fatalf("the idle session did not end; screen:\n%s", idle.text())
		}
	}

	if status := idle.waitExit(); status != 0 {
		t.Errorf("idle session exit status = %d, want 0", status)
	}
	if out := idle.rawOutput(); !strings.Contains(out, "session closed after 1s without input") {
		t.Errorf("idle session output lacks the goodbye line; tail: %q", tail(out, 200))
	}
	select {
	case <-busy.done:
		t.Error("the busy session was closed as idle")
	default:
	}
	busy.waitForText("London")
	waitUntil(t, "the idle reason in the log", func() bool { return strings.Contains(ts.logs.String(), "reason=idle") })
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

func TestMaxSessionsTurnsAwayTheNext(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.MaxSessions = 2 })
	first := ts.openTerminal(t, termOptions{})
	second := ts.openTerminal(t, termOptions{})
	first.waitForText("London")
	second.waitForText("London")

	third := ts.openTerminal(t, termOptions{})
	if status := third.waitExit(); status != 1 {
		t.Errorf("third session exit status = %d, want 1", status)
	}
	if got := third.stderrText(); !strings.Contains(got, "the server is full (2 sessions open)") {
		t.Errorf("third session stderr = %q, want it to say the server is full", got)
	}

	first.send("q")
	first.waitExit()
	waitUntil(t, "the first session to be released", func() bool { return ts.sessionCount() == 1 })
	fourth := ts.openTerminal(t, termOptions{})
	fourth.waitForText("London")
}

func TestShutdownTellsSessions(t *testing.T) {
	ts := startServer(t, func(o *Options) { o.ShutdownGrace = 10 * time.Second })
	term := ts.openTerminal(t, termOptions{})
	term.waitForText("London")

	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(context.Background()) }()

	if status := term.waitExit(); status != 0 {
		t.Errorf("exit status = %d, want 0", status)
	}
	if out := term.rawOutput(); !strings.Contains(out, "the server is shutting down") {
		t.Errorf("output lacks the shutdown line; tail: %q", tail(out, 200))
	}
	term.close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Shutdown did not return")
	}
	select {
	case err := <-ts.served:
		if err != nil {
			t.Errorf("Serve returned %v after Shutdown, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Serve did not return after Shutdown")
	}
	if _, err := ts.dial(t); err == nil {
		t.Error("a client connected after Shutdown")
	}
}

func TestShutdownGraceClosesStuckClients(t *testing.T) {
	// The grace is long enough for the session to end on its own even on
	// a busy machine. The stuck clients make Shutdown wait all of it.
	ts := startServer(t, func(o *Options) { o.ShutdownGrace = 2 * time.Second })
	term := ts.openTerminal(t, termOptions{})
	term.waitForText("London")
	// A connection with no session does not end by itself.
	c, err := ts.dial(t)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Nor does a TCP connection that never starts its handshake.
	raw, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	if err := ts.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	// During the grace the session ended through the program, with the
	// notice and an exit status, before the connections were closed.
	if status := term.waitExit(); status != 0 {
		t.Errorf("session exit status = %d, want 0 from the shutdown notice", status)
	}
	if out := term.rawOutput(); !strings.Contains(out, "the server is shutting down") {
		t.Errorf("the session's output lacks the shutdown notice; tail: %q", tail(out, 200))
	}

	waitDone := make(chan struct{})
	go func() { _ = c.Wait(); close(waitDone) }()
	select {
	case <-waitDone:
	case <-time.After(waitTimeout):
		t.Error("the SSH connection is still open after Shutdown")
	}
	_ = raw.SetReadDeadline(time.Now().Add(waitTimeout))
	buf := make([]byte, 256)
	for {
		_, err := raw.Read(buf)
		if err == nil {
			continue // the server's version line
		}
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			t.Error("the connection without a handshake is still open after Shutdown")
		}
		break
	}
	if !strings.Contains(ts.logs.String(), "closed connections left open") {
		t.Errorf("log does not say that connections were closed:\n%s", ts.logs.String())
	}
}

// panickyBackend is the real client with FindSites made to panic on
// demand, to check that a panic in one session's command stays there.
type panickyBackend struct {
	*client.Client
	armed chan struct{}
}

func (b *panickyBackend) FindSites(ctx context.Context, opt client.FindOptions) ([]model.Site, error) {
	select {
	case <-b.armed:
		panic("test panic in FindSites")
	default:
	}
	return b.Client.FindSites(ctx, opt)
}

func TestPanicEndsOnlyThatSession(t *testing.T) {
	armed := make(chan struct{})
	ts := startServer(t, func(o *Options) {
		o.UI.Backend = &panickyBackend{Client: o.UI.Backend.(*client.Client), armed: armed}
	})
	bystander := ts.openTerminal(t, termOptions{})
	victim := ts.openTerminal(t, termOptions{})
	bystander.waitForText("London")
	victim.waitForText("London")

	close(armed)
	victim.send("r")
	if status := victim.waitExit(); status != 1 {
		t.Errorf("exit status after the panic = %d, want 1", status)
	}
	if out := victim.rawOutput(); !strings.Contains(out, "internal error") {
		t.Errorf("output lacks the internal error line; tail: %q", tail(out, 200))
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "panic in the UI") || !strings.Contains(logs, "test panic in FindSites") {
		t.Errorf("the panic is not logged:\n%s", logs)
	}

	// The other session and the server go on: only a running program
	// opens the help overlay.
	bystander.send("?")
	bystander.waitForText("Keys")
	select {
	case <-bystander.done:
		t.Fatal("the other session ended too")
	default:
	}
	c, err := ts.dial(t)
	if err != nil {
		t.Fatalf("server stopped accepting after a panic: %v", err)
	}
	c.Close()
}

func TestSessionFilterMessages(t *testing.T) {
	filter := sessionFilter(colorprofile.ANSI256)
	if got := filter(nil, tea.SuspendMsg{}); got != (tea.ResumeMsg{}) {
		t.Errorf("filter(SuspendMsg) = %#v, want ResumeMsg", got)
	}
	key := tea.KeyPressMsg{Code: 'j', Text: "j"}
	if got := filter(nil, key); got != tea.Msg(key) {
		t.Errorf("filter(key j) = %#v, want it unchanged", got)
	}
	if got := filter(nil, tea.WindowSizeMsg{Width: 0, Height: 0}); got != nil {
		t.Errorf("filter(0x0 window) = %#v, want it dropped", got)
	}
	size := tea.WindowSizeMsg{Width: 100, Height: 30}
	if got := filter(nil, size); got != tea.Msg(size) {
		t.Errorf("filter(100x30 window) = %#v, want it unchanged", got)
	}
	rgb := tea.CapabilityMsg{Content: "RGB"}
	if got := filter(nil, rgb); got != tea.Msg(rgb) {
		t.Errorf("filter(RGB capability) with colours = %#v, want it unchanged", got)
	}
	if got := sessionFilter(colorprofile.ASCII)(nil, rgb); got != nil {
		t.Errorf("filter(RGB capability) without colours = %#v, want it dropped", got)
	}
}

// suspendChildEnv marks the test binary that TestCtrlZKeepsSessionRunning
// starts in a process group of its own, so that a suspend stops only that
// process.
const suspendChildEnv = "SSHD_TEST_SUSPEND_CHILD"

func TestCtrlZKeepsSessionRunning(t *testing.T) {
	if os.Getenv(suspendChildEnv) == "" {
		runInOwnProcessGroup(t, "TestCtrlZKeepsSessionRunning", suspendChildEnv)
		return
	}
	ts := startServer(t, nil)
	term := ts.openTerminal(t, termOptions{})
	term.waitForText("London")
	if strings.Contains(term.text(), "Keys") {
		t.Fatalf("the site list already shows Keys, so the help overlay cannot be told apart:\n%s", term.text())
	}

	// ctrl+z as the client's terminal sends it.
	term.send("\x1a")
	// A suspend request as the program gets it when a model returns
	// tea.Suspend. It goes through the session's message filter. Without
	// the filter, Bubble Tea would stop the whole server process with
	// SIGTSTP, which the parent test detects.
	ts.onlyProgram(t).Send(tea.SuspendMsg{})

	// Only a running program opens the help overlay, titled Keys.
	term.send("?")
	term.waitForText("Keys")
	select {
	case <-term.done:
		t.Fatal("the session ended after ctrl+z and a suspend request")
	default:
	}
	// q closes the overlay, and a second q quits.
	term.send("q")
	term.waitFor("the help overlay to close", func(screen string) bool { return !strings.Contains(screen, "Keys") })
	term.send("q")
	if status := term.waitExit(); status != 0 {
		t.Errorf("exit status after q = %d, want 0", status)
	}
}

// onlyProgram returns the program of the one open session.
func (ts *testServer) onlyProgram(t testing.TB) *tea.Program {
	t.Helper()
	var program *tea.Program
	waitUntil(t, "one session with a program", func() bool {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if len(ts.sessions) != 1 {
			return false
		}
		for sess := range ts.sessions {
			sess.mu.Lock()
			program = sess.program
			sess.mu.Unlock()
		}
		return program != nil
	})
	return program
}

// runInOwnProcessGroup runs the test named name in a new process of the
// test binary, with env set to 1, in a process group of its own. It fails
// when that process is stopped by a signal (as a suspend would) or when
// the test fails there.
func runInOwnProcessGroup(t *testing.T, name, env string) {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "output"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	// Files rather than pipes, because the process is waited for with
	// wait4 instead of cmd.Wait, so no copying goroutines are needed.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the test process: %v", err)
	}
	pid := cmd.Process.Pid
	output := func() string {
		data, _ := os.ReadFile(out.Name())
		return tail(string(data), 4000)
	}

	waited := make(chan syscall.WaitStatus, 1)
	go func() {
		var status syscall.WaitStatus
		for {
			// WUNTRACED reports a stop as well as an exit.
			_, err := syscall.Wait4(pid, &status, syscall.WUNTRACED, nil)
			if !errors.Is(err, syscall.EINTR) {
				waited <- status
				return
			}
		}
	}()
	kill := func() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		var status syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &status, 0, nil)
	}

	var status syscall.WaitStatus
	select {
	case status = <-waited:
	case <-time.After(4 * waitTimeout):
		kill()
		<-waited
		t.Fatalf("the test process did not finish within %v; output:\n%s", 4*waitTimeout, output())
	}
	if status.Stopped() {
		kill()
		signal := fmt.Sprintf("signal %d", int(status.StopSignal()))
		if status.StopSignal() == syscall.SIGTSTP {
			signal = "SIGTSTP, the suspend signal"
		}
		t.Fatalf("the server process was stopped by %s; output:\n%s", signal, output())
	}
	if !status.Exited() || status.ExitStatus() != 0 {
		t.Fatalf("%s failed in its own process (%v); output:\n%s", name, status, output())
	}
	if text := output(); !strings.Contains(text, "--- PASS: "+name) {
		t.Fatalf("the test process did not run %s; output:\n%s", name, text)
	}
}

func TestAuthorizedKeysReadAgain(t *testing.T) {
	ts := startServer(t, nil)
	newcomer, line := newTestKey(t)
	if _, err := ts.dial(t, gossh.PublicKeys(newcomer)); err == nil {
		t.Fatal("newcomer logged in before being added")
	}
	f, err := os.OpenFile(ts.opts.AuthorizedKeys, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`from="127.0.0.1" ` + line + " newcomer\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	c, err := ts.dial(t, gossh.PublicKeys(newcomer))
	if err != nil {
		t.Fatalf("newcomer rejected after being added: %v", err)
	}
	c.Close()

	// A from= pattern that excludes loopback rejects the same key.
	data, err := os.ReadFile(ts.opts.AuthorizedKeys)
	if err != nil {
		t.Fatal(err)
	}
	restricted := strings.Replace(string(data), `from="127.0.0.1"`, `from="10.0.0.0/8"`, 1)
	if err := os.WriteFile(ts.opts.AuthorizedKeys, []byte(restricted), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := ts.dial(t, gossh.PublicKeys(newcomer)); err == nil {
		c.Close()
		t.Error(`newcomer logged in from 127.0.0.1 with from="10.0.0.0/8"`)
	}
	if !strings.Contains(ts.logs.String(), "client address does not match") {
		t.Errorf("the from= rejection is not logged:\n%s", ts.logs.String())
	}
}

func TestFailedLoginLogsUserAndKey(t *testing.T) {
	ts := startServer(t, nil)
	stranger, _ := newTestKey(t)
	if c, err := ts.dial(t, gossh.PublicKeys(stranger)); err == nil {
		c.Close()
		t.Fatal("login with an unknown key succeeded")
	}

	want := "key=" + gossh.FingerprintSHA256(stranger.PublicKey())
	waitUntil(t, "the failed connection in the log", func() bool {
		return strings.Contains(ts.logs.String(), "connection failed")
	})
	var line string
	for _, l := range strings.Split(ts.logs.String(), "\n") {
		if strings.Contains(l, "connection failed") {
			line = l
		}
	}
	if !strings.Contains(line, "user=tester") || !strings.Contains(line, want) {
		t.Errorf("failed connection line %q lacks user=tester or %s", line, want)
	}
}
