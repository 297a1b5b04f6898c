package ui

import (
	"context"
	"slices"
	"strings"
	"testing"

	"accsyn-sites/emulator"
)

func TestListShowsSitesAndHeader(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)

	hs.requireScreen("accsyn-sites", "workspace acme", "(emulator: (memory))", "admin@local [admin]", "● connected",
		"Sites (6 of 8)", "HQ", "MAIN", "3 servers", "London", "1 server", "Stockholm", "0 servers")
	hs.rejectScreen("accsyn cloud hosting", "roaming")
	if got, want := hs.shownCodes(), []string{"aws-eu-west", "hq", "la", "london", "stockholm", "tokyo"}; !slices.Equal(got, want) {
		t.Fatalf("rows = %v, want %v", got, want)
	}
}

func TestListShowsBuiltinsWithA(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)

	hs.press("a")
	hs.requireScreen("Sites (8 of 8)", "accsyn", "roaming", "Showing built-in sites")
	hs.press("a")
	hs.requireScreen("Sites (6 of 8)", "Hiding built-in sites")
	if slices.Contains(hs.shownCodes(), "accsyn") {
		t.Fatalf("built-in accsyn still shown after a second a: %v", hs.shownCodes())
	}
}

func TestListMoveKeys(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	steps := []struct {
		key  string
		want string
	}{
		{"j", "hq"}, {"down", "la"}, {"k", "hq"}, {"up", "aws-eu-west"}, {"up", "aws-eu-west"},
		{"G", "tokyo"}, {"g", "aws-eu-west"}, {"end", "tokyo"}, {"home", "aws-eu-west"},
		{"pgdown", "tokyo"}, {"pgup", "aws-eu-west"},
	}
	for _, s := range steps {
		hs.press(s.key)
		if got := hs.selected(); got != s.want {
			t.Fatalf("after %s: selected %q, want %q", s.key, got, s.want)
		}
	}
}

func TestListDetailShowsEverything(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("london")
	london, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "london")

	hs.requireScreen("╭ London", "name         London", "code         london", "id           "+string(london.ID),
		"status       ● enabled · online", "main         no", "description  London office, Soho",
		"by admin@local", "metadata     contact = ops-london@example.com", "region = eu-west", "storage_tb = 120",
		"servers      ● ldn-site-01  online  ", "s ago", "transfers    1 active", "Delivery london 0142  running  42%")

	hs.selectCode("hq")
	hs.requireScreen("MAIN  new servers register here", "hq-render-01  disabled · offline", "hq-site-01  online")
	hs.selectCode("la")
	hs.requireScreen("status       ✕ disabled · offline")
}

func TestListDetailScrollsWhenFocused(t *testing.T) {
	hs, _ := adminHarness(t, 80, 24)
	hs.selectCode("hq")
	before := hs.selected()
	hs.press("tab")
	if hs.m.focus != focusDetail {
		t.Fatalf("tab did not move the focus to the detail pane")
	}
	hs.requireScreen("▹ ● HQ")
	hs.press("j", "j")
	if hs.m.detail.offset != 2 {
		t.Fatalf("detail offset = %d after two j, want 2", hs.m.detail.offset)
	}
	if hs.selected() != before {
		t.Fatalf("j in the detail pane moved the list to %q", hs.selected())
	}
	hs.requireScreen("3/") // the title shows the scroll position
	hs.press("G")
	if hs.m.detail.offset == 2 || hs.m.detail.offset+hs.m.detailHeight() != len(hs.m.detail.lines) {
		t.Fatalf("G: offset %d, height %d, lines %d", hs.m.detail.offset, hs.m.detailHeight(), len(hs.m.detail.lines))
	}
	hs.press("g")
	if hs.m.detail.offset != 0 {
		t.Fatalf("g: offset %d, want 0", hs.m.detail.offset)
	}
	hs.press("enter")
	if hs.m.focus != focusList {
		t.Fatalf("enter did not move the focus back to the list")
	}
	hs.press("j")
	if hs.selected() == before {
		t.Fatalf("j in the list did not move the cursor")
	}
}

