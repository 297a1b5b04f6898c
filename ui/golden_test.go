package ui

import (
	"bytes"
	"fmt"
	"image/color"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"accsyn-sites/emulator"
)

// goldenNow is the pinned clock of the golden screens. The emulator stamps
// its demo data with the real clock, so the screens mask what depends on
// it (see maskVolatile).
var goldenNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// Patterns of the values that differ from run to run: ids are random, and
// dates and check-ins follow the real clock of the emulator.
var (
	idPattern       = regexp.MustCompile(`[0-9a-f]{24}`)
	datePattern     = regexp.MustCompile(`\d{4}-\d{2}-\d{2} \d{2}:\d{2}`)
	relativePattern = regexp.MustCompile(`(\d+[smhd] ago|just now|in the future)((?:\x1b\[[0-9;]*m)*)( *)`)
)

// maskVolatile replaces ids, dates and relative times with fixed text of the
// same width, so the golden screens are stable and still prove alignment.
func maskVolatile(s string) string {
	s = idPattern.ReplaceAllString(s, strings.Repeat("x", 24))
	s = datePattern.ReplaceAllString(s, "YYYY-MM-DD hh:mm")
	return relativePattern.ReplaceAllStringFunc(s, func(match string) string {
		parts := relativePattern.FindStringSubmatch(match)
		cells := len(parts[1]) + len(parts[3])
		const token = "T ago"
		return token + parts[2] + strings.Repeat(" ", max(0, cells-len(token)))
	})
}

// goldenCase is one screen: a terminal, its background, and keys to press.
type goldenCase struct {
	name    string
	w, h    int
	light   bool
	noColor bool
	keys    []string
	waitFor string
}

func TestGoldenScreens(t *testing.T) {
	cases := []goldenCase{
		{name: "dark_120x40", w: 120, h: 40, keys: []string{"j", "j", "j"}, waitFor: "London office"},
		{name: "light_120x40", w: 120, h: 40, light: true, keys: []string{"j", "j", "j"}, waitFor: "London office"},
		{name: "nocolor_120x40", w: 120, h: 40, noColor: true, keys: []string{"a", "j", "j"}, waitFor: "Sites (8 of 8)"},
		{name: "dark_80x24", w: 80, h: 24, keys: []string{"j"}, waitFor: "Head office"},
		{name: "light_80x24", w: 80, h: 24, light: true, keys: []string{"j"}, waitFor: "Head office"},
		{name: "nocolor_80x24", w: 80, h: 24, noColor: true, keys: []string{"j"}, waitFor: "Head office"},
		{name: "light_80x24_create", w: 80, h: 24, light: true, keys: []string{"n", "P", "a", "r", "i", "s"}, waitFor: "will be paris"},
		{name: "nocolor_80x24_delete", w: 80, h: 24, noColor: true, keys: []string{"j", "j", "j", "j", "d"}, waitFor: "Delete Stockholm?"},
		{name: "nocolor_80x24_create_invalid", w: 80, h: 24, noColor: true,
			keys: []string{"n", "P", "a", "r", "i", "s", "space", "O", "f", "f", "i", "c", "e", "enter"}, waitFor: "once the name is valid"},
		{name: "light_80x24_main_disabled", w: 80, h: 24, light: true, keys: []string{"j", "j", "m"}, waitFor: "Make LA the main site?"},
		{name: "nocolor_80x24_help", w: 80, h: 24, noColor: true, keys: []string{"?"}, waitFor: "States of sites and servers"},
		{name: "dark_30x8", w: 30, h: 8, waitFor: "too small"},
		{name: "light_30x8", w: 30, h: 8, light: true, waitFor: "too small"},
		{name: "nocolor_30x8", w: 30, h: 8, noColor: true, waitFor: "too small"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			golden.RequireEqual(t, runGoldenCase(t, c))
		})
	}
}

// runGoldenCase runs the real program under teatest against a demo
// emulator and returns its last frame as the terminal's colour profile
// would draw it.
func runGoldenCase(t *testing.T, c goldenCase) []byte {
	t.Helper()
	srv := startEmulator(t, "demo")
	m := New(Options{
		Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: srv.Emulator.Workspace(),
		Emulator: true, DataDir: "/home/user/.local/share/accsyn-sites",
		Now: func() time.Time { return goldenNow },
	})

	env := []string{"TTY_FORCE=1", "TERM=xterm-256color", "COLORTERM=truecolor"}
	if c.noColor {
		env = append(env, "NO_COLOR=1")
	}
	probe := newScreenProbe()
	tm := teatest.NewTestModel(t, m,
		teatest.WithInitialTermSize(c.w, c.h),
		teatest.WithProgramOptions(tea.WithEnvironment(env), tea.WithFilter(probe.filter)))
	if c.light {
		tm.Send(tea.BackgroundColorMsg{Color: color.White})
	}

	loaded := "connected"
	if c.w < minWidth || c.h < minHeight {
		loaded = "too small"
	}
	probe.waitFor(t, tm, loaded)
	if c.noColor {
		// The too-small screen shows before the program has read the
		// colour profile from NO_COLOR; the golden needs it read.
		probe.waitUntil(t, tm, "the ASCII colour profile", func(r probeResult) bool { return r.profile == colorprofile.ASCII })
	}
	for _, k := range c.keys {
		tm.Send(keyPress(k))
	}
	if c.waitFor != "" {
		probe.waitFor(t, tm, c.waitFor)
	}

	if err := tm.Quit(); err != nil {
		t.Fatalf("quit: %v", err)
	}
	final := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*Model)

	var out bytes.Buffer
	w := &colorprofile.Writer{Forward: &out, Profile: final.profile}
	if _, err := w.Write([]byte(final.View().Content)); err != nil {
		t.Fatalf("downsample: %v", err)
	}
	frame := out.String()
	requireFrameSize(t, frame, c.w, c.h)
	if c.noColor && final.profile != colorprofile.ASCII {
		t.Fatalf("NO_COLOR gave profile %v, want ASCII", final.profile)
	}
	return []byte(maskVolatile(frame))
}

// screenProbe reads the program's current screen from inside its event
// loop, where the model may be read without a data race: a probeMsg sent
// to the program is caught by the filter, which sends back the frame.
type screenProbe struct {
	frames chan probeResult
}

// probeResult is what the probe read inside the event loop.
type probeResult struct {
	frame   string // the screen without escape sequences
	profile colorprofile.Profile
}

type probeMsg struct{}

func newScreenProbe() *screenProbe {
	return &screenProbe{frames: make(chan probeResult, 1)}
}

func (p *screenProbe) filter(m tea.Model, msg tea.Msg) tea.Msg {
	if _, ok := msg.(probeMsg); !ok {
		return msg
	}
	model := m.(*Model)
	select {
	case p.frames <- probeResult{frame: ansi.Strip(model.View().Content), profile: model.profile}:
	default:
	}
	return nil
}

// waitFor polls the screen until it shows text.
func (p *screenProbe) waitFor(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	p.waitUntil(t, tm, fmt.Sprintf("show %q", text), func(r probeResult) bool { return strings.Contains(r.frame, text) })
}

// waitUntil polls the program until ok holds. The deadline is generous so
// the test stays robust under -race on a loaded machine.
func (p *screenProbe) waitUntil(t *testing.T, tm *teatest.TestModel, what string, ok func(probeResult) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		tm.Send(probeMsg{})
		select {
		case r := <-p.frames:
			last = r.frame
			if ok(r) {
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the program did not %s in time; last screen:\n%s", what, last)
}
