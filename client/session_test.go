package client

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sessionServer issues numbered sessions and accepts only the newest one,
// like a backend whose sessions expire.
type sessionServer struct {
	*wireServer
	current atomic.Int64
}

func newSessionServer(t *testing.T) *sessionServer {
	ss := &sessionServer{wireServer: newWireServer(t)}
	ss.setLogin(func(w http.ResponseWriter, r *http.Request) {
		n := ss.current.Add(1)
		writeJSON(w, 200, map[string]any{"result": map[string]any{"id": "u1", "role": "admin", "session_id": fmt.Sprintf("s%d", n)}})
	})
	ss.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		if ev["session"] != fmt.Sprintf("s%d", ss.current.Load()) {
			writeJSON(w, 401, map[string]any{"message": "Session expired, please log in again"})
			return
		}
		writeJSON(w, 200, map[string]any{"result": []any{}})
	})
	return ss
}

// expire makes the session the client holds invalid, as a backend restart
// or a timeout would.
func (ss *sessionServer) expire() { ss.current.Add(1) }

func TestExpiredSessionLogsInAgain(t *testing.T) {
	ss := newSessionServer(t)
	c := ss.client()
	ctx := context.Background()

	if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	ss.expire()
	if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
		t.Fatalf("call after expiry: %v", err)
	}
	if n := ss.countPath(loginPath); n != 2 {
		t.Errorf("logins = %d, want 2 (the first and one after expiry)", n)
	}
	events := ss.events()
	if len(events) != 3 {
		t.Fatalf("events = %d, want 3 (ok, rejected, retried)", len(events))
	}
	if events[1].Event["eid"] == events[2].Event["eid"] {
		t.Errorf("the retry reused the eid of the rejected call")
	}
	if events[2].Event["session"] != "s3" {
		t.Errorf("retry used session %v, want the new session s3", events[2].Event["session"])
	}
}

func TestRejectedRetryIsNotRepeated(t *testing.T) {
	ws := newWireServer(t)
	ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		writeJSON(w, 401, map[string]any{"message": "Session expired"})
	})
	c := ws.client()
	_, err := c.FindSites(context.Background(), FindOptions{})
	e := asError(t, err)
	if e.Kind != KindAuth || e.Op != "site/find" {
		t.Errorf("got kind %v op %q, want auth on site/find", e.Kind, e.Op)
	}
	if n := ws.countPath(loginPath); n != 2 {
		t.Errorf("logins = %d, want 2 (one re-login, then give up)", n)
	}
	if n := len(ws.events()); n != 2 {
		t.Errorf("events = %d, want 2 (the call and one retry)", n)
	}
}

func TestReloginFailureIsReturned(t *testing.T) {
	ss := newSessionServer(t)
	c := ss.client()
	ctx := context.Background()
	if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	ss.expire()
	ss.setLogin(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"message": "API key revoked"})
	})
	_, err := c.FindSites(ctx, FindOptions{})
	e := asError(t, err)
	if e.Kind != KindAuth || e.Op != "login" {
		t.Errorf("got kind %v op %q, want auth on login", e.Kind, e.Op)
	}
}

func TestConcurrentCallsShareOneLogin(t *testing.T) {
	ws := newWireServer(t)
	gate := make(chan struct{})
	ws.setLogin(func(w http.ResponseWriter, r *http.Request) {
		<-gate // hold the login until every caller is waiting for it
		writeJSON(w, 200, map[string]any{"result": map[string]any{"id": "u1", "role": "admin", "session_id": testSession}})
	})
	c := ws.client()

	const callers = 12
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := c.FindSites(context.Background(), FindOptions{})
			errs <- err
		})
	}
	waitFor(t, "the first login request", func() bool { return ws.countPath(loginPath) >= 1 })
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call: %v", err)
		}
	}
	if n := ws.countPath(loginPath); n != 1 {
		t.Errorf("logins = %d for %d concurrent first calls, want 1", n, callers)
	}
	if n := len(ws.events()); n != callers {
		t.Errorf("events = %d, want %d", n, callers)
	}
}

func TestConcurrentExpiryLogsInOnce(t *testing.T) {
	ss := newSessionServer(t)
	c := ss.client()
	ctx := context.Background()
	if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	ss.expire()

	const callers = 8
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
				t.Errorf("call after expiry: %v", err)
			}
		})
	}
	wg.Wait()
	// Callers rejected with the old session share the re-login. A caller
	// that is rejected only after the new session is in place uses it
	// without logging in, so exactly one extra login happens.
	if n := ss.countPath(loginPath); n != 2 {
		t.Errorf("logins = %d, want 2", n)
	}
}

func TestAbandonedLoginDoesNotFailWaiters(t *testing.T) {
	ws := newWireServer(t)
	var logins atomic.Int64
	firstStarted := make(chan struct{})
	ws.setLogin(func(w http.ResponseWriter, r *http.Request) {
		if logins.Add(1) == 1 {
			close(firstStarted)
			<-r.Context().Done() // the first caller gives up while waiting
			return
		}
		writeJSON(w, 200, map[string]any{"result": map[string]any{"id": "u1", "role": "admin", "session_id": testSession}})
	})
	c := ws.client()

	firstCtx, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() {
		_, err := c.FindSites(firstCtx, FindOptions{})
		firstDone <- err
	}()
	<-firstStarted
	secondDone := make(chan error, 1)
	go func() {
		_, err := c.FindSites(context.Background(), FindOptions{})
		secondDone <- err
	}()
	// Give the second caller time to start waiting on the first login. The
	// client shows no sign of a waiter, so this is a pause, not a check:
	// if the second caller arrives late it starts its own login and the
	// test still passes, without covering the waiter path that run.
	time.Sleep(100 * time.Millisecond)
	cancelFirst()

	if err := <-firstDone; KindOf(err) != KindUnknown {
		t.Errorf("cancelled caller: %v, want a cancellation", err)
	}
	select {
	case err := <-secondDone:
		if err != nil {
			t.Errorf("second caller failed with the first caller's cancellation: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("second caller did not finish")
	}
}

// waitFor polls cond until it holds, failing after a generous deadline so
// that a loaded machine does not cause false failures.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
