package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"accsyn-sites/emulator"
	"accsyn-sites/model"
)

func TestCreateSiteSelectsIt(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.press("n")
	if hs.m.dialog == nil {
		t.Fatalf("n did not open the create dialog")
	}
	hs.requireScreen("New site", "Name", "Code (optional)", "Description")

	hs.typeText("Paris")
	hs.requireScreen("the code will be paris")
	hs.press("tab") // to the code, left empty
	hs.press("tab") // to the description
	hs.typeText("Paris office")
	hs.press("enter")

	if hs.m.dialog != nil {
		t.Fatalf("dialog still open after a successful create; error %q", hs.m.dialog.backendErr)
	}
	site, ok := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "paris")
	if !ok || site.Name != "Paris" || site.Description != "Paris office" {
		t.Fatalf("emulator has %+v (found %v)", site, ok)
	}
	if hs.selected() != "paris" {
		t.Fatalf("selected %q after create, want paris", hs.selected())
	}
	hs.requireScreen("✓ Created Paris", "Sites (7 of 9)")
}

func TestCreateWithCode(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.press("n")
	hs.typeText("Oslo")
	hs.press("tab")
	hs.typeText("osl")
	hs.requireScreen("the site's identifier")
	hs.press("enter", "enter")
	if _, ok := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "osl"); !ok {
		t.Fatalf("site with code osl not created; dialog %+v", hs.m.dialog)
	}
	if hs.selected() != "osl" {
		t.Fatalf("selected %q, want osl", hs.selected())
	}
}

func TestCreateRefusedKeepsDialog(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("n")
	hs.typeText("London2")
	hs.press("tab")
	hs.typeText("london") // clashes with the existing site
	hs.press("tab")
	hs.typeText("kept text")
	hs.press("enter")

	d := hs.m.dialog
	if d == nil {
		t.Fatalf("dialog closed although the backend refused the code")
	}
	if d.saving {
		t.Fatalf("dialog still saving after the answer")
	}
	if !strings.Contains(d.backendErr, "london") {
		t.Fatalf("backend message %q does not name the code", d.backendErr)
	}
	if d.values.Name != "London2" || d.values.Code != "london" || d.values.Description != "kept text" {
		t.Fatalf("input lost: %+v", *d.values)
	}
	hs.requireScreen("London2", "kept text", "✕ ")

	// Fixing the code and saving again works from the same dialog.
	hs.press("tab") // name -> code after the rebuild focuses the first field
	for range "london" {
		hs.press("backspace")
	}
	hs.typeText("london2")
	hs.press("enter", "enter")
	if hs.m.dialog != nil {
		t.Fatalf("second submit did not close the dialog: %q", hs.m.dialog.backendErr)
	}
	if hs.selected() != "london2" {
		t.Fatalf("selected %q, want london2", hs.selected())
	}
}

func TestCreateLiveValidation(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("n")
	hs.typeText("bad name")
	if !strings.Contains(hs.m.dialog.liveErr, `' '`) || !strings.Contains(hs.m.dialog.liveErr, "position 4") {
		t.Fatalf("live error %q does not name the space at position 4", hs.m.dialog.liveErr)
	}
	hs.requireScreen("position 4")

	// enter does not submit an invalid name.
	hs.press("enter")
	if hs.m.dialog == nil || hs.m.dialog.saving || hs.m.dialog.seq != 0 {
		t.Fatalf("an invalid name was submitted")
	}

	hs.press("backspace", "backspace", "backspace", "backspace", "backspace")
	hs.typeText("_ok")
	if hs.m.dialog.liveErr != "" {
		t.Fatalf("valid name still has live error %q", hs.m.dialog.liveErr)
	}
	hs.press("tab")
	hs.typeText("Upper")
	if !strings.Contains(hs.m.dialog.liveErr, "lower case") {
		t.Fatalf("upper-case code error %q", hs.m.dialog.liveErr)
	}
}

