package ui

import (
	"bytes"
	"image/color"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/vt"
	"github.com/creack/pty"

	"accsyn-sites/emulator"
)

// ptyTerminal runs the program on a real pseudo-terminal and reads its
// output through a terminal emulator, so keys go through Bubble Tea's own
// input parser and the screen is what a user would see.
type ptyTerminal struct {
	t      *testing.T
	ptmx   *os.File
	mu     sync.Mutex
	screen *vt.Emulator
	raw    bytes.Buffer
	done   chan error
}

func startPTY(t *testing.T, m *Model, w, h int, background color.Color, env []string) *ptyTerminal {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)}); err != nil {
		t.Fatalf("set pty size: %v", err)
	}
	term := &ptyTerminal{t: t, ptmx: ptmx, screen: vt.NewEmulator(w, h), done: make(chan error, 1)}
	if background != nil {
		term.screen.SetDefaultBackgroundColor(background)
	}

	// The emulator's replies (background colour, modes) go back as input.
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := term.screen.Read(buf)
			if n > 0 {
				_, _ = ptmx.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		buf := make([]byte, 32*1024)
		for {
			n, err := ptmx.Read(buf)
			if n > 0 {
				term.mu.Lock()
				term.raw.Write(buf[:n])
				_, _ = term.screen.Write(buf[:n])
				term.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()

	p := tea.NewProgram(m, tea.WithInput(tty), tea.WithOutput(tty), tea.WithEnvironment(env), tea.WithoutSignalHandler())
	go func() {
		_, err := p.Run()
		term.done <- err
	}()
	t.Cleanup(func() {
		p.Quit()
		<-term.done
		// NOTE: tty is left for the garbage collector: Bubble Tea's input
		// reader may still be inside a read of it after Run returns, and
		// closing it here is a data race. Closing ptmx ends that read.
		ptmx.Close()
		// Closing the reply pipe ends the goroutine copying replies.
		_ = term.screen.InputPipe().(io.Closer).Close()
	})
	return term
}

func (term *ptyTerminal) text() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.screen.String()
}

func (term *ptyTerminal) send(keys string) {
	term.t.Helper()
	if _, err := io.WriteString(term.ptmx, keys); err != nil {
		term.t.Fatalf("send %q: %v", keys, err)
	}
}

// waitFor polls the screen until it contains every text; the deadline is
// generous for -race on a loaded machine.
func (term *ptyTerminal) waitFor(texts ...string) string {
	term.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		screen := term.text()
		all := true
		for _, text := range texts {
			all = all && strings.Contains(screen, text)
		}
		if all {
			return screen
		}
		time.Sleep(20 * time.Millisecond)
	}
	term.t.Fatalf("screen never showed %q:\n%s", texts, term.text())
	return ""
}

func TestPTYEndToEnd(t *testing.T) {
	srv := startEmulator(t, "demo")
	m := New(Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme", Emulator: true, DataDir: "/tmp/data"})
	term := startPTY(t, m, 100, 30, nil, []string{"TERM=xterm-256color", "COLORTERM=truecolor"})

	term.waitFor("Sites (6 of 8)", "● connected", "╭ aws-eu-west")
	term.send("jjj") // to London
	term.waitFor("╭ London", "Delivery london 0142")

	// Filter: typed letters are text, not commands.
	term.send("/stockh")
	term.waitFor("Sites (1 of 8)", "/stockh")
	term.send("\r") // keep the filter

	// Space disables the filtered site after the real input parser read it.
	term.send(" ")
	term.waitFor("✓ Disabled Stockholm")
	site, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "stockholm")
	if site.Enabled() {
		t.Fatalf("stockholm still enabled")
	}

	// Esc clears the filter; the frame stays exactly the terminal's size.
	term.send("\x1b")
	screen := term.waitFor("Sites (6 of 8)")
	lines := strings.Split(strings.TrimRight(screen, "\n"), "\n")
	if len(lines) > 30 {
		t.Fatalf("screen has %d lines, want at most 30", len(lines))
	}

	// Create through the Huh dialog with real key input.
	term.send("n")
	term.waitFor("New site")
	term.send("Lisbon\r\r\r")
	term.waitFor("✓ Created Lisbon", "╭ Lisbon")

	term.send("q")
	select {
	case err := <-term.done:
		if err != nil {
			t.Fatalf("program ended with %v", err)
		}
		term.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatalf("q did not quit")
	}
}

func TestPTYDialogKeyBurst(t *testing.T) {
	srv := startEmulator(t, "demo")
	m := New(Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme"})
	term := startPTY(t, m, 100, 30, nil, []string{"TERM=xterm-256color", "COLORTERM=truecolor"})
	term.waitFor("Sites (6 of 8)", "● connected")

	// Every field in one write, as tmux send-keys or a fast typist sends
	// them: the keys after each enter belong to the next field.
	term.send("n")
	term.waitFor("New site")
	term.send("Oslo\roslo2\rFjord office\r")
	term.waitFor("✓ Created Oslo", "╭ Oslo")

	site, ok := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "oslo2")
	if !ok || site.Name != "Oslo" || site.Description != "Fjord office" {
		t.Fatalf("emulator has %+v (found %v)", site, ok)
	}
}

func TestPTYLightBackground(t *testing.T) {
	srv := startEmulator(t, "demo")
	m := New(Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme"})
	term := startPTY(t, m, 100, 30, color.White, []string{"TERM=xterm-256color", "COLORTERM=truecolor"})
	term.waitFor("● connected")

	// The app name is drawn in the accent colour of the light palette
	// once the terminal reported its white background.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var fg color.Color
		term.mu.Lock()
		if cell := term.screen.CellAt(1, 0); cell != nil {
			fg = cell.Style.Fg
		}
		term.mu.Unlock()
		if fg != nil {
			r, g, b, _ := fg.RGBA()
			if r>>8 == 0x4F && g>>8 == 0x46 && b>>8 == 0xE5 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the header never used the light palette's accent")
}

func TestPTYNoColor(t *testing.T) {
	srv := startEmulator(t, "demo")
	m := New(Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme"})
	term := startPTY(t, m, 100, 30, nil, []string{"TERM=xterm-256color", "COLORTERM=truecolor", "NO_COLOR=1"})
	term.waitFor("● HQ", "✕ LA", "○ Stockholm", "▸ ")
	term.mu.Lock()
	raw := term.raw.String()
	term.mu.Unlock()
	for _, colour := range []string{"38;2;", "48;2;", "38;5;", "48;5;"} {
		if strings.Contains(raw, colour) {
			t.Fatalf("NO_COLOR output contains the colour sequence %q", colour)
		}
	}
}
