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

	"accsyn-sites/client"
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
			if cell != "│" && cell != "┃" {
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

func TestTooSmallOnlyQuits(t *testing.T) {
	hs, srv := adminHarness(t, 30, 8)
	admin := clientFor(t, srv, emulator.RoleAdmin)
	before, err := admin.FindSites(t.Context(), client.FindOptions{})
	if err != nil {
		t.Fatalf("find sites: %v", err)
	}
	hs.requireScreen("Terminal too small: 30x8", "q quits")

	selected, seq := hs.m.list.selectedID, hs.m.seq
	for _, k := range []string{"j", "space", "j", "space", "n", "e", "d", "m", "y", "?", "/", "a", "s", "r",
		"tab", "G", "enter", "esc", "x"} {
		hs.press(k)
		switch {
		case hs.m.seq != seq:
			t.Fatalf("%s made a call while the screen was too small", k)
		case hs.m.dialog != nil || hs.m.confirm != nil || hs.m.showHelp || hs.m.filtering:
			t.Fatalf("%s opened something while the screen was too small", k)
		case hs.m.list.selectedID != selected || hs.m.focus != focusList || hs.m.list.showAll || hs.m.list.sortBy != sortName:
			t.Fatalf("%s changed the list while the screen was too small", k)
		case hs.m.status.text != "" || len(hs.m.pending) != 0:
			t.Fatalf("%s acted: status %q, pending %v", k, hs.m.status.text, hs.m.pending)
		case hs.quit:
			t.Fatalf("%s quit", k)
		}
	}
	hs.send(tea.PasteMsg{Content: "q"})
	if hs.quit || hs.m.filter.Value() != "" {
		t.Fatalf("a paste acted while the screen was too small")
	}
	after, err := admin.FindSites(t.Context(), client.FindOptions{})
	if err != nil {
		t.Fatalf("find sites: %v", err)
	}
	for i := range before {
		if before[i].Status != after[i].Status || before[i].Main != after[i].Main {
			t.Fatalf("site %s changed while the screen was too small", after[i].Code)
		}
	}

	// A resize acts; the screen is as it was.
	hs.send(windowSize(120, 40))
	hs.requireScreen("Sites (6 of 8)")
	hs.rejectScreen("New site", "Keys")
	hs.send(windowSize(30, 8))

	// q and ctrl+c quit.
	hs.press("q")
	if !hs.quit {
		t.Fatalf("q did not quit on the too-small screen")
	}
	hs.quit = false
	hs.press("ctrl+c")
	if !hs.quit {
		t.Fatalf("ctrl+c did not quit on the too-small screen")
	}
}

func TestNarrowTerminalStacksPanes(t *testing.T) {
	hs, _ := adminHarness(t, 80, 24)
	lines := strings.Split(hs.screen(), "\n")
	if !strings.HasPrefix(lines[1], "┏ Sites (6 of 8)") {
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
	hs.rejectScreen("╭ aws-eu-west", "┏ aws-eu-west")
	hs.press("tab")
	hs.requireScreen("┏ aws-eu-west")
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

func TestHeaderKeepsWhatMattersWhenShort(t *testing.T) {
	srv := startEmulator(t, "demo")
	const path = "/tmp/accsyn-sites-test/emulator/data"
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme",
		Emulator: true, DataDir: path}, 120, 40)

	for w := minWidth; w <= 160; w++ {
		hs.send(windowSize(w, 24))
		requireFrameSize(t, hs.m.View().Content, w, 24)
		header := strings.Split(hs.screen(), "\n")[0]
		has := func(s string) bool { return strings.Contains(header, s) }
		switch {
		case !strings.HasSuffix(header, " ● connected "):
			t.Fatalf("%d columns: the state is cut or has no space before it: %q", w, header)
		case !has("admin@local [admin]"):
			t.Fatalf("%d columns: the user and role are gone: %q", w, header)
		case has("(emulator") && !has("workspace acme"):
			t.Fatalf("%d columns: (emulator) kept but the workspace dropped: %q", w, header)
		case has("accsyn-sites ·") && !has("(emulator"):
			t.Fatalf("%d columns: the app name kept but (emulator) dropped: %q", w, header)
		case has("(emulator: ") && !has("accsyn-sites ·"):
			t.Fatalf("%d columns: the data path kept but the app name dropped: %q", w, header)
		}
		if i := strings.Index(header, "(emulator: "); i >= 0 {
			shown := header[i+len("(emulator: "):]
			shown = shown[:strings.Index(shown, ")")]
			if shown != path && !(strings.HasPrefix(shown, "…") && strings.HasSuffix(path, strings.TrimPrefix(shown, "…"))) {
				t.Fatalf("%d columns: the data path shows as %q, want it whole or cut from the left", w, shown)
			}
		}
	}

	for _, c := range []struct {
		w    int
		want string
	}{
		{130, " accsyn-sites · workspace acme (emulator: " + path + ") · admin@local [admin]"},
		{100, " accsyn-sites · workspace acme (emulator: …es-test/emulator/data) · admin@local [admin] ● connected "},
		{80, " accsyn-sites · workspace acme (emulator) · admin@local [admin]     ● connected "},
		{60, " workspace acme · admin@local [admin]"},
		{40, " admin@local [admin]"},
	} {
		hs.send(windowSize(c.w, 24))
		if header := strings.Split(hs.screen(), "\n")[0]; !strings.HasPrefix(header, c.want) {
			t.Errorf("%d columns: header %q, want it to start with %q", c.w, header, c.want)
		}
	}
}

func TestFocusShowsWithoutColour(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.send(tea.ColorProfileMsg{Profile: colorprofile.ASCII})
	top := func() string { return strings.Split(hs.screen(), "\n")[1] }
	if l := top(); !strings.HasPrefix(l, "┏ Sites (6 of 8)") || !strings.Contains(l, "╭ aws-eu-west") {
		t.Fatalf("list focus not marked by its border: %q", l)
	}
	hs.press("tab")
	if l := top(); !strings.HasPrefix(l, "╭ Sites (6 of 8)") || !strings.Contains(l, "┏ aws-eu-west") {
		t.Fatalf("detail focus not marked by its border: %q", l)
	}
	// Under a dialog no pane has the focus.
	hs.press("?")
	if l := top(); strings.Contains(l, "┏") {
		t.Fatalf("a pane is marked focused under the help: %q", l)
	}
}

func TestHelpExplainsStateSymbols(t *testing.T) {
	for _, size := range [][2]int{{120, 40}, {80, 24}} {
		hs, _ := adminHarness(t, size[0], size[1])
		hs.press("?")
		hs.requireScreen("States of sites and servers", "● enabled · online", "○ enabled · offline", "◐ disabled",
			"✕ disabled · offline", "closes")
	}
}

func TestFooterKeepsHelpAndQuit(t *testing.T) {
	for _, w := range []int{60, 80, 100, 120} {
		hs, _ := adminHarness(t, w, 24)
		lines := strings.Split(hs.screen(), "\n")
		var footer string
		for _, l := range lines {
			if strings.Contains(l, "move") && strings.Contains(l, "•") {
				footer = l
			}
		}
		if !strings.Contains(footer, "? help") || !strings.Contains(footer, "q quit") {
			t.Errorf("at %d columns the footer %q lacks ? help or q quit", w, footer)
		}
		if strings.Contains(footer, "…") {
			t.Errorf("at %d columns the footer is cut: %q", w, footer)
		}
	}
}
