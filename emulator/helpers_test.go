package emulator

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// newTestEmulator opens an in-memory emulator with the given seed and serves
// it with httptest.
func newTestEmulator(t testing.TB, seed string) (*Emulator, *httptest.Server) {
	t.Helper()
	e, err := Open(Options{Memory: true, Seed: seed})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	srv := httptest.NewServer(e.Handler())
	t.Cleanup(func() {
		srv.Close()
		e.Close()
	})
	return e, srv
}

func userWithRole(t testing.TB, e *Emulator, role string) User {
	t.Helper()
	for _, u := range e.Users() {
		if u.Role == role {
			return u
		}
	}
	t.Fatalf("no user with role %s", role)
	return User{}
}

func authHeader(name, key string) string {
	return "basic " + base64.StdEncoding.EncodeToString([]byte(name)) + ":" + base64.StdEncoding.EncodeToString([]byte(key))
}

// answer is a decoded response envelope with its HTTP status.
type answer struct {
	Status    int
	Result    json.RawMessage `json:"result"`
	Message   string          `json:"message"`
	Exception string          `json:"exception"`
	Body      string
}

// sites decodes a list result into generic site objects.
func (a answer) list(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(a.Result, &out); err != nil {
		t.Fatalf("result is not a list of objects: %v (body %s)", err, a.Body)
	}
	return out
}

func doRequest(t testing.TB, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	a := answer{Status: resp.StatusCode, Body: string(body)}
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v: %q", req.Method, req.URL.Path, err, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return a
}

// apiClient speaks the accsyn event protocol to a test server as one user.
type apiClient struct {
	t         testing.TB
	base      string
	workspace string
	user      User
	session   string
}

func login(t testing.TB, srv *httptest.Server, u User) *apiClient {
	t.Helper()
	return loginTo(t, srv, u, DefaultWorkspace)
}

func loginTo(t testing.TB, srv *httptest.Server, u User, workspace string) *apiClient {
	t.Helper()
	return loginURL(t, srv.URL, u, workspace)
}

// loginURL logs in to the emulator at base, an http:// URL.
func loginURL(t testing.TB, base string, u User, workspace string) *apiClient {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, base+loginPath, strings.NewReader("{}"))
	req.Header.Set("Authorization", authHeader(u.Name, u.APIKey))
	req.Header.Set("X-Accsyn-Workspace", workspace)
	a := doRequest(t, req)
	if a.Status != http.StatusOK {
		t.Fatalf("login as %s: %d %s", u.Name, a.Status, a.Body)
	}
	var result struct {
		ID        string `json:"id"`
		Role      string `json:"role"`
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal(a.Result, &result); err != nil {
		t.Fatalf("login result: %v", err)
	}
	return &apiClient{t: t, base: base, workspace: workspace, user: u, session: result.SessionID}
}

// event builds the envelope the official clients send for uri.
func (c *apiClient) event(uri string, fields map[string]any) map[string]any {
	ev := map[string]any{
		"audience":  "api",
		"workspace": c.workspace,
		"eid":       uuid.NewString(),
		"session":   c.session,
		"uri":       uri,
		"ident":     c.user.Name,
		"created":   time.Now().UTC().Format("2006-01-02T15:04:05"),
		"hostname":  "test-host",
		"data":      map[string]any{},
	}
	for k, v := range fields {
		if v == nil {
			delete(ev, k)
			continue
		}
		ev[k] = v
	}
	return ev
}

// send sends an event with method: in the query string for GET and
// DELETE, as the body otherwise.
func (c *apiClient) send(method string, ev map[string]any) answer {
	c.t.Helper()
	data, err := json.Marshal(ev)
	if err != nil {
		c.t.Fatalf("encode event: %v", err)
	}
	var req *http.Request
	if method == http.MethodGet || method == http.MethodDelete {
		req, _ = http.NewRequest(method, c.base+eventPath+"?"+url.PathEscape(string(data)), nil)
	} else {
		req, _ = http.NewRequest(method, c.base+eventPath, bytes.NewReader(data))
	}
	req.Header.Set("Authorization", authHeader(c.user.Name, c.user.APIKey))
	req.Header.Set("X-Accsyn-Workspace", c.workspace)
	req.Header.Set("X-Accsyn-Device", "emulator tests")
	return doRequest(c.t, req)
}

func (c *apiClient) call(method, uri string, fields map[string]any) answer {
	c.t.Helper()
	return c.send(method, c.event(uri, fields))
}

// mustOK fails the test unless the answer is a 200 success.
func mustOK(t testing.TB, a answer) answer {
	t.Helper()
	if a.Status != http.StatusOK || a.Result == nil {
		t.Fatalf("expected success, got %d %s", a.Status, a.Body)
	}
	return a
}

// expectError checks the status and that the message contains every part.
func expectError(t testing.TB, a answer, status int, parts ...string) {
	t.Helper()
	if a.Status != status {
		t.Fatalf("status = %d, want %d (body %s)", a.Status, status, a.Body)
	}
	if a.Message == "" {
		t.Fatalf("no message in the error answer: %s", a.Body)
	}
	for _, p := range parts {
		if !strings.Contains(a.Message, p) {
			t.Errorf("message %q does not contain %q", a.Message, p)
		}
	}
}

func (c *apiClient) findSites(query string, data map[string]any) []map[string]any {
	c.t.Helper()
	fields := map[string]any{"query": query}
	if data != nil {
		fields["data"] = data
	}
	return mustOK(c.t, c.call(http.MethodGet, "site/find", fields)).list(c.t)
}

func (c *apiClient) siteByCode(code string) map[string]any {
	c.t.Helper()
	sites := c.findSites("code="+code, nil)
	if len(sites) != 1 {
		c.t.Fatalf("find code=%s returned %d sites", code, len(sites))
	}
	return sites[0]
}

func codesOf(items []map[string]any) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it["code"].(string))
	}
	return out
}

// pathEscape percent-encodes s as a whole query string, as the clients do.
func pathEscape(s string) string {
	return url.PathEscape(s)
}
