package ui

import (
	"context"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"accsyn-sites/client"
	"accsyn-sites/emulator"
	"accsyn-sites/model"
)

// startEmulator serves a fresh in-memory emulator with the demo seed on a
// loopback port for the duration of the test.
func startEmulator(t testing.TB, seed string) *emulator.Server {
	t.Helper()
	srv, err := emulator.Start(emulator.Options{Memory: true, Seed: seed}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// userOf returns the emulator user with the given role.
func userOf(t testing.TB, e *emulator.Emulator, role string) emulator.User {
	t.Helper()
	for _, u := range e.Users() {
		if u.Role == role {
			return u
		}
	}
	t.Fatalf("emulator has no %s user", role)
	return emulator.User{}
}

// clientFor returns a real client logged in as the user with role.
func clientFor(t testing.TB, srv *emulator.Server, role string) *client.Client {
	t.Helper()
	u := userOf(t, srv.Emulator, role)
	return clientAt(t, srv.Emulator, u, srv.Host, srv.Port)
}

func clientAt(t testing.TB, e *emulator.Emulator, u emulator.User, host string, port int) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{
		Workspace: e.Workspace(), User: u.Name, APIKey: u.APIKey,
		Hostname: host, Port: port, Scheme: "http",
		ConnectTimeout: 2 * time.Second, ResponseTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return c
}

// harness drives a Model the way the Bubble Tea runtime does, but
// synchronously: it runs every command and feeds the resulting messages
// back into Update. Timer-driven messages (spinner frames, cursor blinks,
// refresh ticks) are delivered once but their follow-up timers are not run,
// so a test never sleeps.
type harness struct {
	t    testing.TB
	m    *Model
	quit bool
	// updating is true while the model's Update runs, so a test can tell
	// work done by Update from work done by the commands it returned.
	updating bool
}

func newHarness(t testing.TB, opts Options, w, h int) *harness {
	t.Helper()
	hs := &harness{t: t, m: New(opts)}
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	hs.run(hs.m.Init())
	return hs
}

// adminHarness starts an emulator and a model logged in as admin.
func adminHarness(t testing.TB, w, h int) (*harness, *emulator.Server) {
	t.Helper()
	srv := startEmulator(t, "demo")
	hs := newHarness(t, Options{
		Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: srv.Emulator.Workspace(),
		Emulator: true, DataDir: "(memory)",
	}, w, h)
	return hs, srv
}

// send delivers one message and runs what it returns.
func (hs *harness) send(msg tea.Msg) {
	hs.t.Helper()
	hs.run(hs.update(msg))
}

// update runs the model's Update on one message, marked as updating.
func (hs *harness) update(msg tea.Msg) tea.Cmd {
	hs.updating = true
	defer func() { hs.updating = false }()
	_, cmd := hs.m.Update(msg)
	return cmd
}

// run executes a command tree breadth first until it is exhausted.
func (hs *harness) run(cmd tea.Cmd) {
	hs.t.Helper()
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 10000 {
			hs.t.Fatalf("command loop did not settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil || isTimerCmd(c) {
			continue
		}
		msg := c()
		if msg == nil {
			continue
		}
		if batch, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, batch...)
			continue
		}
		if cmds, ok := commandList(msg); ok {
			queue = append(queue, cmds...)
			continue
		}
		if _, ok := msg.(tea.QuitMsg); ok {
			hs.quit = true
			continue
		}
		if isTimerMsg(msg) {
			hs.update(msg) // deliver, but do not start the next timer
			continue
		}
		queue = append(queue, hs.update(msg))
	}
}

// commandList unwraps tea.Sequence's unexported message, a list of commands.
func commandList(msg tea.Msg) ([]tea.Cmd, bool) {
	v := reflect.ValueOf(msg)
	if v.Kind() != reflect.Slice || v.Type().Elem() != reflect.TypeOf(tea.Cmd(nil)) {
		return nil, false
	}
	cmds := make([]tea.Cmd, v.Len())
	for i := range cmds {
		cmds[i] = v.Index(i).Interface().(tea.Cmd)
	}
	return cmds, true
}

