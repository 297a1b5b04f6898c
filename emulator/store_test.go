package emulator

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"charm.land/log/v2"

	"accsyn-sites/model"
)

func TestOpenOptionErrors(t *testing.T) {
	if _, err := Open(Options{}); err == nil || !strings.Contains(err.Error(), "DataDir") {
		t.Errorf("Open without DataDir: %v", err)
	}
	if _, err := Open(Options{Memory: true, Seed: "lots"}); err == nil || !strings.Contains(err.Error(), `"lots"`) {
		t.Errorf("Open with seed lots: %v", err)
	}
	if _, err := Open(Options{Memory: true, Workspace: "Bad Name"}); err == nil || !strings.Contains(err.Error(), `"Bad Name"`) {
		t.Errorf("Open with workspace \"Bad Name\": %v", err)
	}
}

func TestSeedNone(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	codes := codesOf(c.findSites("", nil))
	if strings.Join(codes, ",") != "accsyn,roaming,hq" {
		t.Errorf("seed none sites = %v, want accsyn, roaming, hq", codes)
	}
	if got := mustOK(t, c.call(http.MethodGet, "server/find", nil)).list(t); len(got) != 0 {
		t.Errorf("seed none has %d servers", len(got))
	}
	if got := mustOK(t, c.call(http.MethodGet, "transfer/find", nil)).list(t); len(got) != 0 {
		t.Errorf("seed none has %d transfers", len(got))
	}
}