func TestCreateEscCancels(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.press("n")
	hs.typeText("Nope")
	hs.press("esc")
	if hs.m.dialog != nil {
		t.Fatalf("esc did not close the dialog")
	}
	if _, ok := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "nope"); ok {
		t.Fatalf("esc created the site")
	}
	// esc with no dialog and no filter does not quit.
	hs.press("esc")
	if hs.quit {
		t.Fatalf("esc quit the program")
	}
}

func TestCreateDialogTakesTypedKeys(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("n")
	hs.typeText("q")
	hs.send(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
	hs.typeText("dnmy?")
	if hs.quit || hs.m.confirm != nil || hs.m.showHelp {
		t.Fatalf("keys typed into the dialog acted")
	}
	if hs.m.dialog.values.Name != "q dnmy?" {
		t.Fatalf("name %q, want %q", hs.m.dialog.values.Name, "q dnmy?")
	}
}

func TestEditSite(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("stockholm")
	hs.press("e")
	d := hs.m.dialog
	if d == nil {
		t.Fatalf("e did not open the edit dialog")
	}
	if d.values.Name != "Stockholm" || d.values.Metadata != "region = eu-north" {
		t.Fatalf("edit dialog starts with %+v", *d.values)
	}
	hs.requireScreen("Edit Stockholm", "Metadata")

	hs.typeText("2") // name Stockholm2
	hs.press("tab")
	hs.typeText(" and more")
	hs.press("tab")
	hs.send(keyPress("ctrl+j"))
	hs.typeText("count = 3")
	hs.press("enter")

	if hs.m.dialog != nil {
		t.Fatalf("dialog still open: live %q backend %q", hs.m.dialog.liveErr, hs.m.dialog.backendErr)
	}
	site, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "stockholm")
	if site.Name != "Stockholm2" || !strings.HasSuffix(site.Description, " and more") {
		t.Fatalf("emulator has name %q description %q", site.Name, site.Description)
	}
	if site.Metadata["count"] != float64(3) || site.Metadata["region"] != "eu-north" {
		t.Fatalf("metadata %v", site.Metadata)
	}
	if hs.selected() != "stockholm" {
		t.Fatalf("selected %q after edit", hs.selected())
	}
	hs.requireScreen("✓ Saved Stockholm", "count = 3")
}

func TestEditMetadataBadLine(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("tokyo")
	hs.press("e", "tab", "tab")
	hs.send(keyPress("ctrl+j"))
	hs.typeText("oops")
	if !strings.Contains(hs.m.dialog.liveErr, "line 2") {
		t.Fatalf("live error %q does not name line 2", hs.m.dialog.liveErr)
	}
	hs.press("enter")
	if hs.m.dialog == nil || hs.m.dialog.seq != 0 {
		t.Fatalf("bad metadata was submitted")
	}
}

func TestEditNoChanges(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("tokyo")
	hs.press("e", "enter", "enter", "enter")
	if hs.m.dialog != nil {
		t.Fatalf("dialog still open")
	}
	hs.requireScreen("No changes to Tokyo")
}

func TestEditBuiltinCannotRename(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.press("a")
	hs.selectCode("roaming")
	hs.press("e")
	hs.requireScreen("Edit roaming (built-in: the name cannot be changed)")
	hs.typeText("!") // goes into the description, the first field
	hs.press("enter", "enter")
	site, _ := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "roaming")
	if site.Name != "roaming" || !strings.HasSuffix(site.Description, "!") {
		t.Fatalf("built-in after edit: name %q description %q", site.Name, site.Description)
	}
}

