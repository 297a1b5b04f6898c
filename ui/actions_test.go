package ui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"accsyn-sites/emulator"
	"accsyn-sites/model"
)

func TestToggleDisablesAndEnables(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	c := clientFor(t, srv, emulator.RoleAdmin)
	hs.selectCode("stockholm")

	// The row shows the pending change before the result arrives.
	_, cmd := hs.m.Update(keyPress("space"))
	hs.requireScreen("disabling…", "Disabling Stockholm…")
	if p := hs.m.pending[hs.m.list.selectedID]; p.status != model.StatusDisabled {
		t.Fatalf("pending change %+v, want status disabled", p)
	}
	hs.run(cmd)
	hs.requireScreen("✓ Disabled Stockholm", "status       ✕ disabled · offline")
	hs.rejectScreen("disabling…")
	if site, _ := siteByCode(t, c, "stockholm"); site.Enabled() {
		t.Fatalf("emulator still has stockholm enabled")
	}

	hs.press("space")
	hs.requireScreen("✓ Enabled Stockholm")
	if site, _ := siteByCode(t, c, "stockholm"); !site.Enabled() {
		t.Fatalf("emulator still has stockholm disabled")
	}
}

func TestToggleSendsExplicitStatus(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("la") // disabled
	_, cmd := hs.m.Update(keyPress("space"))
	if p := hs.m.pending[hs.m.list.selectedID]; p.status != model.StatusEnabled || p.op != opEnable {
		t.Fatalf("space on a disabled site: pending %+v, want enable", p)
	}
	// A second space while the first is pending does not send a toggle.
	before := len(hs.m.requests)
	hs.m.Update(keyPress("space"))
	if len(hs.m.requests) != before || !strings.Contains(hs.m.status.text, "Already enabling") {
		t.Fatalf("second space: %d requests (was %d), status %q", len(hs.m.requests), before, hs.m.status.text)
	}
	hs.run(cmd)
	hs.requireScreen("✓ Enabled LA")
}

func TestToggleMainSiteAsksFirst(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("hq")
	hs.press("space")
	if hs.m.confirm == nil {
		t.Fatalf("disabling the main site did not ask")
	}
	hs.requireScreen("Disable HQ?", "HQ is the main site")

	hs.press("enter") // enter alone cancels
	if hs.m.confirm != nil || len(hs.m.pending) != 0 {
		t.Fatalf("enter did not cancel: confirm=%v pending=%v", hs.m.confirm != nil, hs.m.pending)
	}
	if site, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "hq"); !site.Enabled() {
		t.Fatalf("hq was disabled without a yes")
	}
	hs.requireScreen("Cancelled")
}

func TestToggleActiveTransfersAsksFirst(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("london")
	hs.press("space")
	hs.requireScreen("Disable London?", "1 running transfer will be cut off")

	hs.press("y")
	if site, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "london"); site.Enabled() {
		t.Fatalf("y did not disable london")
	}
	hs.requireScreen("✓ Disabled London")
}

func TestDescribeCutOff(t *testing.T) {
	cases := []struct {
		statuses []string
		want     string
	}{
		{[]string{"running"}, "1 running transfer will be cut off."},
		{[]string{"running", "running"}, "2 running transfers will be cut off."},
		{[]string{"running", "waiting", "running"}, "3 active transfers (2 running, 1 waiting) will be cut off."},
	}
	for _, c := range cases {
		var ts []model.Transfer
		for _, s := range c.statuses {
			ts = append(ts, model.Transfer{Status: s})
		}
		if got := describeCutOff(ts); got != c.want {
			t.Errorf("describeCutOff(%v) = %q, want %q", c.statuses, got, c.want)
		}
	}
}

func TestToggleBuiltinRefusedWithoutCall(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("a")
	hs.selectCode("accsyn")
	before := hs.m.seq
	hs.press("space")
	if hs.m.seq != before {
		t.Fatalf("a call was made for a built-in site")
	}
	hs.requireScreen("accsyn is a built-in site: it cannot be disabled")
}

