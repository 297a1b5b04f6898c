package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/crypto/ssh"

	"accsyn-sites/client"
)

// binaryPath is the accsyn-sites binary built once for the tests that run it
// as a separate process.
var binaryPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "accsyn-sites-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create temp dir:", err)
		os.Exit(1)
	}
	binaryPath = filepath.Join(dir, appName)
	build := exec.Command("go", "build", "-o", binaryPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build accsyn-sites:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// isolatedEnv returns an environment with a private data directory and no
// accsyn credentials, so the binary always starts its embedded emulator.
func isolatedEnv(t testing.TB) []string {
	data := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "ACCSYN_") || strings.HasPrefix(kv, "AS_DEV=") || strings.HasPrefix(kv, "XDG_DATA_HOME=") || strings.HasPrefix(kv, "NO_COLOR=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "XDG_DATA_HOME="+data, "TERM=xterm-256color")
}

func TestVersionFlag(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := run([]string{"--version"}, &out, &errOut); status != 0 {
		t.Fatalf("status = %d, stderr %q", status, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "accsyn-sites ") {
		t.Errorf("--version printed %q", out.String())
	}
}

func TestHelpFlags(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"emulator", "--help"}, {"serve", "-h"}} {
		var out, errOut bytes.Buffer
		if status := run(args, &out, &errOut); status != 0 {
			t.Errorf("%v: status = %d, want 0", args, status)
		}
		if !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), "-data") {
			t.Errorf("%v: help lacks usage or flags: %q", args, out.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cases := map[string][]string{
		`invalid --seed "big"`:       {"emulator", "--memory", "--seed", "big"},
		"exclude each other":         {"emulator", "--memory", "--data", t.TempDir()},
		`unexpected argument "oops"`: {"oops"},
		"invalid --max-sessions 0":   {"serve", "--max-sessions", "0"},
		`invalid --listen "nowhere"`: {"emulator", "--memory", "--listen", "nowhere"},
	}
	for want, args := range cases {
		var out, errOut bytes.Buffer
		if status := run(args, &out, &errOut); status != 2 {
			t.Errorf("%v: status = %d, want 2", args, status)
		}
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("%v: stderr %q lacks %q", args, errOut.String(), want)
		}
	}
}

func TestServeWithoutAuthorizedKeys(t *testing.T) {
	cmd := exec.Command(binaryPath, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = isolatedEnv(t)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("serve started without an authorized_keys file: %s", out)
	}
	if !strings.Contains(string(out), "authorized_keys") {
		t.Errorf("error does not say how to add keys: %s", out)
	}
}