func TestEditRefusedKeepsDialog(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("stockholm")
	hs.press("e")

	// Another admin deletes the site meanwhile, so the backend refuses.
	c := clientFor(t, srv, emulator.RoleAdmin)
	st, _ := siteByCode(t, c, "stockholm")
	if err := c.DeleteSite(t.Context(), st.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}
	hs.typeText("X")
	hs.press("enter", "enter", "enter")
	if hs.m.dialog == nil {
		t.Fatalf("dialog closed although the backend refused")
	}
	if hs.m.dialog.backendErr == "" || hs.m.dialog.values.Name != "StockholmX" {
		t.Fatalf("backend error %q, name %q", hs.m.dialog.backendErr, hs.m.dialog.values.Name)
	}
	hs.requireScreen("StockholmX")
}

func TestCreateClearsHidingFilter(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("/")
	hs.typeText("tokyo")
	hs.press("enter", "n")
	hs.typeText("Zurich")
	hs.press("enter", "enter", "enter")
	if hs.m.dialog != nil {
		t.Fatalf("dialog still open: %q", hs.m.dialog.backendErr)
	}
	if hs.m.list.query != "" {
		t.Fatalf("the filter %q still hides the new site", hs.m.list.query)
	}
	if hs.selected() != "zurich" {
		t.Fatalf("selected %q, want zurich", hs.selected())
	}
}

// burst delivers keys one after the other without running the commands
// they return in between, as Bubble Tea does with keys read in one go, then
// runs all the commands in order.
func (hs *harness) burst(keys ...tea.KeyPressMsg) {
	hs.t.Helper()
	var cmds []tea.Cmd
	for _, k := range keys {
		cmds = append(cmds, hs.update(k))
	}
	for _, c := range cmds {
		hs.run(c)
	}
}