func TestToggleRefusalPutsRowBack(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("stockholm")
	c := clientFor(t, srv, emulator.RoleAdmin)
	st, _ := siteByCode(t, c, "stockholm")
	if err := c.DeleteSite(t.Context(), st.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}

	_, cmd := hs.m.Update(keyPress("space"))
	if hs.m.stateOf(st) != model.StateDisabledOffline {
		t.Fatalf("optimistic state %v, want disabled · offline", hs.m.stateOf(st))
	}
	hs.run(cmd)
	if _, pending := hs.m.pending[st.ID]; pending {
		t.Fatalf("pending change kept after the refusal")
	}
	if !strings.Contains(hs.m.status.text, "Could not disable Stockholm") || hs.m.status.kind != statusError {
		t.Fatalf("status %q", hs.m.status.text)
	}
}

func TestMakeMain(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	c := clientFor(t, srv, emulator.RoleAdmin)
	hs.selectCode("hq")
	hs.press("m")
	if hs.m.confirm != nil {
		t.Fatalf("m on the main site asked")
	}
	hs.requireScreen("HQ is already the main site")

	hs.selectCode("london")
	hs.press("m")
	hs.requireScreen("Make London the main site?", "HQ stops being the main site.")
	hs.press("n")
	if site, _ := siteByCode(t, c, "london"); site.Main {
		t.Fatalf("n made london main")
	}

	hs.press("m", "y")
	if site, _ := siteByCode(t, c, "london"); !site.Main {
		t.Fatalf("y did not make london main")
	}
	if site, _ := siteByCode(t, c, "hq"); site.Main {
		t.Fatalf("hq is still main")
	}
	hs.requireScreen("London is now the main site")
	if hs.selected() != "london" {
		t.Fatalf("selected %q", hs.selected())
	}
	hq, _ := siteByCode(t, c, "hq")
	if hs.m.sites[hs.m.byID[hq.ID]].Main {
		t.Fatalf("the list still shows hq as main")
	}
}

func TestDeleteRefusalsBeforeAnyCall(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	stockholm, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "stockholm")
	if _, err := srv.Emulator.AddTransfer(model.Transfer{Name: "push", Source: "site:" + string(stockholm.ID),
		Destination: "site:" + string(stockholm.ID), Status: model.TransferWaiting}); err != nil {
		t.Fatalf("add transfer: %v", err)
	}
	hs.press("r")

	cases := []struct {
		code string
		want string
	}{
		{"hq", "HQ is the main site: make another site main (m) before deleting it"},
		{"london", "London has 1 server assigned: move it to another site first"},
		{"stockholm", "Stockholm is involved in 1 active transfer: wait for it to finish or abort it first"},
		{"accsyn", "accsyn is a built-in site: it cannot be deleted"},
	}
	hs.press("a")
	for _, c := range cases {
		hs.selectCode(c.code)
		before := hs.m.seq
		hs.press("d")
		if hs.m.confirm != nil {
			t.Fatalf("d on %s asked instead of refusing", c.code)
		}
		if hs.m.seq != before {
			t.Fatalf("d on %s made a call", c.code)
		}
		if hs.m.status.text != c.want || hs.m.status.kind != statusError {
			t.Fatalf("d on %s: status %q, want %q", c.code, hs.m.status.text, c.want)
		}
	}
}

func TestDeleteAsksAndEnterNeverDeletes(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	c := clientFor(t, srv, emulator.RoleAdmin)
	hs.selectCode("stockholm")

	for _, cancel := range []string{"enter", "n", "esc"} {
		hs.press("d")
		hs.requireScreen("Delete Stockholm?", "y delete")
		hs.press(cancel)
		if hs.m.confirm != nil {
			t.Fatalf("%s did not close the question", cancel)
		}
		if _, ok := siteByCode(t, c, "stockholm"); !ok {
			t.Fatalf("%s deleted the site", cancel)
		}
	}

	hs.press("d", "y")
	if _, ok := siteByCode(t, c, "stockholm"); ok {
		t.Fatalf("y did not delete stockholm")
	}
	hs.requireScreen("✓ Deleted Stockholm", "Sites (5 of 7)")
	if hs.selected() == "stockholm" || hs.selected() == "" {
		t.Fatalf("selected %q after delete", hs.selected())
	}
}

