package ui

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	"charm.land/log/v2"

	"accsyn-sites/client"
	"accsyn-sites/emulator"
	"accsyn-sites/model"
)

// switchableServer serves an emulator on a fixed loopback port that can be
// stopped (connections refused) and started again, like a backend that
// goes down and comes back.
type switchableServer struct {
	t    *testing.T
	emu  *emulator.Emulator
	addr string
	srv  *http.Server
}

func newSwitchableServer(t *testing.T) *switchableServer {
	t.Helper()
	emu, err := emulator.Open(emulator.Options{Memory: true, Seed: "demo"})
	if err != nil {
		t.Fatalf("open emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	s := &switchableServer{t: t, emu: emu, addr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *switchableServer) start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err = net.Listen("tcp", s.addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	s.srv = &http.Server{Handler: s.emu.Handler()}
	go s.srv.Serve(ln)
}

func (s *switchableServer) stop() {
	if s.srv != nil {
		s.srv.Close()
		s.srv = nil
	}
}

func TestDeadBackendRecovers(t *testing.T) {
	s := newSwitchableServer(t)
	host, portText, _ := net.SplitHostPort(s.addr)
	port := 0
	for _, r := range portText {
		port = port*10 + int(r-'0')
	}
	admin := userOf(t, s.emu, emulator.RoleAdmin)
	hs := newHarness(t, Options{Backend: clientAt(t, s.emu, admin, host, port), Workspace: "acme", Refresh: time.Second}, 120, 40)
	hs.requireScreen("● connected", "Sites (6 of 8)")
	hs.selectCode("london")

	s.stop()
	hs.press("r")
	hs.requireScreen("✕ error", "✕ Loading sites failed")
	if hs.m.loggedIn {
		t.Fatalf("an unreachable backend should force a new login")
	}
	// The UI stays usable on the data it has.
	hs.press("j", "k", "?", "esc", "/", "esc")
	// A failed load describes the connection: new actions do not clear it.
	hs.requireScreen("Sites (6 of 8)", "✕ Loading sites failed")
	if hs.selected() != "london" {
		t.Fatalf("selected %q", hs.selected())
	}

	// The next automatic refresh finds the backend back, logs in again and
	// clears the error.
	s.start()
	hs.send(refreshTickMsg{gen: hs.m.refreshGen})
	hs.requireScreen("● connected", "✓ Connected again")
	if !hs.m.loggedIn || hs.m.conn != connConnected {
		t.Fatalf("not recovered: loggedIn=%v conn=%v", hs.m.loggedIn, hs.m.conn)
	}
}

// stallingHandler holds every request until released or until the client
// gives up.
type stallingHandler struct {
	next    http.Handler
	mu      sync.Mutex
	stalled bool
	release chan struct{}
}

func (h *stallingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	stalled, release := h.stalled, h.release
	h.mu.Unlock()
	if stalled {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
	}
	h.next.ServeHTTP(w, r)
}

func (h *stallingHandler) stall() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stalled, h.release = true, make(chan struct{})
}

func (h *stallingHandler) unstall() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stalled {
		close(h.release)
	}
	h.stalled = false
}