// isTimerCmd reports commands that sleep before they return a message:
// timers and cursor blinks.
func isTimerCmd(c tea.Cmd) bool {
	name := runtime.FuncForPC(reflect.ValueOf(c).Pointer()).Name()
	return strings.Contains(name, "bubbletea/v2.Tick") || strings.Contains(name, "bubbletea/v2.Every") ||
		strings.Contains(name, "bubbles/v2/cursor.")
}

// isTimerMsg reports messages whose follow-up command would sleep.
func isTimerMsg(msg tea.Msg) bool {
	switch msg.(type) {
	case spinner.TickMsg, refreshTickMsg:
		return true
	}
	return strings.Contains(reflect.TypeOf(msg).PkgPath(), "bubbles/v2/cursor")
}

// key presses a key by name: a printable character, "space", "enter",
// "esc", "tab", "shift+tab", arrows, "pgup", "pgdown", "home", "end",
// "ctrl+c" or "ctrl+j".
func keyPress(name string) tea.KeyPressMsg {
	switch name {
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+j":
		return tea.KeyPressMsg{Code: 'j', Mod: tea.ModCtrl}
	}
	r := []rune(name)
	if len(r) != 1 {
		panic("unknown key " + name)
	}
	return tea.KeyPressMsg{Code: r[0], Text: name}
}

// press sends key presses by name.
func (hs *harness) press(names ...string) {
	hs.t.Helper()
	for _, n := range names {
		hs.send(keyPress(n))
	}
}

// typeText types text one character at a time.
func (hs *harness) typeText(s string) {
	hs.t.Helper()
	for _, r := range s {
		hs.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// screen returns the current frame without escape sequences.
func (hs *harness) screen() string {
	return ansi.Strip(hs.m.View().Content)
}

// selected returns the code of the site under the cursor.
func (hs *harness) selected() string {
	s, ok := hs.m.selectedSite()
	if !ok {
		return ""
	}
	return s.Code
}

// selectCode moves the cursor to the site with the code, with "j" presses
// from the top, as a user would.
func (hs *harness) selectCode(code string) {
	hs.t.Helper()
	hs.press("g")
	for i := 0; i < len(hs.m.list.rows); i++ {
		if hs.selected() == code {
			return
		}
		hs.press("j")
	}
	if hs.selected() != code {
		hs.t.Fatalf("site %q is not in the list; shown: %v", code, hs.shownCodes())
	}
}

// shownCodes returns the codes of the shown rows, in order.
func (hs *harness) shownCodes() []string {
	var out []string
	for _, i := range hs.m.list.rows {
		out = append(out, hs.m.sites[i].Code)
	}
	return out
}

// requireScreen fails unless the frame contains every text.
func (hs *harness) requireScreen(texts ...string) {
	hs.t.Helper()
	s := hs.screen()
	for _, text := range texts {
		if !strings.Contains(s, text) {
			hs.t.Fatalf("screen lacks %q:\n%s", text, s)
		}
	}
}

// rejectScreen fails if the frame contains any text.
func (hs *harness) rejectScreen(texts ...string) {
	hs.t.Helper()
	s := hs.screen()
	for _, text := range texts {
		if strings.Contains(s, text) {
			hs.t.Fatalf("screen should not contain %q:\n%s", text, s)
		}
	}
}

// siteByCode reads a site straight from the emulator through an admin
// client, for checking what the UI did.
func siteByCode(t testing.TB, c *client.Client, code string) (model.Site, bool) {
	t.Helper()
	sites, err := c.FindSites(context.Background(), client.FindOptions{Query: "code=" + code})
	if err != nil {
		t.Fatalf("find site %s: %v", code, err)
	}
	if len(sites) == 0 {
		return model.Site{}, false
	}
	return sites[0], true
}

// windowSize returns a terminal resize message.
func windowSize(w, h int) tea.WindowSizeMsg {
	return tea.WindowSizeMsg{Width: w, Height: h}
}
