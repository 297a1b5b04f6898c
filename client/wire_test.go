package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"accsyn-sites/model"
)

func TestLoginSendsHeadersAndEmptyBody(t *testing.T) {
	ws := newWireServer(t)
	c := ws.client()

	id, err := c.Login(context.Background())
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	want := Identity{UserID: "0123456789abcdef01234567", User: testUser, Role: "admin", Workspace: testWorkspace}
	if id != want {
		t.Errorf("identity = %+v, want %+v", id, want)
	}
	got, ok := c.Identity()
	if !ok || got != want {
		t.Errorf("Identity() = %+v, %v; want %+v, true", got, ok, want)
	}

	reqs := ws.recorded()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPut || r.Path != "/api/v3/api/login" {
		t.Errorf("login request = %s %s, want PUT /api/v3/api/login", r.Method, r.Path)
	}
	if string(r.Body) != "{}" {
		t.Errorf("login body = %q, want {}", r.Body)
	}
	wantAuth := "basic " + base64.StdEncoding.EncodeToString([]byte(testUser)) + ":" + base64.StdEncoding.EncodeToString([]byte(testKey))
	if got := r.Header.Get("Authorization"); got != wantAuth {
		t.Errorf("Authorization = %q, want %q", got, wantAuth)
	}
	if got := r.Header.Get("X-Accsyn-Workspace"); got != testWorkspace {
		t.Errorf("X-Accsyn-Workspace = %q, want %q", got, testWorkspace)
	}
	if got := r.Header.Get("X-Accsyn-Device"); got != "accsyn-sites test" {
		t.Errorf("X-Accsyn-Device = %q, want %q", got, "accsyn-sites test")
	}
}

func TestIdentityBeforeLogin(t *testing.T) {
	ws := newWireServer(t)
	c := ws.client()
	if id, ok := c.Identity(); ok {
		t.Errorf("Identity() before login = %+v, true; want false", id)
	}
	if n := len(ws.recorded()); n != 0 {
		t.Errorf("New made %d requests, want none", n)
	}
}

func TestDefaultDeviceNamesProgram(t *testing.T) {
	cfg := configFor(t, "http://127.0.0.1:8181")
	cfg.Device = ""
	c := mustNew(t, cfg)
	device := c.Config().Device
	if !strings.HasPrefix(device, "accsyn-sites "+Version+" @ ") {
		t.Errorf("default device = %q, want it to start with %q", device, "accsyn-sites "+Version+" @ ")
	}
}