func TestListFilter(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)

	hs.press("/")
	hs.typeText("lon")
	if got := hs.shownCodes(); !slices.Equal(got, []string{"london"}) {
		t.Fatalf("filter lon shows %v, want [london]", got)
	}
	hs.requireScreen("Sites (1 of 8)", "/lon")

	// Typed text is text: q, n, d and space neither quit nor act.
	hs.press("backspace", "backspace", "backspace")
	hs.typeText("q n d")
	if hs.quit || hs.m.dialog != nil || hs.m.confirm != nil {
		t.Fatalf("keys typed into the filter acted: quit=%v dialog=%v confirm=%v", hs.quit, hs.m.dialog != nil, hs.m.confirm != nil)
	}
	if hs.m.filter.Value() != "q n d" {
		t.Fatalf("filter value %q, want %q", hs.m.filter.Value(), "q n d")
	}
	hs.requireScreen("No match for \"q n d\"")

	hs.press("esc")
	if hs.m.filtering || hs.m.list.query != "" || len(hs.m.list.rows) != 6 {
		t.Fatalf("esc did not clear the filter: filtering=%v query=%q rows=%d", hs.m.filtering, hs.m.list.query, len(hs.m.list.rows))
	}

	// The filter also matches codes and descriptions; enter keeps it.
	hs.press("/")
	hs.typeText("renovation")
	hs.press("enter")
	if got := hs.shownCodes(); !slices.Equal(got, []string{"la"}) {
		t.Fatalf("filter renovation shows %v, want [la]", got)
	}
	if hs.m.filtering {
		t.Fatalf("enter did not leave the filter input")
	}
	hs.press("esc")
	if hs.m.list.query != "" {
		t.Fatalf("esc on the list did not clear the kept filter")
	}
}

func TestListFilterActionsUseShownSite(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.press("/")
	hs.typeText("stock")
	hs.press("enter", "space")
	if _, pending := hs.m.pending[""]; pending {
		t.Fatalf("a change went to an empty id")
	}
	site, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "stockholm")
	if site.Enabled() {
		t.Fatalf("space on the filtered row did not disable stockholm")
	}
}

func TestListSortCycleKeepsCursor(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("london")

	for _, want := range []string{"status", "servers", "modified", "name"} {
		hs.press("s")
		if hs.m.list.sortBy.String() != want {
			t.Fatalf("sort is %s, want %s", hs.m.list.sortBy, want)
		}
		if hs.selected() != "london" {
			t.Fatalf("after sorting by %s the cursor is on %q, want london", want, hs.selected())
		}
	}
	hs.press("s")
	if got := hs.shownCodes(); got[len(got)-1] != "la" && got[len(got)-1] != "aws-eu-west" {
		t.Fatalf("by status the disabled sites come last, got %v", got)
	}
	hs.requireScreen("by status")
	hs.press("s")
	if got := hs.shownCodes(); got[0] != "hq" {
		t.Fatalf("by servers hq (3 servers) comes first, got %v", got)
	}
}

func TestListCursorStaysAcrossRefresh(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("london")
	other := clientFor(t, srv, emulator.RoleAdmin)
	if _, err := other.CreateSite(context.Background(), map[string]any{"name": "AAA"}); err != nil {
		t.Fatalf("create: %v", err)
	}

	hs.press("r")
	if got := hs.shownCodes(); got[0] != "aaa" {
		t.Fatalf("refresh did not load the new site first: %v", got)
	}
	if hs.selected() != "london" {
		t.Fatalf("after refresh the cursor is on %q, want london", hs.selected())
	}

	// The automatic refresh does the same.
	if _, err := other.CreateSite(context.Background(), map[string]any{"name": "AAB"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	hs.m.opts.Refresh = 1
	hs.send(refreshTickMsg{gen: hs.m.refreshGen})
	if !slices.Contains(hs.shownCodes(), "aab") || hs.selected() != "london" {
		t.Fatalf("automatic refresh: rows %v, selected %q", hs.shownCodes(), hs.selected())
	}
}

func TestListEmptyIsSafe(t *testing.T) {
	srv := startEmulator(t, "none")
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme"}, 100, 30)
	hs.press("/")
	hs.typeText("zzzz")
	hs.press("enter")
	hs.requireScreen("No match for", "No site selected")
	for _, k := range []string{"j", "k", "G", "g", "pgdown", "pgup", "tab", "j", "tab", "e", "space", "m", "d", "y", "s", "a", "r"} {
		hs.press(k)
		if hs.m.confirm != nil || hs.m.dialog != nil {
			t.Fatalf("%s on an empty list opened a dialog", k)
		}
	}
	hs.requireScreen("No site selected")
	if !strings.Contains(hs.m.status.text, "No site selected") && !strings.Contains(hs.m.status.text, "Sorted") &&
		!strings.Contains(hs.m.status.text, "built-in") && !strings.Contains(hs.m.status.text, "Refreshed at") {
		t.Fatalf("status %q", hs.m.status.text)
	}
}

func TestListQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		hs, _ := adminHarness(t, 80, 24)
		hs.press(k)
		if !hs.quit {
			t.Fatalf("%s did not quit", k)
		}
	}
}
