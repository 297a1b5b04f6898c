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

// writerFunc adapts a function to io.Writer.
type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestChangesAndErrorsAreLogged(t *testing.T) {
	srv := startEmulator(t, "demo")
	admin := userOf(t, srv.Emulator, emulator.RoleAdmin)

	// Every log write is checked against the harness: a write while Update
	// runs is I/O inside Update.
	var out lockedBuffer
	var hs *harness
	var writtenInUpdate []string
	logger := log.New(writerFunc(func(p []byte) (int, error) {
		if hs != nil && hs.updating {
			writtenInUpdate = append(writtenInUpdate, string(p))
		}
		return out.Write(p)
	}))
	hs = &harness{t: t, m: New(Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme", Logger: logger})}
	hs.send(windowSize(120, 40))
	hs.run(hs.m.Init())

	hs.selectCode("stockholm")
	id := string(hs.m.list.selectedID)

	hs.press("space") // disable
	hs.press("space") // enable
	hs.press("n")
	hs.typeText("Rome")
	hs.press("enter", "enter", "enter")
	hs.press("n")
	hs.typeText("Paris")
	hs.press("enter")
	hs.typeText("london") // the backend rejects a second site coded london
	hs.press("enter", "enter")
	hs.requireScreen("New site")
	hs.press("esc")
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
		"site change failed op=create code=london",
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
	if len(writtenInUpdate) > 0 {
		t.Fatalf("Update wrote %d log entries itself, first: %s", len(writtenInUpdate), writtenInUpdate[0])
	}
}
