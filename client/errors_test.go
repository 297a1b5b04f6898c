package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// closedPort returns a loopback port that nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestClosedPortIsUnreachable(t *testing.T) {
	port := closedPort(t)
	cfg := configFor(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	c := mustNew(t, cfg)

	_, err := c.FindSites(context.Background(), FindOptions{})
	e := asError(t, err)
	if e.Kind != KindUnreachable {
		t.Errorf("kind = %v, want unreachable; error: %v", e.Kind, e)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	msg := e.Error()
	for _, want := range []string{"cannot reach " + addr, "refused", "check the host and port"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if KindOf(err) != KindUnreachable {
		t.Errorf("KindOf = %v, want unreachable", KindOf(err))
	}
}

func TestStalledHandlerTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	cfg := configFor(t, srv.URL)
	cfg.ResponseTimeout = 200 * time.Millisecond
	c := mustNew(t, cfg)

	_, err := c.Login(context.Background())
	e := asError(t, err)
	if e.Kind != KindTimeout {
		t.Errorf("kind = %v, want timeout; error: %v", e.Kind, e)
	}
	if !strings.Contains(e.Error(), "200ms") {
		t.Errorf("error %q does not name the timeout", e.Error())
	}
}

func TestContextDeadlineIsTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := mustNew(t, configFor(t, srv.URL))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Login(ctx)
	e := asError(t, err)
	if e.Kind != KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got kind %v, errors.Is DeadlineExceeded %v; want timeout and true", e.Kind, errors.Is(err, context.DeadlineExceeded))
	}
}

func TestCancelledContextIsReported(t *testing.T) {
	ws := newWireServer(t)
	c := ws.client()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.FindSites(ctx, FindOptions{})
	asError(t, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
	}
}

func TestNonEnvelopeBodiesAreBadResponses(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        []string
	}{
		{"html 502", 502, "text/html",
			"<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\x1b[31mnginx</body></html>",
			[]string{"HTTP 502", "<html> <head><title>502 Bad Gateway</title>"}},
		{"empty 200", 200, "application/json", "", []string{"HTTP 200", "empty body"}},
		{"json list", 200, "application/json", `[1,2]`, []string{"HTTP 200", "[1,2]"}},
		{"envelope without result", 200, "application/json", `{"status":"ok"}`, []string{"neither result nor message"}},
		{"long body", 500, "text/plain", strings.Repeat("z", 5000), []string{"HTTP 500", strings.Repeat("z", 200) + "…"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			c := mustNew(t, configFor(t, srv.URL))

			_, err := c.Login(context.Background())
			e := asError(t, err)
			if e.Kind != KindBadResponse {
				t.Errorf("kind = %v, want bad response", e.Kind)
			}
			if e.Status != tc.status {
				t.Errorf("status = %d, want %d", e.Status, tc.status)
			}
			msg := e.Error()
			for _, want := range tc.want {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not contain %q", msg, want)
				}
			}
			if strings.ContainsAny(msg, "\x1b\r\n") {
				t.Errorf("error %q contains control characters", msg)
			}
			if strings.Contains(msg, strings.Repeat("z", 201)) {
				t.Errorf("error quotes more than 200 characters of the body")
			}
		})
	}
}