func TestDeleteBackendRefusalShown(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("stockholm")
	stockholm, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "stockholm")
	// A server arrives after the last load, so only the backend can reject.
	if _, err := srv.Emulator.AddServer(model.Server{Code: "sto-site-01", Site: stockholm.ID}); err != nil {
		t.Fatalf("add server: %v", err)
	}
	hs.press("d", "y")
	if hs.m.status.kind != statusError || !strings.Contains(hs.m.status.text, "Could not delete Stockholm") ||
		!strings.Contains(hs.m.status.text, "server") {
		t.Fatalf("status %q", hs.m.status.text)
	}
	hs.requireScreen("✕ Could not delete Stockholm")
}

func TestCopyIDUsesClipboard(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("london")
	id := string(hs.m.list.selectedID)
	_, cmd := hs.m.Update(keyPress("y"))
	if cmd == nil {
		t.Fatalf("y returned no command")
	}
	msg := cmd()
	if got := fmt.Sprint(msg); reflect.TypeOf(msg).String() != "tea.setClipboardMsg" || got != id {
		t.Fatalf("y sent %T %q, want the clipboard message with %q", msg, got, id)
	}
	hs.requireScreen("Copied the id of London to the clipboard: " + id)
}

func TestHelpShowsAllKeys(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("?")
	hs.requireScreen("Keys", "make main", "show built-ins", "copy id", "refresh", "sort", "switch pane", "delete")
	hs.press("n") // other keys do nothing while help is open
	if hs.m.dialog != nil || !hs.m.showHelp {
		t.Fatalf("n acted behind the help")
	}
	hs.press("esc")
	if hs.m.showHelp {
		t.Fatalf("esc did not close the help")
	}
	hs.rejectScreen("switch pane")
}

func TestEmployeeCannotChange(t *testing.T) {
	srv := startEmulator(t, "demo")
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleEmployee), Workspace: "acme"}, 120, 40)
	hs.requireScreen("employee@local [employee]", "Sites (6 of 8)")
	hs.selectCode("stockholm")
	for _, k := range []string{"n", "e", "space", "m", "d"} {
		before := hs.m.seq
		hs.press(k)
		if hs.m.dialog != nil || hs.m.confirm != nil || hs.m.seq != before {
			t.Fatalf("%s acted for an employee", k)
		}
		if hs.m.status.text != "The employee role cannot change sites: ask a workspace admin." {
			t.Fatalf("%s: status %q", k, hs.m.status.text)
		}
	}
	// Reading keys still work.
	hs.press("j", "y")
	hs.press("?")
	hs.requireScreen("new (disabled)", "delete (disabled)", "Change keys are disabled. The employee role cannot change")
}

func TestReadOnlyOptionBlocksAdmin(t *testing.T) {
	srv := startEmulator(t, "demo")
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme",
		ReadOnly: true, ReadOnlyReason: "this SSH server is read-only"}, 120, 40)
	hs.press("n")
	if hs.m.dialog != nil || hs.m.status.text != "This SSH server is read-only." {
		t.Fatalf("read-only n: dialog %v, status %q", hs.m.dialog != nil, hs.m.status.text)
	}
}

func TestStandardRoleShowsBackendMessage(t *testing.T) {
	srv := startEmulator(t, "demo")
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleStandard), Workspace: "acme"}, 120, 40)
	if hs.m.status.kind != statusError || !strings.Contains(hs.m.status.text, "Loading sites failed") ||
		!strings.Contains(hs.m.status.text, "403") {
		t.Fatalf("status %q", hs.m.status.text)
	}
	hs.requireScreen("✕ Loading sites failed", "No sites loaded", "standard@local [standard]")

	// The change keys explain the role instead of calling the backend.
	before := hs.m.seq
	hs.press("n")
	if hs.m.dialog != nil || hs.m.seq != before || hs.m.status.text != "The standard role cannot change sites: ask a workspace admin." {
		t.Fatalf("n for a standard user: dialog %v, status %q", hs.m.dialog != nil, hs.m.status.text)
	}
}

func TestLongErrorUsesTwoLines(t *testing.T) {
	hs, srv := adminHarness(t, 100, 20)
	hs.selectCode("tokyo")
	srv.Close()
	hs.press("r")
	lines := strings.Split(hs.screen(), "\n")
	last, before := lines[len(lines)-1], lines[len(lines)-2]
	if !strings.Contains(before, "✕ Loading sites failed") || strings.TrimSpace(last) == "" {
		t.Fatalf("the error does not take the last two lines:\n%s", hs.screen())
	}
	requireFrameSize(t, hs.m.View().Content, 100, 20)
	if !strings.Contains(hs.screen(), "▸ ○ Tokyo") {
		t.Fatalf("the cursor row is hidden:\n%s", hs.screen())
	}
}