func TestFindSendsWholeQueryStringEvent(t *testing.T) {
	ws := newWireServer(t)
	c := ws.client()
	ctx := context.Background()

	opt := FindOptions{Query: `code="a+b c" AND name contains x/y`, Limit: 5, Skip: 10, Attributes: []string{"name", "code"}, Archived: true}
	if _, err := c.FindSites(ctx, opt); err != nil {
		t.Fatalf("FindSites: %v", err)
	}

	events := ws.events()
	if len(events) != 1 {
		t.Fatalf("got %d event requests, want 1", len(events))
	}
	r := events[0]
	if r.Method != http.MethodGet {
		t.Errorf("method = %s, want GET", r.Method)
	}
	if len(r.Body) != 0 {
		t.Errorf("GET body = %q, want none", r.Body)
	}
	if !strings.HasPrefix(r.RawQuery, "%7B%22") {
		t.Errorf("query string %q does not start with the encoded JSON object", r.RawQuery)
	}
	if strings.Contains(r.RawQuery, "=") || strings.Contains(r.RawQuery, "&") {
		t.Errorf("query string %q has a raw '=' or '&': the encoded JSON must be the whole query string", r.RawQuery)
	}
	if strings.Contains(r.RawQuery, "+") {
		t.Errorf("query string %q has a raw '+': it must be sent as %%2B", r.RawQuery)
	}
	if !strings.Contains(r.RawQuery, "x/y") {
		t.Errorf("query string %q encodes '/': it should stay literal as in the Python API", r.RawQuery)
	}

	ev := r.Event
	checks := map[string]any{
		"audience":  "api",
		"workspace": testWorkspace,
		"session":   testSession,
		"uri":       "site/find",
		"ident":     testUser,
		"query":     opt.Query,
	}
	for field, want := range checks {
		if ev[field] != want {
			t.Errorf("event %s = %#v, want %#v", field, ev[field], want)
		}
	}
	if host, _ := ev["hostname"].(string); host == "" {
		t.Errorf("event hostname is empty")
	}
	created, _ := ev["created"].(string)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$`).MatchString(created) {
		t.Errorf("event created = %q, want YYYY-MM-DDTHH:MM:SS", created)
	} else if at, err := model.ParseTime(created); err != nil || time.Since(at).Abs() > time.Hour {
		t.Errorf("event created = %q is not the current UTC time", created)
	}
	eid, _ := ev["eid"].(string)
	if u, err := uuid.Parse(eid); err != nil || u.Version() != 4 {
		t.Errorf("event eid = %q, want a UUID v4", eid)
	}
	data := eventData(t, ev)
	if data["limit"] != float64(5) || data["skip"] != float64(10) || data["archived"] != true {
		t.Errorf("event data = %v, want limit 5, skip 10, archived true", data)
	}
	attrs, _ := data["attributes"].([]any)
	if len(attrs) != 2 || attrs[0] != "name" || attrs[1] != "code" {
		t.Errorf("event data attributes = %v, want [name code]", data["attributes"])
	}
}

func TestEventIDFreshPerCall(t *testing.T) {
	ws := newWireServer(t)
	c := ws.client()
	for range 5 {
		if _, err := c.FindSites(context.Background(), FindOptions{}); err != nil {
			t.Fatalf("FindSites: %v", err)
		}
	}
	seen := map[string]bool{}
	for _, r := range ws.events() {
		eid, _ := r.Event["eid"].(string)
		if seen[eid] {
			t.Errorf("eid %q sent twice", eid)
		}
		seen[eid] = true
	}
	if len(seen) != 5 {
		t.Errorf("got %d distinct eids, want 5", len(seen))
	}
	if n := ws.countPath(loginPath); n != 1 {
		t.Errorf("logged in %d times for 5 calls, want 1", n)
	}
}

func TestFindQueryDropsEntityPrefix(t *testing.T) {
	ws := newWireServer(t)
	c := ws.client()
	ctx := context.Background()
	cases := map[string]string{
		"":                      "",
		"Site":                  "",
		"site WHERE code=hq":    "code=hq",
		"SITE where  code = hq": "code = hq",
		"code=hq":               "code=hq",
		"sitename=x":            "sitename=x",
	}
	for query, want := range cases {
		if _, err := c.FindSites(ctx, FindOptions{Query: query}); err != nil {
			t.Fatalf("FindSites(%q): %v", query, err)
		}
		events := ws.events()
		got, _ := events[len(events)-1].Event["query"].(string)
		if got != want {
			t.Errorf("FindSites(%q) sent query %q, want %q", query, got, want)
		}
	}
	_, err := c.FindSites(ctx, FindOptions{Query: "site code=hq"})
	if e := asError(t, err); e.Kind != KindInvalid || !strings.Contains(e.Error(), `"site code=hq"`) {
		t.Errorf("query without WHERE: got %v (kind %v), want KindInvalid naming the query", e, e.Kind)
	}
}

func TestFindRejectsNegativeLimit(t *testing.T) {
	ws := newWireServer(t)
	c := ws.client()
	_, err := c.FindSites(context.Background(), FindOptions{Limit: -1})
	if e := asError(t, err); e.Kind != KindInvalid || !strings.Contains(e.Message, "-1") {
		t.Errorf("limit -1: got %v, want KindInvalid naming -1", err)
	}
	_, err = c.FindSites(context.Background(), FindOptions{Skip: -2})
	if e := asError(t, err); e.Kind != KindInvalid || !strings.Contains(e.Message, "-2") {
		t.Errorf("skip -2: got %v, want KindInvalid naming -2", err)
	}
	if n := len(ws.recorded()); n != 0 {
		t.Errorf("invalid options made %d requests, want none", n)
	}
}

func TestWriteCallsUseMethodsAndBody(t *testing.T) {
	ws := newWireServer(t)
	site := map[string]any{"id": "aaaaaaaaaaaaaaaaaaaaaaaa", "name": "london", "code": "london", "status": "enabled"}
	ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		switch ev["uri"] {
		case "site/delete":
			writeJSON(w, 200, map[string]any{"result": true})
		default:
			writeJSON(w, 200, map[string]any{"result": []any{site}})
		}
	})
	c := ws.client()
	ctx := context.Background()
	id := model.ID("aaaaaaaaaaaaaaaaaaaaaaaa")

	created, err := c.CreateSite(ctx, map[string]any{"name": "london"})
	if err != nil || created.ID != id || created.Name != "london" {
		t.Fatalf("CreateSite = %+v, %v", created, err)
	}
	updated, err := c.UpdateSite(ctx, id, map[string]any{"description": "Soho"})
	if err != nil || updated.ID != id {
		t.Fatalf("UpdateSite = %+v, %v", updated, err)
	}
	if err := c.DeleteSite(ctx, id); err != nil {
		t.Fatalf("DeleteSite: %v", err)
	}
	got, err := c.GetSite(ctx, id)
	if err != nil || got.ID != id {
		t.Fatalf("GetSite = %+v, %v", got, err)
	}

	want := []struct {
		method, uri string
		inBody      bool
		id          string
		data        map[string]any
	}{
		{http.MethodPost, "site/create", true, "", map[string]any{"name": "london"}},
		{http.MethodPut, "site/edit", true, string(id), map[string]any{"description": "Soho"}},
		{http.MethodDelete, "site/delete", false, string(id), map[string]any{}},
		{http.MethodGet, "site/find", false, string(id), map[string]any{}},
	}
	events := ws.events()
	if len(events) != len(want) {
		t.Fatalf("got %d event requests, want %d", len(events), len(want))
	}
	for i, w := range want {
		r := events[i]
		if r.Method != w.method || r.Event["uri"] != w.uri {
			t.Errorf("call %d = %s %v, want %s %s", i, r.Method, r.Event["uri"], w.method, w.uri)
		}
		if w.inBody && (r.RawQuery != "" || len(r.Body) == 0) {
			t.Errorf("%s: event must be the JSON body, got query %q body %q", w.uri, r.RawQuery, r.Body)
		}
		if w.inBody && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type = %q, want application/json", w.uri, r.Header.Get("Content-Type"))
		}
		if !w.inBody && len(r.Body) != 0 {
			t.Errorf("%s: body %q, want none", w.uri, r.Body)
		}
		gotID, _ := r.Event["id"].(string)
		if gotID != w.id {
			t.Errorf("%s: id = %q, want %q", w.uri, gotID, w.id)
		}
		data := eventData(t, r.Event)
		if data == nil {
			t.Errorf("%s: event has no data object", w.uri)
		}
		for k, v := range w.data {
			if data[k] != v {
				t.Errorf("%s: data[%s] = %v, want %v", w.uri, k, data[k], v)
			}
		}
		if r.Header.Get("Authorization") == "" || r.Header.Get("X-Accsyn-Workspace") != testWorkspace {
			t.Errorf("%s: missing Authorization or X-Accsyn-Workspace header", w.uri)
		}
	}
}

func TestLargeDataSentAsGzData(t *testing.T) {
	ws := newWireServer(t)
	ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		writeJSON(w, 200, map[string]any{"result": []any{map[string]any{"id": "bbbbbbbbbbbbbbbbbbbbbbbb", "name": "big"}}})
	})
	c := ws.client()
	ctx := context.Background()

	small := map[string]any{"name": "small", "description": strings.Repeat("s", 1000)}
	if _, err := c.CreateSite(ctx, small); err != nil {
		t.Fatalf("CreateSite small: %v", err)
	}
	big := map[string]any{"name": "big", "metadata": map[string]any{"blob": strings.Repeat("x", 150*1024)}}
	if _, err := c.CreateSite(ctx, big); err != nil {
		t.Fatalf("CreateSite big: %v", err)
	}

	events := ws.events()
	if len(events) != 2 {
		t.Fatalf("got %d events, want 2", len(events))
	}
	if _, ok := events[0].Event["gz_data"]; ok {
		t.Errorf("small payload was sent as gz_data")
	}
	if _, ok := events[0].Event["data"]; !ok {
		t.Errorf("small payload has no data field")
	}
	ev := events[1].Event
	if _, ok := ev["data"]; ok {
		t.Errorf("large payload was sent as data too")
	}
	if _, ok := ev["gz_data"].(string); !ok {
		t.Fatalf("large payload has no gz_data string; event keys: %v", keys(ev))
	}
	data := eventData(t, ev)
	meta, _ := data["metadata"].(map[string]any)
	if data["name"] != "big" || len(meta["blob"].(string)) != 150*1024 {
		t.Errorf("gz_data does not round-trip the payload")
	}
	if len(events[1].Body) > 50*1024 {
		t.Errorf("gz_data body is %d bytes for a compressible 150 KiB payload; expected compression", len(events[1].Body))
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestServersQueryNamesSite(t *testing.T) {
	ws := newWireServer(t)
	ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		writeJSON(w, 200, map[string]any{"result": []any{map[string]any{
			"id": "ObjectId:cccccccccccccccccccccccc", "code": "ldn-01", "site": "ObjectId:aaaaaaaaaaaaaaaaaaaaaaaa",
			"status": "online", "last_checkin": "2026-02-12T11:25:00.123",
		}}})
	})
	c := ws.client()
	ctx := context.Background()

	servers, err := c.FindServers(ctx, "aaaaaaaaaaaaaaaaaaaaaaaa")
	if err != nil {
		t.Fatalf("FindServers: %v", err)
	}
	if len(servers) != 1 || servers[0].ID != "cccccccccccccccccccccccc" || servers[0].Site != "aaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("servers = %+v, want one with ObjectId prefixes stripped", servers)
	}
	if _, err := c.FindServers(ctx, ""); err != nil {
		t.Fatalf("FindServers all: %v", err)
	}
	if _, err := c.FindTransfers(ctx, "Transfer WHERE status=running"); err != nil {
		t.Fatalf("FindTransfers: %v", err)
	}
	events := ws.events()
	wantQueries := []string{"site=aaaaaaaaaaaaaaaaaaaaaaaa", "", "status=running"}
	wantURIs := []string{"server/find", "server/find", "transfer/find"}
	for i := range wantQueries {
		q, _ := events[i].Event["query"].(string)
		if q != wantQueries[i] || events[i].Event["uri"] != wantURIs[i] {
			t.Errorf("call %d: uri %v query %q, want %s %q", i, events[i].Event["uri"], q, wantURIs[i], wantQueries[i])
		}
	}

	_, err = c.FindServers(ctx, `x" OR site!="y`)
	if e := asError(t, err); e.Kind != KindInvalid {
		t.Errorf("id with quotes: kind %v, want KindInvalid", e.Kind)
	}
}

func TestAttributesSendsEntityType(t *testing.T) {
	ws := newWireServer(t)
	ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		if ev["uri"] == "entitytypes" {
			writeJSON(w, 200, map[string]any{"result": []any{"site", map[string]any{"name": "server"}}})
			return
		}
		writeJSON(w, 200, map[string]any{"result": []any{"name", "code"}})
	})
	c := ws.client()
	ctx := context.Background()
	types, err := c.EntityTypes(ctx)
	if err != nil || strings.Join(types, ",") != "site,server" {
		t.Errorf("EntityTypes = %v, %v; want [site server]", types, err)
	}
	attrs, err := c.Attributes(ctx, "Site", true, false)
	if err != nil || strings.Join(attrs, ",") != "name,code" {
		t.Errorf("Attributes = %v, %v; want [name code]", attrs, err)
	}
	events := ws.events()
	data := eventData(t, events[1].Event)
	if data["entitytype"] != "site" || data["create"] != true || data["update"] != false {
		t.Errorf("attributes data = %v, want entitytype site, create true, update false", data)
	}
}

func TestRegistryLookupFindsHost(t *testing.T) {
	workspace := newWireServer(t)
	cfg := workspace.config()
	wantHost, wantPort := cfg.Hostname, cfg.Port
	var mu sync.Mutex // guards the two values the handler records
	var registryQuery, registryAuth string
	registry := newWireServer(t)
	registry.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != registryPath {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		registryQuery = r.URL.RawQuery
		registryAuth = r.Header.Get("Authorization")
		mu.Unlock()
		writeJSON(w, 200, map[string]any{"result": map[string]any{"hostname": wantHost, "port": wantPort}})
	})
	cfg.RegistryURL = registry.srv.URL
	cfg.Hostname = ""
	cfg.Port = 0
	c := mustNew(t, cfg)

	if _, err := c.FindSites(context.Background(), FindOptions{}); err != nil {
		t.Fatalf("FindSites via registry: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := percentEncode(`{"ident":"acme"}`); registryQuery != want {
		t.Errorf("registry query string = %q, want %q", registryQuery, want)
	}
	if registryAuth != "" {
		t.Errorf("registry request carried an Authorization header")
	}
	if workspace.countPath(loginPath) != 1 || len(workspace.events()) != 1 {
		t.Errorf("workspace got %d logins and %d events, want 1 and 1", workspace.countPath(loginPath), len(workspace.events()))
	}
	got := c.Config()
	if got.Hostname != wantHost || got.Port != wantPort {
		t.Errorf("Config() after lookup = %s:%d", got.Hostname, got.Port)
	}
}

func TestRegistryFailureIsReported(t *testing.T) {
	registry := newWireServer(t)
	registry.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"message": "No such workspace: acme"})
	})
	cfg := configFor(t, registry.srv.URL)
	cfg.RegistryURL, cfg.Hostname, cfg.Port = registry.srv.URL, "", 0
	c := mustNew(t, cfg)
	_, err := c.Login(context.Background())
	e := asError(t, err)
	if e.Op != "registry" || e.Kind != KindNotFound || !strings.Contains(e.Error(), "No such workspace") {
		t.Errorf("registry failure = %v (op %q kind %v), want op registry, KindNotFound, the message", e, e.Op, e.Kind)
	}
}

func TestPercentEncodeMatchesPythonQuote(t *testing.T) {
	cases := map[string]string{
		`{"a": "b/c+d"}`: "%7B%22a%22%3A%20%22b/c%2Bd%22%7D",
		"é~_.-":          "%C3%A9~_.-",
		"a=b&c":          "a%3Db%26c",
	}
	for in, want := range cases {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEventJSONKeepsCharacters(t *testing.T) {
	raw, err := marshalJSON(map[string]any{"q": "a<b & c>d"})
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]string
	if err := json.Unmarshal(raw, &back); err != nil || back["q"] != "a<b & c>d" {
		t.Errorf("marshalJSON = %s, does not round-trip", raw)
	}
	if strings.Contains(string(raw), `\u003c`) || strings.HasSuffix(string(raw), "\n") {
		t.Errorf("marshalJSON = %q, want no HTML escaping and no trailing newline", raw)
	}
}