func TestEnvelopeDecidesOverStatus(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		kind   ErrorKind
		text   string
	}{
		{"result with 500 status", 500, `{"result":[]}`, -1, ""},
		{"message with 200 status", 200, `{"message":"Site with code hq already exists"}`, KindConflict, "already exists"},
		{"message_hr preferred", 409, `{"message":"ERR_DUP","message_hr":"A site with code hq exists"}`, KindConflict, "A site with code hq exists"},
		{"exception", 500, `{"exception":"Traceback: KeyError"}`, KindBackend, "backend fault: Traceback: KeyError"},
		{"exception with 200", 200, `{"exception":"boom"}`, KindBackend, "boom"},
		{"400", 400, `{"message":"Unknown attribute colour"}`, KindInvalid, "Unknown attribute colour"},
		{"403", 403, `{"message":"Role employee may not edit sites"}`, KindForbidden, "ask a workspace admin"},
		{"404", 404, `{"message":"No such site"}`, KindNotFound, "No such site"},
		{"413", 413, `{"message":"Payload too large"}`, KindTooLarge, "send less data"},
		{"control characters", 400, `{"message":"bad \u001b[2Jname"}`, KindInvalid, "bad  [2Jname"},
		{"non-string message", 400, `{"message":{"field":"name"}}`, KindInvalid, `{"field":"name"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws := newWireServer(t)
			ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			c := ws.client()
			_, err := c.FindSites(context.Background(), FindOptions{})
			if tc.kind == -1 {
				if err != nil {
					t.Fatalf("FindSites: %v; want success because the envelope has a result", err)
				}
				return
			}
			e := asError(t, err)
			if e.Kind != tc.kind {
				t.Errorf("kind = %v, want %v; error: %v", e.Kind, tc.kind, e)
			}
			if e.Op != "site/find" {
				t.Errorf("op = %q, want site/find", e.Op)
			}
			if !strings.Contains(e.Error(), tc.text) {
				t.Errorf("error %q does not contain %q", e.Error(), tc.text)
			}
			if strings.Contains(e.Error(), "\x1b") {
				t.Errorf("error %q contains ESC", e.Error())
			}
		})
	}
}

func TestBadCredentialsAreAuthErrors(t *testing.T) {
	ws := newWireServer(t)
	ws.setLogin(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"message": "Invalid API key"})
	})
	c := ws.client()
	_, err := c.FindSites(context.Background(), FindOptions{})
	e := asError(t, err)
	if e.Kind != KindAuth || e.Op != "login" || e.Status != 401 {
		t.Errorf("got kind %v op %q status %d, want auth, login, 401", e.Kind, e.Op, e.Status)
	}
	if !strings.Contains(e.Error(), "Invalid API key") || !strings.Contains(e.Error(), "ACCSYN_API_KEY") {
		t.Errorf("error %q should quote the backend and name the key variable", e.Error())
	}
	if _, ok := c.Identity(); ok {
		t.Errorf("Identity() reports a login after a failed one")
	}
	if len(ws.events()) != 0 {
		t.Errorf("an event was sent without a session")
	}
}

func TestEchoedKeyIsRedacted(t *testing.T) {
	ws := newWireServer(t)
	ws.setLogin(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 401, map[string]any{"message": "bad header: " + r.Header.Get("Authorization") + " key " + testKey})
	})
	c := ws.client()
	_, err := c.Login(context.Background())
	e := asError(t, err)
	if !strings.Contains(e.Error(), redacted) {
		t.Errorf("error %q should show where the key was removed", e.Error())
	}
}

func TestKeyNeverInErrorsOrFormatting(t *testing.T) {
	cfg := Config{Workspace: testWorkspace, User: testUser, APIKey: testKey, Hostname: "127.0.0.1", Port: closedPort(t), Scheme: "http"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		assertNoKey(t, "fmt "+verb+" of Config", fmt.Sprintf(verb, cfg))
		assertNoKey(t, "fmt "+verb+" of *Config", fmt.Sprintf(verb, &cfg))
	}
	if !strings.Contains(fmt.Sprint(cfg), redacted) {
		t.Errorf("fmt of Config = %q, want the key shown as %s", fmt.Sprint(cfg), redacted)
	}
	if !strings.Contains(fmt.Sprintf("%#v", cfg), "client.Config{") {
		t.Errorf("%%#v of Config = %q, want Go syntax", fmt.Sprintf("%#v", cfg))
	}
	logged := cfg.LogValue().String()
	assertNoKey(t, "LogValue", logged)

	c := mustNew(t, cfg)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x"} {
		assertNoKey(t, "fmt "+verb+" of *Client", fmt.Sprintf(verb, c))
	}
	_, err := c.FindSites(context.Background(), FindOptions{})
	e := asError(t, err)
	assertNoKey(t, "%+v of the error", fmt.Sprintf("%+v", e))
	assertNoKey(t, "%#v of the error", fmt.Sprintf("%#v", e))
}

func TestErrorKindNames(t *testing.T) {
	for k := KindUnknown; k <= KindConfig; k++ {
		if name := k.String(); name == "" || strings.HasPrefix(name, "ErrorKind(") {
			t.Errorf("kind %d has no name", int(k))
		}
	}
	if got := ErrorKind(99).String(); got != "ErrorKind(99)" {
		t.Errorf("ErrorKind(99).String() = %q", got)
	}
	if KindOf(nil) != KindUnknown || KindOf(errors.New("x")) != KindUnknown {
		t.Errorf("KindOf of nil or a plain error should be KindUnknown")
	}
	wrapped := fmt.Errorf("loading: %w", &Error{Kind: KindConflict})
	if KindOf(wrapped) != KindConflict {
		t.Errorf("KindOf does not see through wrapping")
	}
}

func TestDeleteAnswerMustBeTrue(t *testing.T) {
	ws := newWireServer(t)
	ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		writeJSON(w, 200, map[string]any{"result": false})
	})
	err := ws.client().DeleteSite(context.Background(), "aaaaaaaaaaaaaaaaaaaaaaaa")
	if e := asError(t, err); e.Kind != KindBadResponse {
		t.Errorf("delete answered false: kind %v, want bad response", e.Kind)
	}
}

func TestGetSiteEmptyIsNotFound(t *testing.T) {
	ws := newWireServer(t)
	err := func() error {
		_, err := ws.client().GetSite(context.Background(), "aaaaaaaaaaaaaaaaaaaaaaaa")
		return err
	}()
	e := asError(t, err)
	if e.Kind != KindNotFound || !strings.Contains(e.Error(), "aaaaaaaaaaaaaaaaaaaaaaaa") {
		t.Errorf("got %v (kind %v), want KindNotFound naming the id", e, e.Kind)
	}
}

func TestTLSUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"result": map[string]any{"id": "u", "role": "admin", "session_id": "s"}})
	}))
	// The rejected handshake is expected; keep the server from logging it.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := configFor(t, srv.URL)

	_, err := mustNew(t, cfg).Login(context.Background())
	e := asError(t, err)
	if e.Kind != KindUnreachable || !strings.Contains(e.Error(), "--insecure") {
		t.Errorf("untrusted certificate: got %v (kind %v), want unreachable with a hint about --insecure", e, e.Kind)
	}

	cfg.Insecure = true
	if _, err := mustNew(t, cfg).Login(context.Background()); err != nil {
		t.Errorf("Insecure login: %v", err)
	}
}

func TestPlainHTTPToTLSPort(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	cfg := configFor(t, srv.URL)
	cfg.Scheme = "https"
	_, err := mustNew(t, cfg).Login(context.Background())
	e := asError(t, err)
	if e.Kind != KindUnreachable || !strings.Contains(e.Error(), "does not speak TLS") {
		t.Errorf("https to a plain HTTP port: got %v (kind %v)", e, e.Kind)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		writeJSON(w, 200, map[string]any{"result": map[string]any{"id": "u", "role": "admin", "session_id": "s"}})
	}))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)

	_, err := mustNew(t, configFor(t, srv.URL)).Login(context.Background())
	e := asError(t, err)
	if e.Kind != KindBadResponse || e.Status != http.StatusTemporaryRedirect {
		t.Errorf("redirect: got %v (kind %v, status %d), want bad response with status 307", e, e.Kind, e.Status)
	}
	if !strings.Contains(e.Error(), other.URL) {
		t.Errorf("redirect error %q does not name the target", e.Error())
	}
	if n := otherHits.Load(); n != 0 {
		t.Errorf("the redirect target got %d requests, want none", n)
	}
}

func TestBackendAdviceIsNotRepeated(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindForbidden, Op: "site/edit", Status: 403, Message: "role employee cannot edit sites: ask an admin"},
			"site/edit: role employee cannot edit sites: ask an admin (HTTP 403)"},
		{&Error{Kind: KindAuth, Op: "api/login", Status: 401, Message: "Invalid API key"},
			"api/login: Invalid API key (HTTP 401); check the API user and key (ACCSYN_API_USER, ACCSYN_API_KEY) and the workspace"},
		{&Error{Kind: KindUnreachable, Op: "site/find", Message: "cannot reach 127.0.0.1:8181: connection refused"},
			"site/find: cannot reach 127.0.0.1:8181: connection refused; check the host and port, or that the emulator is running"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q\nwant      %q", got, tc.want)
		}
	}
}