// TestEmulatorCommand runs `accsyn-sites emulator` as a process, reads the
// credentials from its banner, uses them with the real client and stops it
// with SIGINT.
func TestEmulatorCommand(t *testing.T) {
	cmd := exec.Command(binaryPath, "emulator", "--memory", "--listen", "127.0.0.1:0")
	cmd.Env = isolatedEnv(t)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	exports := map[string]string{}
	lines := bufio.NewScanner(stdout)
	exportPair := regexp.MustCompile(`((?:ACCSYN|AS)_[A-Z_]+)=(\S+)`)
	for lines.Scan() {
		line := lines.Text()
		for _, m := range exportPair.FindAllStringSubmatch(line, -1) {
			exports[m[1]] = m[2]
		}
		if strings.Contains(line, "Ctrl+C") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	for _, key := range []string{"ACCSYN_WORKSPACE", "ACCSYN_API_USER", "ACCSYN_API_KEY", "ACCSYN_HOSTNAME", "ACCSYN_PORT", "AS_DEV"} {
		if exports[key] == "" {
			t.Fatalf("banner has no %s line; got %v", key, exports)
		}
	}

	cfg, found, err := client.LoadConfig(client.Config{}, func(k string) string { return exports[k] }, t.TempDir())
	if err != nil || !found {
		t.Fatalf("LoadConfig from the banner: found=%v err=%v", found, err)
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sites, err := c.FindSites(ctx, client.FindOptions{Query: "code=hq"})
	if err != nil {
		t.Fatalf("find hq: %v", err)
	}
	if len(sites) != 1 || !sites[0].Main {
		t.Errorf("find hq = %+v, want the main site", sites)
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("emulator exit after SIGINT: %v; stderr %s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), exports["ACCSYN_API_KEY"]) {
		t.Error("the request log contains the API key")
	}
}

// BenchmarkStartupToFirstFrame measures the time from starting the binary in
// a pseudo-terminal to the first frame that shows sites (the MAIN badge of
// the main site), on a fresh data directory the first time and an existing
// one after.
func BenchmarkStartupToFirstFrame(b *testing.B) {
	env := isolatedEnv(b)
	for b.Loop() {
		cmd := exec.Command(binaryPath, "--refresh", "0")
		cmd.Env = env
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
		if err != nil {
			b.Fatal(err)
		}
		if err := waitForOutput(tty, "MAIN", pollTimeout); err != nil {
			b.Fatal(err)
		}
		cmd.Process.Kill()
		cmd.Wait()
		tty.Close()
	}
}

// waitForOutput reads r until it has seen want or the timeout passes.
func waitForOutput(r io.Reader, want string, timeout time.Duration) error {
	found := make(chan error, 1)
	go func() {
		var seen bytes.Buffer
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			seen.Write(buf[:n])
			if bytes.Contains(seen.Bytes(), []byte(want)) {
				found <- nil
				return
			}
			if err != nil {
				found <- fmt.Errorf("output ended before %q: %w; got %q", want, err, tail(seen.String(), 300))
				return
			}
		}
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no %q after %s", want, timeout)
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// tmuxSession is the built binary running in a detached tmux session on a
// private tmux server, read through capture-pane as a user would see it.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, width, height int, env []string, args ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed; the end-to-end test drives the binary through tmux")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("accsyn-sites-e2e-%d", time.Now().UnixNano())}
	command := append([]string{binaryPath}, args...)
	tmuxArgs := []string{"new-session", "-d", "-s", "e2e", "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)}
	for _, kv := range env {
		if strings.HasPrefix(kv, "XDG_DATA_HOME=") || strings.HasPrefix(kv, "TERM=") {
			tmuxArgs = append(tmuxArgs, "-e", kv)
		}
	}
	tmuxArgs = append(tmuxArgs, strings.Join(command, " "))
	s.run(tmuxArgs...)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) run(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string {
	return s.run("capture-pane", "-p", "-t", "e2e")
}

// keys sends tmux key names (Enter, Space, Escape) or literal text.
func (s *tmuxSession) keys(keys ...string) {
	s.run(append([]string{"send-keys", "-t", "e2e"}, keys...)...)
}

// pollTimeout bounds every wait in these tests. It is generous because the
// machines that run them are shared and may be slow.
const pollTimeout = 30 * time.Second

// pollUntil calls done every 100 ms until it returns true, and fails the
// test with describe's text after pollTimeout.
func pollUntil(t testing.TB, done func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(pollTimeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatal(describe())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls the screen until match accepts it, and fails with the last
// screen after pollTimeout.
func (s *tmuxSession) waitFor(what string, match func(screen string) bool) string {
	s.t.Helper()
	var screen string
	pollUntil(s.t, func() bool {
		screen = s.screen()
		return match(screen)
	}, func() string { return fmt.Sprintf("timed out waiting for %s; the screen:\n%s", what, screen) })
	return screen
}

func (s *tmuxSession) waitForText(text string) string {
	s.t.Helper()
	return s.waitFor(fmt.Sprintf("%q", text), func(screen string) bool { return strings.Contains(screen, text) })
}

// paneBoundary is where the list pane's right border meets the detail
// pane's left border; a focused pane has a heavy border.
var paneBoundary = regexp.MustCompile(`[│┃][│┃]`)

// listRow returns the list pane's row for the site named name, or "".
func listRow(screen, name string) string {
	for _, line := range strings.Split(screen, "\n") {
		at := paneBoundary.FindStringIndex(line)
		if at == nil {
			continue
		}
		if left := line[:at[0]]; strings.Contains(left, " "+name+" ") {
			return left
		}
	}
	return ""
}

// TestEndToEndInTmux runs the built binary on a fresh data directory (so on
// its embedded emulator), creates a site, disables it and deletes it, and
// reads each result off the terminal screen.
func TestEndToEndInTmux(t *testing.T) {
	s := startTmux(t, 120, 40, isolatedEnv(t), "--refresh", "0")
	screen := s.waitForText("MAIN")
	if !strings.Contains(screen, "(emulator") || !strings.Contains(screen, "Sites (6 of 8)") {
		t.Fatalf("first screen lacks the emulator header or the site count:\n%s", screen)
	}

	s.keys("n")
	s.waitForText("New site")
	s.keys("-l", "Paris")
	s.waitForText("the code will be paris")
	// Each field is awaited before typing, as a person reads the screen.
	s.keys("Enter")
	s.waitForText("┃ Code (optional)")
	s.keys("Enter")
	s.waitForText("┃ Description")
	s.keys("-l", "Paris office")
	s.keys("Enter")
	screen = s.waitForText("Created Paris")
	if !strings.Contains(screen, "Sites (7 of 9)") {
		t.Errorf("the count did not grow after the create:\n%s", screen)
	}
	if row := listRow(screen, "Paris"); !strings.Contains(row, "▸") || !strings.Contains(row, "○") {
		t.Errorf("the new site is not selected and offline: row %q", row)
	}
	if !strings.Contains(screen, "Paris office") {
		t.Errorf("the detail pane lacks the description:\n%s", screen)
	}

	s.keys("Space")
	screen = s.waitForText("Disabled Paris")
	if row := listRow(screen, "Paris"); !strings.Contains(row, "✕") {
		t.Errorf("the row does not show disabled and offline: %q", row)
	}
	if !strings.Contains(screen, "disabled · offline") {
		t.Errorf("the detail pane does not show the disabled state:\n%s", screen)
	}

	s.keys("d")
	s.waitForText("Delete Paris?")
	s.keys("Enter")
	screen = s.waitFor("the delete question to close", func(screen string) bool { return !strings.Contains(screen, "Delete Paris?") })
	if listRow(screen, "Paris") == "" {
		t.Fatalf("enter alone deleted the site:\n%s", screen)
	}
	s.keys("d")
	s.waitForText("Delete Paris?")
	s.keys("y")
	screen = s.waitForText("Deleted Paris")
	if listRow(screen, "Paris") != "" || !strings.Contains(screen, "Sites (6 of 8)") {
		t.Errorf("the site is still listed after the delete:\n%s", screen)
	}

	s.keys("q")
	pollUntil(t, func() bool {
		return exec.Command("tmux", "-L", s.socket, "has-session", "-t", "e2e").Run() != nil
	}, func() string { return "q did not end the program; the screen:\n" + s.screen() })
}

// startWithStderr starts cmd with stderr copied into a buffer the test can
// poll, and returns a function that reads what has arrived so far.
func startWithStderr(t *testing.T, cmd *exec.Cmd) func() string {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	go func() {
		chunk := make([]byte, 4096)
		for {
			n, err := pipe.Read(chunk)
			mu.Lock()
			buf.Write(chunk[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

// waitForLog polls read until pattern matches, and returns the submatches.
func waitForLog(t *testing.T, read func() string, pattern *regexp.Regexp) []string {
	t.Helper()
	var match []string
	pollUntil(t, func() bool {
		match = pattern.FindStringSubmatch(read())
		return match != nil
	}, func() string { return fmt.Sprintf("no output matching %s; got:\n%s", pattern, read()) })
	return match
}

// waitExit waits for cmd to end and returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode()
	case <-time.After(pollTimeout):
		t.Fatalf("the process did not exit within %s of the signal", pollTimeout)
		return -1
	}
}

func TestEmulatorStopsOnSIGTERM(t *testing.T) {
	cmd := exec.Command(binaryPath, "emulator", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	cmd.Env = isolatedEnv(t)
	read := startWithStderr(t, cmd)
	waitForLog(t, read, regexp.MustCompile(`emulator started`))

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status := waitExit(t, cmd); status != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0; stderr:\n%s", status, read())
	}
	if !strings.Contains(read(), "emulator stopped") {
		t.Errorf("no stop line in the log:\n%s", read())
	}
}

// TestServeStopsOnSIGTERM runs `accsyn-sites serve` as a process, opens an
// SSH session with an authorized key, sends SIGTERM, and checks that the
// session is told and the server exits with status 0.
func TestServeStopsOnSIGTERM(t *testing.T) {
	data := t.TempDir()
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	authorized := ssh.MarshalAuthorizedKey(signer.PublicKey())
	if err := os.WriteFile(filepath.Join(data, "authorized_keys"), authorized, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(binaryPath, "serve", "--data", data, "--listen", "127.0.0.1:0")
	cmd.Env = isolatedEnv(t)
	read := startWithStderr(t, cmd)
	addr := waitForLog(t, read, regexp.MustCompile(`serving SSH address=(127\.0\.0\.1:\d+)`))[1]

	conn, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            "operator",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         pollTimeout,
	})
	if err != nil {
		t.Fatalf("ssh to %s: %v", addr, err)
	}
	defer conn.Close()
	session, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var screen syncBuffer
	session.Stdout = &screen
	session.Stderr = &screen
	// The server ends a session whose input closes, so keep it open.
	stdin, err := session.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := session.RequestPty("xterm-256color", 40, 120, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := session.Shell(); err != nil {
		t.Fatal(err)
	}
	waitForLog(t, screen.String, regexp.MustCompile(`MAIN`))

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if status := waitExit(t, cmd); status != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0; stderr:\n%s", status, read())
	}
	waitForLog(t, screen.String, regexp.MustCompile(`shutting down`))
	if !strings.Contains(read(), "shut down") {
		t.Errorf("no shutdown line in the server log:\n%s", read())
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
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

func TestHelpPrintsOnce(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := run([]string{"serve", "--help"}, &out, &errOut); status != 0 {
		t.Fatalf("status = %d", status)
	}
	if n := strings.Count(out.String(), "Usage:"); n != 1 {
		t.Errorf("stdout has the usage %d times, want once", n)
	}
	if errOut.Len() != 0 {
		t.Errorf("--help wrote to stderr: %q", errOut.String())
	}
}

func TestUnknownFlagPointsToHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if status := run([]string{"--colour"}, &out, &errOut); status != 2 {
		t.Fatalf("status = %d, want 2", status)
	}
	if want := "flag provided but not defined: -colour; run accsyn-sites --help for the flags\n"; errOut.String() != want {
		t.Errorf("stderr = %q, want %q", errOut.String(), want)
	}
}

func TestSSHSessionsHideDataDir(t *testing.T) {
	be := &backend{workspace: "acme", dataDir: "/srv/accsyn-sites"}
	bf := backendFlags{refresh: time.Second}
	opts := sshUIOptions(be.uiOptions(&bf, nil))
	if opts.DataDir != "" {
		t.Errorf("SSH sessions get the data directory %q", opts.DataDir)
	}
	if opts.Workspace != "acme" || opts.Refresh != time.Second {
		t.Errorf("sshUIOptions lost other settings: %+v", opts)
	}
}