func TestDataDirKeepsStateAndKeys(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(Options{DataDir: dir, Workspace: "studio"})
	if err != nil {
		t.Fatal(err)
	}
	users := e.Users()
	if e.Workspace() != "studio" || e.DataDir() != dir {
		t.Errorf("workspace %q data dir %q", e.Workspace(), e.DataDir())
	}
	info, err := os.Stat(filepath.Join(dir, CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("credentials file mode = %o, want 600", perm)
	}
	var mode string
	var sync int
	e.db.QueryRow("PRAGMA journal_mode").Scan(&mode)
	e.db.QueryRow("PRAGMA synchronous").Scan(&sync)
	if mode != "wal" || sync != 2 {
		t.Errorf("journal_mode %q synchronous %d, want wal and 2 (FULL)", mode, sync)
	}
	srv := httptest.NewServer(e.Handler())
	c := loginTo(t, srv, users[0], "studio")
	mustOK(t, c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": "Kept"}}))
	srv.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err == nil {
		t.Error("a second Close succeeded")
	}

	if err := os.Chmod(filepath.Join(dir, CredentialsFile), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := Open(Options{DataDir: dir, Seed: SeedNone})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	info, err = os.Stat(filepath.Join(dir, CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("reopening left the credentials file at mode %o, want 600", perm)
	}
	if again.Workspace() != "studio" {
		t.Errorf("reopened workspace = %q, want studio", again.Workspace())
	}
	for i, u := range again.Users() {
		if u != users[i] {
			t.Errorf("user %d changed across restarts: %s/%s", i, u.Name, u.Role)
		}
	}
	srv = httptest.NewServer(again.Handler())
	defer srv.Close()
	c2 := &apiClient{t: t, base: srv.URL, workspace: "studio", user: users[0], session: c.session}
	if got := c2.findSites("code=kept", nil); len(got) != 1 {
		t.Errorf("after restart the old session finds %d sites named kept", len(got))
	}
	if got := c2.findSites("code=london", nil); len(got) != 1 {
		t.Error("the reopened store lost its demo seed")
	}

	if _, err := Open(Options{DataDir: dir, Workspace: "other"}); err == nil || !strings.Contains(err.Error(), `"studio"`) {
		t.Errorf("reopening with another workspace: %v", err)
	}
}

func TestCredentialsFileErrors(t *testing.T) {
	cases := map[string]string{
		"not json":    "{",
		"no admin":    `{"users": [{"name": "e@local", "role": "employee", "api_key": "k"}]}`,
		"bad role":    `{"users": [{"name": "a@local", "role": "root", "api_key": "k"}]}`,
		"missing key": `{"users": [{"name": "a@local", "role": "admin"}]}`,
	}
	for name, content := range cases {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, CredentialsFile), []byte(content), 0o600)
		if _, err := Open(Options{DataDir: dir}); err == nil || !strings.Contains(err.Error(), CredentialsFile) {
			t.Errorf("%s: Open returned %v", name, err)
		}
	}
}

func TestRequestLogHasNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	logger := log.New(&buf)
	e, err := Open(Options{Memory: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	admin := userWithRole(t, e, RoleAdmin)
	c := login(t, srv, admin)
	mustOK(t, c.call(http.MethodGet, "site/find", nil))
	wrong := *c
	wrong.user.APIKey = admin.APIKey + "x"
	wrong.call(http.MethodGet, "site/find", nil)

	out := buf.String()
	for _, secret := range []string{admin.APIKey, c.session} {
		if strings.Contains(out, secret) {
			t.Fatalf("the request log contains a secret:\n%s", out)
		}
	}
	for _, want := range []string{"method=PUT", "uri=api/login", "uri=site/find", "status=200", "status=401", "duration="} {
		if !strings.Contains(out, want) {
			t.Errorf("the request log lacks %q:\n%s", want, out)
		}
	}
}

func TestStartServesOnLoopback(t *testing.T) {
	s, err := Start(Options{Memory: true}, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Host != "127.0.0.1" || s.Port == 0 || !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Errorf("Start on the default address: host %q port %d url %q", s.Host, s.Port, s.URL)
	}
	resp, err := http.Get(s.URL + registryPath + "?" + pathEscape(`{"ident":"acme"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("registry lookup status %d", resp.StatusCode)
	}
	admin := loginURL(t, s.URL, userWithRole(t, s.Emulator, RoleAdmin), DefaultWorkspace)
	huge := admin.call(http.MethodGet, "site/find", map[string]any{"query": "description=" + strings.Repeat("x", MaxPayload)})
	expectError(t, huge, http.StatusRequestEntityTooLarge, "more than the 1048576 allowed")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	if _, err := http.Get(s.URL); err == nil {
		t.Error("the server still accepts connections after Run returned")
	}
	if _, err := s.Emulator.AddServer(model.Server{Code: "x"}); err == nil {
		t.Error("the store is still open after Run returned")
	}

	if _, err := Start(Options{Memory: true}, "127.0.0.1:notaport"); err == nil || !strings.Contains(err.Error(), "127.0.0.1:notaport") {
		t.Errorf("Start on a bad address: %v", err)
	}
}

func TestBanner(t *testing.T) {
	e, err := Open(Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b := e.Banner("http://127.0.0.1:8181")
	admin := userWithRole(t, e, RoleAdmin)
	for _, want := range []string{`workspace "acme"`, "http://127.0.0.1:8181", "export ACCSYN_WORKSPACE=acme", "ACCSYN_HOSTNAME=127.0.0.1 ACCSYN_PORT=8181 AS_DEV=1 ACCSYN_DEV=1",
		"export ACCSYN_API_USER=admin@local", "export ACCSYN_API_KEY=" + admin.APIKey, "employee@local", "standard@local", "in memory"} {
		if !strings.Contains(b, want) {
			t.Errorf("banner lacks %q:\n%s", want, b)
		}
	}
}

// TestUniqueIndexesBackstop writes past the rule checks to show that the
// store itself rejects a second live site with a code and a second main site.
func TestUniqueIndexesBackstop(t *testing.T) {
	e, err := Open(Options{Memory: true, Seed: SeedNone})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	now := model.NewTime(time.Now())
	site := model.Site{ID: newID(), Name: "HQ2", Code: "HQ", Status: model.StatusEnabled, Created: now, Modified: now, Creator: "t", Modifier: "t"}
	err = e.inTx(func(tx *sql.Tx) error { return insertSite(tx, site) }, nil)
	if !isUniqueViolation(err) {
		t.Errorf("inserting a second live site with code HQ: %v, want a unique constraint error", err)
	}

	site.Code = "other"
	site.Main = true
	err = e.inTx(func(tx *sql.Tx) error { return insertSite(tx, site) }, nil)
	if !isUniqueViolation(err) {
		t.Errorf("inserting a second main site: %v, want a unique constraint error", err)
	}

	site.Main = false
	site.Code = "hq"
	err = e.inTx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE sites SET archived = 1, main = 0 WHERE code = 'hq'`); err != nil {
			return err
		}
		return insertSite(tx, site)
	}, nil)
	if err != nil {
		t.Errorf("a deleted site's code is not free again in the store: %v", err)
	}
}

func TestLoginProposedSession(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	admin := userWithRole(t, e, RoleAdmin)
	loginWith := func(body string) answer {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+loginPath, strings.NewReader(body))
		req.Header.Set("Authorization", authHeader(admin.Name, admin.APIKey))
		return doRequest(t, req)
	}
	var result map[string]string
	json.Unmarshal(mustOK(t, loginWith(`{"session_id": "abc-123"}`)).Result, &result)
	if result["session_id"] != "abc-123" {
		t.Errorf("login with a proposed session_id returned %q", result["session_id"])
	}
	mustOK(t, loginWith(`{"session_id": "abc-123"}`))
	c := &apiClient{t: t, base: srv.URL, workspace: DefaultWorkspace, user: admin, session: "abc-123"}
	mustOK(t, c.call(http.MethodGet, "site/find", nil))

	expectError(t, loginWith(`{"session_id": 7}`), http.StatusBadRequest, "session_id must be a string")
	expectError(t, loginWith(`{"session_id": "has space"}`), http.StatusBadRequest, "printable ASCII")
	expectError(t, loginWith(`{"session_id": "`+strings.Repeat("a", 129)+`"}`), http.StatusBadRequest, "1 to 128")
	expectError(t, loginWith(`[1]`), http.StatusBadRequest, "JSON object")
	json.Unmarshal(mustOK(t, loginWith(``)).Result, &result)
	if len(result["session_id"]) != 64 {
		t.Errorf("login without a body made session %q, want 64 hex characters", result["session_id"])
	}
}
