package ui

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"charm.land/log/v2"

	"accsyn-sites/emulator"
)

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestChangesAndErrorsAreLogged(t *testing.T) {
	srv := startEmulator(t, "demo")
	var out lockedBuffer
	admin := userOf(t, srv.Emulator, emulator.RoleAdmin)
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme",
		Logger: log.New(&out)}, 120, 40)
	hs.selectCode("stockholm")
	id := string(hs.m.list.selectedID)

	hs.press("space") // disable
	hs.press("space") // enable
	hs.press("n")
	hs.typeText("Rome")
	hs.press("enter", "enter", "enter")
	hs.selectCode("tokyo")
	tokyo := string(hs.m.list.selectedID)
	hs.press("e")
	hs.typeText("2")
	hs.press("enter", "enter", "enter")
	hs.press("m", "y")
	hs.selectCode("london")
	hs.press("d") // refused before any call: not logged as a change

	hs.selectCode("stockholm")
	hs.press("d", "y")

	logged := out.String()
	for _, want := range []string{
		"site disabled code=stockholm id=" + id,
		"site enabled code=stockholm id=" + id,
		"site created code=rome",
		"site edited code=tokyo id=" + tokyo,
		"site made main code=tokyo id=" + tokyo,
		"site deleted code=stockholm id=" + id,
	} {
		if !strings.Contains(logged, want) {
			t.Fatalf("log lacks %q:\n%s", want, logged)
		}
	}
	if strings.Contains(logged, admin.APIKey) {
		t.Fatalf("the log contains the API key")
	}

	srv.Close()
	hs.press("r")
	if !strings.Contains(out.String(), "loading sites failed") {
		t.Fatalf("a failed load is not logged:\n%s", out.String())
	}
}