// typed returns the key presses of text, one per character.
func typed(text string) []tea.KeyPressMsg {
	var keys []tea.KeyPressMsg
	for _, r := range text {
		keys = append(keys, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return keys
}

func TestDialogKeysAfterEnterReachNextField(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.press("n")
	hs.typeText("Oslo")

	// Enter and the code arrive before any command runs.
	hs.burst(append([]tea.KeyPressMsg{keyPress("enter")}, typed("oslo2")...)...)
	if v := hs.m.dialog.values; v.Name != "Oslo" || v.Code != "oslo2" {
		t.Fatalf("after enter+oslo2: name %q, code %q", v.Name, v.Code)
	}

	// Shift+tab goes back before the next key too, and tab forward again.
	hs.burst(append([]tea.KeyPressMsg{keyPress("shift+tab")}, typed("x")...)...)
	if v := hs.m.dialog.values; v.Name != "Oslox" || v.Code != "oslo2" {
		t.Fatalf("after shift+tab+x: name %q, code %q", v.Name, v.Code)
	}
	hs.burst(append([]tea.KeyPressMsg{keyPress("tab"), keyPress("tab")}, typed("Fjord")...)...)
	if v := hs.m.dialog.values; v.Code != "oslo2" || v.Description != "Fjord" {
		t.Fatalf("after tab+tab+Fjord: code %q, description %q", v.Code, v.Description)
	}

	hs.press("enter")
	site, ok := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "oslo2")
	if !ok || site.Name != "Oslox" || site.Description != "Fjord" {
		t.Fatalf("emulator has %+v (found %v)", site, ok)
	}
}

func TestEditDialogKeysAfterEnterReachNextField(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	hs.selectCode("tokyo")
	hs.press("e")

	// From the name through the description into the metadata, and a new
	// metadata line, in one go.
	keys := []tea.KeyPressMsg{keyPress("enter"), keyPress("enter"), keyPress("ctrl+j")}
	hs.burst(append(keys, typed("floor = 3")...)...)
	v := hs.m.dialog.values
	if v.Name != "Tokyo" || strings.Contains(v.Description, "floor") || !strings.HasSuffix(v.Metadata, "\nfloor = 3") {
		t.Fatalf("name %q, description %q, metadata %q", v.Name, v.Description, v.Metadata)
	}

	hs.press("enter")
	site, ok := siteByCode(t, clientFor(t, srv, emulator.RoleAdmin), "tokyo")
	if !ok || site.Name != "Tokyo" || site.Description != "Tokyo office" {
		t.Fatalf("emulator has %+v (found %v)", site, ok)
	}
	if got := model.FormatMetadata(site.Metadata); got != "floor = 3\nregion = ap-northeast\n" {
		t.Fatalf("metadata saved as %q", got)
	}
}

// countIn returns how often text occurs in the current screen.
func (hs *harness) countIn(text string) int {
	return strings.Count(hs.screen(), text)
}

func TestCreateErrorShownOnce(t *testing.T) {
	hs, _ := adminHarness(t, 80, 24)
	hs.press("n")
	hs.typeText("Paris Office")
	msg := `site name "Paris Office" has ' ' at position 6`
	if n := hs.countIn(msg); n != 1 {
		t.Fatalf("while typing the error shows %d times, want once:\n%s", n, hs.screen())
	}
	before := strings.Count(hs.m.dialogBox(), "\n")

	// enter makes the form check the field too; the message still shows
	// once, with no second line, and the dialog keeps its height.
	hs.press("enter")
	if n := hs.countIn(msg); n != 1 {
		t.Fatalf("after enter the error shows %d times, want once:\n%s", n, hs.screen())
	}
	if after := strings.Count(hs.m.dialogBox(), "\n"); after != before {
		t.Fatalf("the dialog grew from %d to %d lines after enter:\n%s", before+1, after+1, hs.screen())
	}
	hs.rejectScreen("* site name")

	// An empty name is not an error while typing, but enter says why it
	// does not go on, once.
	for range "Paris Office" {
		hs.press("backspace")
	}
	hs.rejectScreen("required")
	hs.press("enter")
	if n := hs.countIn("site name is required"); n != 1 {
		t.Fatalf("the required-name error shows %d times, want once:\n%s", n, hs.screen())
	}
	if hs.m.dialog == nil || hs.m.dialog.saving {
		t.Fatalf("enter on an empty name submitted")
	}
}

func TestCodePreviewOnlyForValidName(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("n")
	hs.requireScreen("empty: made from the name")
	hs.typeText("Paris Office")
	hs.rejectScreen("will be paris office", "will be paris")
	hs.requireScreen("empty: made from the name once the name is valid")
	for range " Office" {
		hs.press("backspace")
	}
	hs.requireScreen("empty: the code will be paris")

	for _, c := range []struct{ name, want string }{
		{"", "empty: made from the name"},
		{"Paris", "empty: the code will be paris"},
		{"Paris Office", "empty: made from the name once the name is valid"},
		{"\x1b[2J", "empty: made from the name once the name is valid"},
		{strings.Repeat("a", 33), "empty: made from the name once the name is valid"},
	} {
		if got := codeHint(c.name, ""); got != c.want {
			t.Errorf("codeHint(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestOpeningDialogClearsOldResult(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("stockholm")
	hs.press("e")
	hs.press("tab")
	hs.typeText(" now")
	hs.press("enter", "enter")
	hs.requireScreen("✓ Saved Stockholm")

	// A later edit that is cancelled does not leave the old result on
	// screen, neither under the dialog nor after it.
	hs.press("e")
	hs.rejectScreen("Saved Stockholm")
	hs.press("esc")
	hs.rejectScreen("Saved Stockholm")
	hs.requireScreen("Cancelled: nothing was changed")

	// A refusal does not stay under the next dialog.
	hs.selectCode("hq")
	hs.press("d")
	hs.requireScreen("✕ HQ is the main site")
	hs.press("n")
	hs.rejectScreen("HQ is the main site")
	hs.press("esc")

	hs.press("d")
	hs.press("?")
	hs.rejectScreen("HQ is the main site")
}

func TestLongPastedNameKeptWhole(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.press("n")
	long := strings.Repeat("a", 100)
	hs.send(tea.PasteMsg{Content: long})
	hs.requireScreen("is 100 characters")
}