func TestKeyReleaseNeverActs(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	for _, k := range []string{"n", "q", "d", "?", "/"} {
		kp := keyPress(k)
		hs.send(tea.KeyReleaseMsg(kp))
		if hs.quit || hs.m.dialog != nil || hs.m.confirm != nil || hs.m.showHelp || hs.m.filtering {
			t.Fatalf("release of %s acted", k)
		}
	}
	hs.press("/")
	hs.typeText("lo")
	hs.send(tea.KeyReleaseMsg(keyPress("o")))
	if hs.m.filter.Value() != "lo" {
		t.Fatalf("release doubled input: %q", hs.m.filter.Value())
	}
}

func TestPasteGoesToFocusedInputOnly(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.send(tea.PasteMsg{Content: "nqd"})
	if hs.quit || hs.m.dialog != nil || hs.m.confirm != nil {
		t.Fatalf("a paste on the list acted")
	}

	hs.press("/")
	hs.send(tea.PasteMsg{Content: "lond"})
	if hs.m.filter.Value() != "lond" || len(hs.m.list.rows) != 1 {
		t.Fatalf("paste into the filter: value %q rows %d", hs.m.filter.Value(), len(hs.m.list.rows))
	}
	hs.press("esc")

	hs.press("n")
	hs.send(tea.PasteMsg{Content: "Pasted"})
	if hs.m.dialog.values.Name != "Pasted" {
		t.Fatalf("paste into the dialog: name %q", hs.m.dialog.values.Name)
	}
}

func TestActionsFollowSortAndRefresh(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	c := clientFor(t, srv, emulator.RoleAdmin)

	// Sorted by servers, the last row is stockholm (0 servers).
	hs.press("s", "s", "G")
	if hs.selected() != "stockholm" {
		t.Fatalf("last row by servers is %q, want stockholm; rows %v", hs.selected(), hs.shownCodes())
	}

	// A refresh adds rows above the cursor; the action still hits stockholm.
	for _, name := range []string{"A1", "A2", "A3"} {
		if _, err := c.CreateSite(t.Context(), map[string]any{"name": name}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	hs.press("r")
	if hs.selected() != "stockholm" {
		t.Fatalf("after refresh the cursor is on %q", hs.selected())
	}
	hs.press("space")
	if site, _ := siteByCode(t, c, "stockholm"); site.Enabled() {
		t.Fatalf("space did not disable stockholm")
	}
	for _, code := range []string{"a1", "a2", "a3"} {
		if site, _ := siteByCode(t, c, code); !site.Enabled() {
			t.Fatalf("space disabled %s instead", code)
		}
	}
}

func TestMakeMainWarnsForDisabledSite(t *testing.T) {
	hs, srv := adminHarness(t, 80, 24)
	c := clientFor(t, srv, emulator.RoleAdmin)
	hs.selectCode("la") // disabled
	hs.press("m")
	if hs.m.confirm == nil {
		t.Fatalf("m on a disabled site did not ask")
	}
	hs.requireScreen("Make LA the main site?", "LA is disabled: new servers would register at a disabled")

	// The answer defaults to no: enter alone changes nothing.
	before := hs.m.seq
	hs.press("enter")
	if hs.m.confirm != nil || hs.m.seq != before {
		t.Fatalf("enter did not cancel without a call")
	}
	if la, _ := siteByCode(t, c, "la"); la.Main {
		t.Fatalf("enter made la main")
	}

	// The emulator accepts a disabled main site, so y goes through.
	hs.press("m", "y")
	if la, _ := siteByCode(t, c, "la"); !la.Main {
		t.Fatalf("y did not make la main")
	}
	hs.requireScreen("✓ LA is now the main site")
}

func TestMakeMainWarnsForBuiltinSite(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	c := clientFor(t, srv, emulator.RoleAdmin)
	hs.press("a")
	hs.selectCode("accsyn")
	hs.press("m")
	if hs.m.confirm == nil {
		t.Fatalf("m on a built-in site did not ask")
	}
	hs.requireScreen("Make accsyn the main site?", "accsyn is a built-in site: new servers would register")
	want := "accsyn is a built-in site: new servers would register at a built-in site, not at one of your own sites."
	if !reflect.DeepEqual(hs.m.confirm.warnings, []string{want}) {
		t.Fatalf("warnings %q, want %q", hs.m.confirm.warnings, want)
	}
	hs.rejectScreen("accsyn is disabled")
	before := hs.m.seq
	hs.press("n")
	if hs.m.seq != before {
		t.Fatalf("n made a call")
	}
	if site, _ := siteByCode(t, c, "accsyn"); site.Main {
		t.Fatalf("n made accsyn main")
	}

	// An enabled site of the user's own gets no warning.
	hs.selectCode("london")
	hs.press("m")
	if len(hs.m.confirm.warnings) != 0 {
		t.Fatalf("warnings for london: %q", hs.m.confirm.warnings)
	}
}

func TestEmployeeMessageIsCompleteSentence(t *testing.T) {
	srv := startEmulator(t, "demo")
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleEmployee), Workspace: "acme"}, 80, 24)
	hs.press("d")
	hs.requireScreen("✕ The employee role cannot change sites: ask a workspace admin.")
	hs.press("?")
	hs.requireScreen("Change keys are disabled. The employee role cannot change sites: ask a")
	hs.requireScreen("workspace admin.")

	// The read-only reason, given with or without a full stop, reads the
	// same.
	for _, reason := range []string{"this SSH server is read-only", "This SSH server is read-only."} {
		ro := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme",
			ReadOnly: true, ReadOnlyReason: reason}, 80, 24)
		ro.press("n")
		ro.requireScreen("✕ This SSH server is read-only.")
		ro.rejectScreen("read-only..")
		ro.press("?")
		ro.requireScreen("Change keys are disabled. This SSH server is read-only.")
	}
}