func TestSlowBackendShowsSpinnerThenTimeout(t *testing.T) {
	emu, err := emulator.Open(emulator.Options{Memory: true, Seed: "demo"})
	if err != nil {
		t.Fatalf("open emulator: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	h := &stallingHandler{next: emu.Handler()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { h.unstall(); srv.Close() })
	addr := ln.Addr().(*net.TCPAddr)

	admin := userOf(t, emu, emulator.RoleAdmin)
	hs := newHarness(t, Options{Backend: clientAt(t, emu, admin, "127.0.0.1", addr.Port), Workspace: "acme",
		CallTimeout: 300 * time.Millisecond}, 120, 40)
	hs.requireScreen("Sites (6 of 8)")

	h.stall()
	_, cmd := hs.m.Update(keyPress("r"))
	// While the call is in flight the footer shows the spinner.
	hs.requireScreen("Refreshing…")
	if !hs.m.spinning {
		t.Fatalf("spinner not started")
	}
	hs.run(cmd)
	if !strings.Contains(hs.m.status.text, "Loading sites failed") || hs.m.conn != connFailed {
		t.Fatalf("after the timeout: status %q conn %v", hs.m.status.text, hs.m.conn)
	}
	hs.requireScreen("✕ Loading sites failed", "Sites (6 of 8)")

	// With nothing in flight the next spinner frame stops the loop.
	_, next := hs.m.Update(spinner.TickMsg{ID: hs.m.spinner.ID()})
	if next != nil || hs.m.spinning {
		t.Fatalf("spinner keeps ticking while idle")
	}

	h.unstall()
	hs.press("r")
	hs.requireScreen("● connected")
}

func TestCallTimeoutDefault(t *testing.T) {
	if got := New(Options{}).callTimeout; got != defaultCallTimeout {
		t.Fatalf("CallTimeout 0 gave %v, want %v", got, defaultCallTimeout)
	}
	if got := New(Options{CallTimeout: 42 * time.Second}).callTimeout; got != 42*time.Second {
		t.Fatalf("CallTimeout 42s gave %v", got)
	}
}

// TestCallTimeoutBoundsEveryCall gives every call a deadline that has
// passed before the call starts: each call must fail with the client's
// timeout error, although the backend is up and fast.
func TestCallTimeoutBoundsEveryCall(t *testing.T) {
	srv := startEmulator(t, "demo")
	admin := clientFor(t, srv, emulator.RoleAdmin)
	hs := newHarness(t, Options{Backend: admin, Workspace: "acme", CallTimeout: time.Nanosecond}, 120, 40)

	// The load: log in first.
	if hs.m.loaded || hs.m.conn != connFailed {
		t.Fatalf("the load did not fail: loaded=%v conn=%v", hs.m.loaded, hs.m.conn)
	}
	hs.requireScreen("Loading sites failed", "timed out")

	// The changes: the list arrives as a load result built from the
	// emulator's real data, since no load can finish in a nanosecond.
	sites, err := admin.FindSites(t.Context(), client.FindOptions{})
	if err != nil {
		t.Fatalf("find sites: %v", err)
	}
	identity, err := admin.Login(t.Context())
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	hs.send(sitesLoadedMsg{seq: hs.m.loadSeq, identity: identity, loggedIn: true, sites: sites})
	hs.selectCode("stockholm")
	before, _ := hs.m.selectedSite()

	for _, c := range []struct {
		keys []string
		want string
	}{
		{[]string{"space"}, "Could not disable Stockholm"},
		{[]string{"m", "y"}, "Could not make main Stockholm"},
		{[]string{"d", "y"}, "Could not delete Stockholm"},
	} {
		hs.press(c.keys...)
		if hs.m.status.kind != statusError || !strings.Contains(hs.m.status.text, c.want) ||
			!strings.Contains(hs.m.status.text, "timed out") {
			t.Fatalf("%v: status %q, want %q and a timeout", c.keys, hs.m.status.text, c.want)
		}
	}

	hs.press("e", "enter")
	hs.typeText(" changed")
	hs.press("enter", "enter")
	if hs.m.dialog == nil || !strings.Contains(hs.m.dialog.backendErr, "timed out") {
		t.Fatalf("edit: the dialog does not show the timeout")
	}
	hs.press("esc", "n")
	hs.typeText("Rome")
	hs.press("enter", "enter", "enter")
	if hs.m.dialog == nil || !strings.Contains(hs.m.dialog.backendErr, "timed out") {
		t.Fatalf("create: the dialog does not show the timeout")
	}

	// Nothing reached the emulator.
	stockholm, ok := siteByCode(t, admin, "stockholm")
	if !ok || stockholm.Status != before.Status || stockholm.Main || stockholm.Description != before.Description {
		t.Fatalf("stockholm changed: found=%v %+v", ok, stockholm)
	}
	if _, ok := siteByCode(t, admin, "rome"); ok {
		t.Fatalf("rome was created")
	}
}

func TestLateLoadCannotOverwriteNewer(t *testing.T) {
	hs, srv := adminHarness(t, 120, 40)
	first := hs.m.startLoad()
	if _, err := clientFor(t, srv, emulator.RoleAdmin).CreateSite(t.Context(), map[string]any{"name": "Newer"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	second := hs.m.startLoad()

	hs.run(second)
	hs.run(first) // the older result arrives last
	if !hasCode(hs.shownCodes(), "newer") {
		t.Fatalf("the older load overwrote the newer one: %v", hs.shownCodes())
	}
	if len(hs.m.requests) != 0 {
		t.Fatalf("requests left in flight: %v", hs.m.requests)
	}
}

func TestLateSaveCannotClearNewerPending(t *testing.T) {
	hs, _ := adminHarness(t, 120, 40)
	hs.selectCode("stockholm")
	site, _ := hs.m.selectedSite()
	// A result for an older request of the same site must not clear the
	// pending change of the newer one.
	hs.m.pending[site.ID] = pendingChange{seq: 99, op: opDisable, status: model.StatusDisabled}
	hs.m.siteSeq[site.ID] = 99
	old := site
	old.Description = "from the older request"
	_, cmd := hs.m.Update(siteSavedMsg{seq: 98, op: opEdit, id: site.ID, site: old})
	if _, ok := hs.m.pending[site.ID]; !ok {
		t.Fatalf("an older result cleared the newer pending change")
	}
	if got := hs.m.sites[hs.m.byID[site.ID]].Description; got == old.Description {
		t.Fatalf("an older result replaced the site: description %q", got)
	}
	if cmd == nil {
		t.Fatalf("no reload after the older result")
	}
}

func hasCode(codes []string, code string) bool {
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}

func TestRefreshTimerOnlyWhenAsked(t *testing.T) {
	off := New(Options{})
	if cmd := off.scheduleRefresh(); cmd != nil {
		t.Fatalf("Refresh 0 armed a timer")
	}

	hs, _ := adminHarness(t, 120, 40)
	hs.m.opts.Refresh = time.Hour
	hs.m.scheduleRefresh()
	stale := hs.m.refreshGen - 1
	if _, cmd := hs.m.Update(refreshTickMsg{gen: stale}); cmd != nil {
		t.Fatalf("a stale timer started work")
	}
	_, cmd := hs.m.Update(refreshTickMsg{gen: hs.m.refreshGen})
	if cmd == nil || !hs.m.loading {
		t.Fatalf("the live timer did not start a load")
	}
}

// findCounter counts the site/find calls an emulator serves, from its
// request log. The emulator logs a request before its handler returns, and
// so before the client has read the whole answer: once a call returned, its
// line is in the log.
type findCounter struct{ log lockedBuffer }

func (f *findCounter) count() int { return strings.Count(f.log.String(), "uri=site/find") }

func TestOneRefreshPerChange(t *testing.T) {
	var finds findCounter
	srv, err := emulator.Start(emulator.Options{Memory: true, Seed: "demo", Logger: log.New(&finds.log)}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	hs := newHarness(t, Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme", Refresh: time.Minute}, 120, 40)
	hs.selectCode("stockholm")

	for _, keys := range [][]string{{"space"}, {"space"}, {"m", "y"}, {"e", "tab", "x", "enter", "enter"}} {
		armed := hs.m.refreshGen // the automatic refresh due before the change
		before := finds.count()
		hs.press(keys...)
		if got := finds.count() - before; got != 1 {
			t.Fatalf("%v: %d site loads, want 1", keys, got)
		}
		// The refresh that was due is replaced by one a full period after
		// the change's reload.
		if cmd := hs.update(refreshTickMsg{gen: armed}); cmd != nil {
			t.Fatalf("%v: the refresh armed before the change still loads", keys)
		}
	}

	// A refresh due while a change is in flight waits for the change's
	// reload instead of loading too.
	hs.selectCode("tokyo")
	before := finds.count()
	cmd := hs.update(keyPress("space"))
	if _, pending := hs.m.pending[hs.m.list.selectedID]; !pending {
		t.Fatalf("space did not start disabling tokyo")
	}
	hs.run(hs.update(refreshTickMsg{gen: hs.m.refreshGen}))
	hs.run(cmd)
	if got := finds.count() - before; got != 1 {
		t.Fatalf("a refresh during a change: %d site loads, want 1", got)
	}
	if hs.m.loading || len(hs.m.requests) != 0 {
		t.Fatalf("calls left in flight: %v", hs.m.requests)
	}
}
