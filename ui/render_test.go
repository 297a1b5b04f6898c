package ui

import (
	"bytes"
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"accsyn-sites/emulator"
	"accsyn-sites/model"
)

func TestSafeText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x1b[2J", "␛[2J"},
		{"bell\x07", "bell␇"},
		{"a\tb\nc\rd", "a b c d"},
		{"del\x7f", "del␡"},
		{"c1\u009b31m", `c1\u009b31m`},
		{"bad\xffutf8", `bad\xffutf8`},
		{"rtl\u202eevil", `rtl\u202eevil`},
		{"東京 🚀", "東京 🚀"},
	}
	for _, c := range cases {
		if got := safeText(c.in); got != c.want {
			t.Errorf("safeText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSanitisesBackendText(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	c := clientFor(t, srv, emulator.RoleAdmin)
	_, err := c.CreateSite(t.Context(), map[string]any{
		"name":        "Evil",
		"description": "wipe\x1b[2Jscreen\x07 \x1b]0;title\x07 \u009b31m",
		"metadata":    map[string]any{"k\x1b[31m": "v\x1b[5m"},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	hs.press("r")
	hs.selectCode("evil")

	content := hs.m.View().Content
	for _, raw := range []string{"\x1b[2J", "\x07", "\x1b]0;", "\u009b", "\x1b[5m"} {
		if strings.Contains(content, raw) {
			t.Fatalf("frame contains the raw sequence %q", raw)
		}
	}
	hs.requireScreen("wipe␛[2Jscreen␇", "␛]0;title␇", `\u009b31m`, "k␛[31m = v␛[5m")
	requireFrameSize(t, content, 120, 40)
}

func TestWideCharactersKeepAlignment(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	sites := []model.Site{
		{ID: "000000000000000000000001", Name: "東京オフィス東京オフィス東京オフィス東京", Code: "tokyo-jp", Status: "enabled", Description: "絵文字 🚀🚀🚀 and CJK 東京"},
		{ID: "000000000000000000000002", Name: "emoji🚀site", Code: "emoji", Status: "disabled", Main: true},
		{ID: "000000000000000000000003", Name: "plain", Code: "plain", Status: "enabled"},
	}
	servers := []model.Server{{ID: "s1", Code: "東京-01", Site: sites[0].ID, Status: model.ServerOnline}}
	for _, size := range [][2]int{{120, 40}, {80, 24}, {61, 17}} {
		hs.send(sizeMsg(size[0], size[1]))
		hs.send(sitesLoadedMsg{seq: hs.m.loadSeq, sites: sites, servers: servers, loggedIn: true})
		content := hs.m.View().Content
		requireFrameSize(t, content, size[0], size[1])

		// The right border of the list pane sits in the same column on
		// every row, whatever the width of the names.
		lines := strings.Split(ansi.Strip(content), "\n")
		listW, _, _, _ := hs.m.paneSizes()
		if hs.m.layout() != layoutSide {
			continue
		}
		for i, line := range lines[2:5] {
			cell := ansi.Cut(line, listW-1, listW)
			if cell != "│" {
				t.Fatalf("%dx%d row %d: cell %d is %q, want the border: %q", size[0], size[1], i, listW-1, cell, line)
			}
		}
	}
}

func sizeMsg(w, h int) tea.WindowSizeMsg {
	return windowSize(w, h)
}

// requireFrameSize fails unless the frame has exactly h lines of exactly w
// cells.
func requireFrameSize(t *testing.T, frame string, w, h int) {
	t.Helper()
	lines := strings.Split(frame, "\n")
	if len(lines) != h {
		t.Fatalf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Fatalf("frame line %d is %d cells wide, want %d: %q", i, got, w, ansi.Strip(l))
		}
	}
}

func TestFrameFitsEverySize(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("hq")
	sizes := [][2]int{{120, 40}, {200, 60}, {81, 24}, {80, 24}, {79, 23}, {61, 17}, {40, 10}, {41, 11}, {39, 10}, {40, 9},
		{30, 8}, {1, 1}, {2, 3}, {57, 13}, {80, 14}, {80, 15}, {100, 12}, {133, 7}, {45, 50}}
	states := []struct {
		name string
		open func()
		done func()
	}{
		{"list", func() {}, func() {}},
		{"detail focus", func() { hs.press("tab") }, func() { hs.press("tab") }},
		{"filter", func() { hs.press("/"); hs.typeText("h") }, func() { hs.press("esc") }},
		{"create dialog", func() { hs.press("n"); hs.typeText("bad name") }, func() { hs.press("esc") }},
		{"edit dialog", func() { hs.press("e") }, func() { hs.press("esc") }},
		{"confirm", func() { hs.press("space") }, func() { hs.press("esc") }},
		{"help", func() { hs.press("?") }, func() { hs.press("esc") }},
	}
	for _, st := range states {
		for _, size := range sizes {
			hs.send(windowSize(size[0], size[1]))
			st.open()
			frame := hs.m.View().Content
			t.Run(fmt.Sprintf("%s %dx%d", st.name, size[0], size[1]), func(t *testing.T) {
				requireFrameSize(t, frame, size[0], size[1])
			})
			st.done()
		}
	}
}

func TestTooSmallSaysSo(t *testing.T) {
	hs, _ := adminHarness(t, 30, 8)
	hs.requireScreen("Terminal too small: 30x8")
	hs.send(windowSize(80, 24))
	hs.requireScreen("Sites (6 of 8)")
}

func TestNarrowTerminalStacksPanes(t *testing.T) {
	hs, _ := adminHarness(t, 80, 24)
	lines := strings.Split(hs.screen(), "\n")
	if !strings.HasPrefix(lines[1], "╭ Sites (6 of 8)") {
		t.Fatalf("line 1 is %q, want the list pane's top", lines[1])
	}
	found := false
	for _, l := range lines[2:] {
		if strings.HasPrefix(l, "╭ aws-eu-west") {
			found = true
		}
	}
	if !found {
		t.Fatalf("detail pane not stacked below the list:\n%s", hs.screen())
	}

	// Too short to stack: only the focused pane shows.
	hs.send(windowSize(80, 12))
	hs.requireScreen("Sites (6 of 8)")
	hs.rejectScreen("╭ aws-eu-west")
	hs.press("tab")
	hs.requireScreen("╭ aws-eu-west")
	hs.rejectScreen("Sites (6 of 8)")
}

func TestNoColorKeepsStatesReadable(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("a")
	var out bytes.Buffer
	w := &colorprofile.Writer{Forward: &out, Profile: colorprofile.Ascii}
	if _, err := w.Write([]byte(hs.m.View().Content)); err != nil {
		t.Fatalf("write: %v", err)
	}
	mono := out.String()
	if strings.Contains(mono, "38;2;") || strings.Contains(mono, "48;2;") || strings.Contains(mono, "[3") && strings.Contains(mono, ";5;") {
		t.Fatalf("monochrome frame still has colours: %q", mono)
	}
	plain := ansi.Strip(mono)
	for _, want := range []string{"● HQ", "○ aws-eu-west", "✕ LA", "▸ "} {
		if !strings.Contains(plain, want) {
			t.Fatalf("monochrome frame lacks %q:\n%s", want, plain)
		}
	}
	hs.selectCode("la")
	hs.requireScreen("✕ disabled · offline")
	hs.selectCode("aws-eu-west")
	hs.requireScreen("○ enabled · offline")
	// A disabled site whose server is online shows the half dot.
	hs.send(sitesLoadedMsg{seq: hs.m.loadSeq, loggedIn: true,
		sites:   []model.Site{{ID: "000000000000000000000009", Name: "half", Code: "half", Status: "disabled"}},
		servers: []model.Server{{ID: "s", Code: "s", Site: "000000000000000000000009", Status: model.ServerOnline}}})
	hs.requireScreen("◐ half", "◐ disabled")
}

func TestRelativeTime(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		ago  time.Duration
		want string
	}{
		{2 * time.Second, "just now"}, {42 * time.Second, "42s ago"}, {2 * time.Minute, "2m ago"},
		{3 * time.Hour, "3h ago"}, {5 * 24 * time.Hour, "5d ago"}, {-time.Minute, "in the future"},
	}
	for _, c := range cases {
		if got := relativeTime(now, now.Add(-c.ago)); got != c.want {
			t.Errorf("relativeTime(%v ago) = %q, want %q", c.ago, got, c.want)
		}
	}
}

func TestDetailUsesOptionsNow(t *testing.T) {
	srv := startEmulator(t, "demo")
	now := time.Now().Add(3 * time.Hour)
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme",
		Now: func() time.Time { return now }}, 120, 40)
	hs.selectCode("london")
	hs.requireScreen("ldn-site-01  online  3h ago")
}

func TestRelativeTimesFollowClockWhenDrawn(t *testing.T) {
	srv := startEmulator(t, "demo")
	admin := clientFor(t, srv, emulator.RoleAdmin)
	london, _ := siteByCode(t, admin, "london")
	added, err := srv.Emulator.AddServer(model.Server{Code: "ldn-clock", Site: london.ID})
	if err != nil {
		t.Fatalf("add server: %v", err)
	}
	// The check-in as the backend reports it, whatever the emulator stamped.
	servers, err := admin.FindServers(t.Context(), london.ID)
	if err != nil {
		t.Fatalf("find servers: %v", err)
	}
	var checkin time.Time
	for _, s := range servers {
		if s.ID == added.ID {
			checkin = s.LastCheckin.Time
		}
	}
	if checkin.IsZero() {
		t.Fatalf("server ldn-clock has no check-in: %+v", servers)
	}
	now := checkin.Add(2 * time.Minute)
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme",
		Now: func() time.Time { return now }}, 120, 40)
	hs.selectCode("london")
	hs.requireScreen("ldn-clock  online  2m ago")

	// Time passes with no message at all: the next frame shows it.
	now = checkin.Add(3 * time.Hour)
	hs.requireScreen("ldn-clock  online  3h ago")
	hs.rejectScreen("2m ago")
}

// detailText returns the detail pane's lines as drawn now.
func detailText(m *Model) string {
	lines := make([]string, len(m.detail.lines))
	for i, l := range m.detail.lines {
		lines[i] = l.render(m.styles, m.now())
	}
	return strings.Join(lines, "\n")
}

func TestSmallDialogKeepsFocusedFieldVisible(t *testing.T) {
	hs, _ := adminHarness(t, 40, 10)
	hs.selectCode("london")
	hs.press("e")
	hs.requireScreen("Name", "> London")
	hs.press("tab")
	hs.requireScreen("Description", "> London office")
	hs.press("tab")
	hs.requireScreen("Metadata")
	requireFrameSize(t, hs.m.View().Content, 40, 10)
}

func TestBackgroundChangeRestylesDetail(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("london")
	dark := detailText(hs.m)
	hs.send(tea.BackgroundColorMsg{Color: color.White})
	if hs.m.styles.IsDark {
		t.Fatalf("a white background left the dark styles")
	}
	if light := detailText(hs.m); light == dark {
		t.Fatalf("the detail pane kept its dark colours")
	}
}