func TestMessagesNameSitesAsShown(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	c := clientFor(t, srv, emulator.RoleAdmin)
	hs.press("n")
	hs.typeText("Berlin")
	hs.press("enter", "enter", "enter")
	hs.requireScreen("✓ Created Berlin")

	// Two sites with the same name are told apart by their code.
	if _, err := c.CreateSite(t.Context(), map[string]any{"name": "London", "code": "london2"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	hs.press("r")
	hs.selectCode("london2")
	hs.press("y")
	hs.requireScreen("Copied the id of London (london2)")
	hs.selectCode("berlin")
	hs.press("y")
	hs.requireScreen("Copied the id of Berlin to the clipboard")
}

func TestRefreshKeyGivesFeedback(t *testing.T) {
	srv := startEmulator(t, "demo")
	now := time.Date(2026, 12, 4, 14, 2, 3, 0, time.UTC)
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme",
		Now: func() time.Time { return now }}, 120, 40)
	// The list pane shows when the list was last loaded.
	hs.requireScreen("updated 14:02:03")

	now = now.Add(time.Minute)
	cmd := hs.update(keyPress("r"))
	if !hs.m.spinning {
		t.Fatalf("no spinner while refreshing")
	}
	hs.requireScreen("Refreshing…")
	// r again while the load is in flight joins it instead of loading twice.
	before := hs.m.seq
	hs.press("r")
	if hs.m.seq != before {
		t.Fatalf("a second r started another load")
	}
	hs.run(cmd)
	hs.requireScreen("✓ Refreshed at 14:03:03", "updated 14:03:03")

	// An automatic refresh updates the time but leaves the status line to
	// the user's last action.
	hs.press("s")
	now = now.Add(time.Minute)
	hs.run(hs.m.startLoad())
	hs.requireScreen("Sorted by status", "updated 14:04:03")
	hs.rejectScreen("Refreshed at 14:04:03")

	// A change that ends during the refresh keeps its result on the status
	// line; its reload stands in for the refresh.
	hs.selectCode("tokyo")
	change := hs.update(keyPress("space"))
	refresh := hs.update(keyPress("r"))
	hs.run(change)
	hs.run(refresh)
	hs.requireScreen("✓ Disabled Tokyo")
	if hs.m.manualSeq != 0 || len(hs.m.requests) != 0 {
		t.Fatalf("refresh still awaited: manualSeq %d, requests %v", hs.m.manualSeq, hs.m.requests)
	}
}
