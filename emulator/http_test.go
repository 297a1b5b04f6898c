package emulator

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"accsyn-sites/model"
)

func TestRegistryLookup(t *testing.T) {
	_, srv := newTestEmulator(t, SeedNone)
	u, _ := url.Parse(srv.URL)
	lookup := func(method, query string) answer {
		req, _ := http.NewRequest(method, srv.URL+registryPath+"?"+query, nil)
		return doRequest(t, req)
	}

	a := mustOK(t, lookup(http.MethodGet, url.PathEscape(`{"ident": "acme"}`)))
	var result struct {
		Hostname string `json:"hostname"`
		Port     int    `json:"port"`
	}
	if err := json.Unmarshal(a.Result, &result); err != nil {
		t.Fatal(err)
	}
	if result.Hostname != u.Hostname() || strconv.Itoa(result.Port) != u.Port() {
		t.Errorf("lookup = %s:%d, want %s", result.Hostname, result.Port, u.Host)
	}

	expectError(t, lookup(http.MethodGet, url.PathEscape(`{"ident":"other"}`)), http.StatusNotFound, `"other"`, `"acme"`)
	expectError(t, lookup(http.MethodGet, "ident=acme"), http.StatusBadRequest, "ident")
	expectError(t, lookup(http.MethodPost, url.PathEscape(`{"ident":"acme"}`)), http.StatusMethodNotAllowed, "GET")
}

func TestLoginRolesAndFailures(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	for _, u := range e.Users() {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+loginPath, strings.NewReader("{}"))
		req.Header.Set("Authorization", authHeader(u.Name, u.APIKey))
		a := mustOK(t, doRequest(t, req))
		var result map[string]string
		json.Unmarshal(a.Result, &result)
		if result["role"] != u.Role || len(result["id"]) != 24 || result["session_id"] == "" {
			t.Errorf("login %s = %v", u.Name, result)
		}
	}
	if roles := len(e.Users()); roles != 3 {
		t.Errorf("got %d users, want admin, employee and standard", roles)
	}

	admin := userWithRole(t, e, RoleAdmin)
	try := func(method string, header map[string]string) answer {
		req, _ := http.NewRequest(method, srv.URL+loginPath, strings.NewReader("{}"))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		return doRequest(t, req)
	}
	expectError(t, try(http.MethodPut, map[string]string{"Authorization": authHeader(admin.Name, "wrong")}), http.StatusUnauthorized, "invalid user or API key")
	expectError(t, try(http.MethodPut, map[string]string{"Authorization": authHeader("nobody@local", admin.APIKey)}), http.StatusUnauthorized, "nobody@local")
	expectError(t, try(http.MethodPut, nil), http.StatusUnauthorized, "Authorization")
	expectError(t, try(http.MethodPut, map[string]string{"Authorization": "basic !!!:???"}), http.StatusUnauthorized, "base64")
	expectError(t, try(http.MethodPut, map[string]string{
		"Authorization": authHeader(admin.Name, admin.APIKey), "X-Accsyn-Workspace": "other",
	}), http.StatusUnauthorized, `"other"`)
	expectError(t, try(http.MethodGet, map[string]string{"Authorization": authHeader(admin.Name, admin.APIKey)}), http.StatusMethodNotAllowed, "PUT")

	standard := "Basic " + base64.StdEncoding.EncodeToString([]byte(admin.Name+":"+admin.APIKey))
	mustOK(t, try(http.MethodPut, map[string]string{"Authorization": standard}))
}

func TestEventSessionRequired(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	admin := login(t, srv, userWithRole(t, e, RoleAdmin))
	employee := login(t, srv, userWithRole(t, e, RoleEmployee))

	expectError(t, admin.call(http.MethodGet, "site/find", map[string]any{"session": ""}), http.StatusUnauthorized, "log in again")
	expectError(t, admin.call(http.MethodGet, "site/find", map[string]any{"session": "0123"}), http.StatusUnauthorized, "log in again")
	expectError(t, admin.call(http.MethodGet, "site/find", map[string]any{"session": employee.session}), http.StatusUnauthorized,
		"another user", "log in again")

	stolen := *employee
	stolen.user.APIKey = "wrong"
	expectError(t, stolen.call(http.MethodGet, "site/find", nil), http.StatusUnauthorized, "invalid user or API key")
}

func TestSiteFindDemo(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	sites := c.findSites("", nil)
	codes := codesOf(sites)
	for _, want := range []string{"accsyn", "roaming", "hq", "london", "stockholm", "la", "aws-eu-west", "tokyo"} {
		if !slices.Contains(codes, want) {
			t.Errorf("demo sites %v lack %s", codes, want)
		}
	}
	mains := 0
	for _, s := range sites {
		if s["main"] == true {
			mains++
			if s["code"] != "hq" {
				t.Errorf("main site is %v, want hq", s["code"])
			}
		}
		if (s["accsyn"] == true) != (s["code"] == "accsyn") {
			t.Errorf("site %v has accsyn=%v", s["code"], s["accsyn"])
		}
		if _, ok := s["archived"]; ok {
			t.Errorf("live site %v carries archived", s["code"])
		}
		if id, _ := s["id"].(string); len(id) != 24 {
			t.Errorf("site %v id %q is not 24 hex characters", s["code"], id)
		}
	}
	if mains != 1 {
		t.Errorf("%d main sites, want 1", mains)
	}
	if accsyn := c.siteByCode("accsyn"); accsyn["creator"] != "accsyn" {
		t.Errorf("accsyn creator = %v, want accsyn", accsyn["creator"])
	}
	if la := c.siteByCode("la"); la["status"] != "disabled" {
		t.Errorf("la status = %v, want disabled", la["status"])
	}
	london := c.siteByCode("london")
	if md, _ := london["metadata"].(map[string]any); md["region"] != "eu-west" {
		t.Errorf("london metadata = %v", london["metadata"])
	}
	if london["description"] == "" {
		t.Error("london has no description")
	}
}

func TestSiteFindOptions(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	all := codesOf(c.findSites("", nil))

	if got := codesOf(c.findSites("", map[string]any{"limit": 2})); !slices.Equal(got, all[:2]) {
		t.Errorf("limit 2 = %v, want %v", got, all[:2])
	}
	if got := codesOf(c.findSites("", map[string]any{"skip": 3, "limit": 2})); !slices.Equal(got, all[3:5]) {
		t.Errorf("skip 3 limit 2 = %v, want %v", got, all[3:5])
	}
	if got := codesOf(c.findSites("", map[string]any{"skip": 100})); len(got) != 0 {
		t.Errorf("skip 100 = %v, want none", got)
	}
	if got := c.findSites("status=enabled", map[string]any{"single_entity_query": true}); len(got) != 1 {
		t.Errorf("single_entity_query returned %d sites", len(got))
	}

	picked := c.findSites("code=london", map[string]any{"attributes": []string{"name", "Status"}})
	if len(picked) != 1 || len(picked[0]) != 3 || picked[0]["name"] != "London" || picked[0]["status"] != "enabled" || picked[0]["id"] == nil {
		t.Errorf("attributes [name status] = %v, want id, name and status only", picked)
	}

	london := c.siteByCode("london")
	id := london["id"].(string)
	for _, sent := range []string{id, "ObjectId:" + id} {
		got := mustOK(t, c.call(http.MethodGet, "site/find", map[string]any{"id": sent})).list(t)
		if len(got) != 1 || got[0]["code"] != "london" {
			t.Errorf("find id %s = %v", sent, codesOf(got))
		}
	}
	none := mustOK(t, c.call(http.MethodGet, "site/find", map[string]any{"id": "000000000000000000000000"})).list(t)
	if len(none) != 0 {
		t.Errorf("find unknown id = %v, want none", codesOf(none))
	}

	bad := []struct {
		data map[string]any
		want string
	}{
		{map[string]any{"limit": "ten"}, `"limit"`},
		{map[string]any{"skip": -1}, `"skip"`},
		{map[string]any{"archived": "yes"}, `"archived"`},
		{map[string]any{"attributes": "name"}, `"attributes"`},
		{map[string]any{"attributes": []string{"colour"}}, `"colour"`},
	}
	for _, b := range bad {
		expectError(t, c.call(http.MethodGet, "site/find", map[string]any{"data": b.data}), http.StatusBadRequest, b.want)
	}
}

func TestSiteCreate(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	before := time.Now().UTC().Add(-time.Second)

	a := mustOK(t, c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{
		"name": "Paris_2", "description": "Paris office", "metadata": map[string]any{"region": "eu-west", "racks": 4},
	}}))
	created := a.list(t)
	if len(created) != 1 {
		t.Fatalf("create returned %d sites", len(created))
	}
	s := created[0]
	if s["code"] != "paris_2" || s["name"] != "Paris_2" || s["status"] != "enabled" || s["main"] != false || s["accsyn"] != false {
		t.Errorf("created site = %v", s)
	}
	if s["creator"] != "admin@local" || s["modifier"] != "admin@local" {
		t.Errorf("creator %v modifier %v, want admin@local", s["creator"], s["modifier"])
	}
	createdAt, err := model.ParseTime(s["created"].(string))
	if err != nil || createdAt.Before(before) || s["modified"] != s["created"] {
		t.Errorf("created %v modified %v (err %v)", s["created"], s["modified"], err)
	}
	if md := s["metadata"].(map[string]any); md["racks"] != float64(4) {
		t.Errorf("metadata = %v", md)
	}
	if found := c.siteByCode("paris_2"); found["id"] != s["id"] {
		t.Errorf("find after create = %v", found)
	}

	explicit := mustOK(t, c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": "Oslo", "code": "osl"}})).list(t)
	if explicit[0]["code"] != "osl" {
		t.Errorf("explicit code = %v", explicit[0]["code"])
	}
}

func TestSiteCreateGzData(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	var packed bytes.Buffer
	zw := gzip.NewWriter(&packed)
	zw.Write([]byte(`{"name": "Berlin", "description": "` + strings.Repeat("x", 2000) + `"}`))
	zw.Close()
	ev := c.event("site/create", map[string]any{"data": nil, "gz_data": base64.StdEncoding.EncodeToString(packed.Bytes())})
	got := mustOK(t, c.send(http.MethodPost, ev)).list(t)
	if got[0]["code"] != "berlin" || len(got[0]["description"].(string)) != 2000 {
		t.Errorf("gz_data create = %v", got[0]["code"])
	}

	bad := c.event("site/create", map[string]any{"data": nil, "gz_data": "not base64!"})
	expectError(t, c.send(http.MethodPost, bad), http.StatusBadRequest, "gz_data", "base64")
	notGzip := c.event("site/create", map[string]any{"data": nil, "gz_data": base64.StdEncoding.EncodeToString([]byte("plain"))})
	expectError(t, c.send(http.MethodPost, notGzip), http.StatusBadRequest, "gzip")
}

func TestSiteCreateRules(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	london := c.siteByCode("london")
	cases := []struct {
		name   string
		data   map[string]any
		status int
		want   []string
	}{
		{"name missing", map[string]any{"description": "x"}, 400, []string{`"name" is required`}},
		{"name empty", map[string]any{"name": ""}, 400, []string{"name is required"}},
		{"name with space", map[string]any{"name": "New York"}, 400, []string{`"New York"`, "' '"}},
		{"name too long", map[string]any{"name": strings.Repeat("a", 33)}, 400, []string{"33 characters", "at most 32"}},
		{"code upper case", map[string]any{"name": "Rome", "code": "Rome"}, 400, []string{`"Rome"`, "lower case"}},
		{"code bad character", map[string]any{"name": "Rome", "code": "ro/me"}, 400, []string{`'/'`}},
		{"code taken", map[string]any{"name": "Other", "code": "london"}, 409,
			[]string{`a site with code "london" already exists (id ` + london["id"].(string) + `); choose another code`}},
		{"code from name taken", map[string]any{"name": "London"}, 409, []string{`code "london" already exists`}},
		{"built-in code taken", map[string]any{"name": "Roaming"}, 409, []string{`code "roaming" already exists`}},
		{"unknown attribute", map[string]any{"name": "Rome", "colour": "red"}, 400, []string{`unknown site attribute "colour"`}},
		{"backend attribute id", map[string]any{"name": "Rome", "id": "x"}, 400, []string{`"id" is set by the backend`}},
		{"backend attribute created", map[string]any{"name": "Rome", "created": "2026-01-01T00:00:00"}, 400, []string{`"created" is set by the backend`}},
		{"backend attribute accsyn", map[string]any{"name": "Rome", "accsyn": true}, 400, []string{`"accsyn"`}},
		{"edit-only attribute main", map[string]any{"name": "Rome", "main": true}, 400, []string{`"main" cannot be set by site/create`}},
		{"edit-only attribute status", map[string]any{"name": "Rome", "status": "disabled"}, 400, []string{`"status" cannot be set by site/create`}},
		{"name wrong type", map[string]any{"name": 12}, 400, []string{`"name" must be a string`}},
		{"description wrong type", map[string]any{"name": "Rome", "description": true}, 400, []string{`"description" must be a string`}},
		{"metadata wrong type", map[string]any{"name": "Rome", "metadata": "region=eu"}, 400, []string{`"metadata" must be a JSON object`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := c.call(http.MethodPost, "site/create", map[string]any{"data": tc.data})
			expectError(t, a, tc.status, tc.want...)
		})
	}
	if n := len(c.findSites("code=rome", nil)); n != 0 {
		t.Errorf("a refused create left %d sites named rome", n)
	}
}

func TestSiteEdit(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	admin := login(t, srv, userWithRole(t, e, RoleAdmin))
	london := admin.siteByCode("london")
	id := london["id"].(string)

	edit := func(data map[string]any) answer {
		return admin.call(http.MethodPut, "site/edit", map[string]any{"id": id, "data": data})
	}
	got := mustOK(t, edit(map[string]any{"name": "London2", "code": "ldn", "description": "New office", "metadata": map[string]any{"tier": 2}})).list(t)[0]
	if got["name"] != "London2" || got["code"] != "ldn" || got["description"] != "New office" {
		t.Errorf("after edit = %v", got)
	}
	if md := got["metadata"].(map[string]any); len(md) != 1 || md["tier"] != float64(2) {
		t.Errorf("metadata is replaced as a whole, got %v", md)
	}
	if got["modifier"] != "admin@local" || got["created"] != london["created"] || got["modified"] == london["modified"] {
		t.Errorf("created %v modified %v modifier %v", got["created"], got["modified"], got["modifier"])
	}

	if got := mustOK(t, edit(map[string]any{"status": "Disabled"})).list(t)[0]; got["status"] != "disabled" {
		t.Errorf("status after disable = %v", got["status"])
	}
	if got := mustOK(t, edit(map[string]any{"status": "enabled"})).list(t)[0]; got["status"] != "enabled" {
		t.Errorf("status after enable = %v", got["status"])
	}
	expectError(t, edit(map[string]any{"status": "paused"}), http.StatusBadRequest, `"paused"`, "enabled or disabled")
	expectError(t, edit(map[string]any{"code": "tokyo"}), http.StatusConflict, `code "tokyo" already exists`)
	expectError(t, edit(map[string]any{"code": "TOKYO"}), http.StatusBadRequest, "lower case")
	expectError(t, edit(map[string]any{"created": "2026-01-01"}), http.StatusBadRequest, `"created" is set by the backend`)
	expectError(t, edit(map[string]any{"owner": "x"}), http.StatusBadRequest, `unknown site attribute "owner"`)
	expectError(t, edit(map[string]any{"main": "yes"}), http.StatusBadRequest, `"main" must be true or false`)
	expectError(t, edit(map[string]any{"name": nil}), http.StatusBadRequest, `"name" must be a string`)

	same := mustOK(t, edit(map[string]any{"code": "ldn"})).list(t)[0]
	if same["code"] != "ldn" {
		t.Errorf("editing a site to its own code = %v", same["code"])
	}

	expectError(t, admin.call(http.MethodPut, "site/edit", map[string]any{"data": map[string]any{"name": "x"}}), http.StatusBadRequest, `"id"`)
	expectError(t, admin.call(http.MethodPut, "site/edit", map[string]any{"id": "0123456789abcdef01234567", "data": map[string]any{"name": "x"}}),
		http.StatusNotFound, `"0123456789abcdef01234567" not found`)
}

func TestBuiltinSitesProtected(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	for _, code := range []string{"accsyn", "roaming"} {
		id := c.siteByCode(code)["id"].(string)
		edit := func(data map[string]any) answer {
			return c.call(http.MethodPut, "site/edit", map[string]any{"id": id, "data": data})
		}
		expectError(t, edit(map[string]any{"status": "disabled"}), http.StatusConflict, "cannot disable the built-in site "+code)
		expectError(t, edit(map[string]any{"name": "Other"}), http.StatusConflict, "cannot rename the built-in site "+code)
		expectError(t, edit(map[string]any{"code": "other"}), http.StatusConflict, "cannot rename the built-in site "+code)
		expectError(t, c.call(http.MethodDelete, "site/delete", map[string]any{"id": id}), http.StatusConflict, "cannot delete the built-in site "+code)
		got := mustOK(t, edit(map[string]any{"description": "edited"})).list(t)[0]
		if got["description"] != "edited" {
			t.Errorf("%s description = %v", code, got["description"])
		}
	}
}

func TestMainSiteMove(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	hq := c.siteByCode("hq")
	tokyo := c.siteByCode("tokyo")

	expectError(t, c.call(http.MethodPut, "site/edit", map[string]any{"id": hq["id"], "data": map[string]any{"main": false}}),
		http.StatusConflict, "site hq is the main site: make another site main first")
	got := mustOK(t, c.call(http.MethodPut, "site/edit", map[string]any{"id": tokyo["id"], "data": map[string]any{"main": false}})).list(t)[0]
	if got["main"] != false {
		t.Errorf("main:false on a site that is not main changed it to %v", got["main"])
	}

	got = mustOK(t, c.call(http.MethodPut, "site/edit", map[string]any{"id": tokyo["id"], "data": map[string]any{"main": true}})).list(t)[0]
	if got["main"] != true {
		t.Fatalf("tokyo main = %v after main:true", got["main"])
	}
	mains := codesOf(c.findSites("main=true", nil))
	if !slices.Equal(mains, []string{"tokyo"}) {
		t.Errorf("main sites = %v, want [tokyo]", mains)
	}
	if old := c.siteByCode("hq"); old["modifier"] != "admin@local" || old["modified"] == hq["modified"] {
		t.Errorf("the old main site's modified/modifier were not updated: %v %v", old["modified"], old["modifier"])
	}
	a := c.call(http.MethodDelete, "site/delete", map[string]any{"id": hq["id"], "data": map[string]any{}})
	expectError(t, a, http.StatusConflict, "cannot delete site hq: 3 servers are assigned")
	if strings.Contains(a.Message, "main") {
		t.Errorf("hq is no longer main, but the delete message says %q", a.Message)
	}
}

func TestSiteDeleteRules(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	del := func(id any) answer {
		return c.call(http.MethodDelete, "site/delete", map[string]any{"id": id})
	}

	expectError(t, del(c.siteByCode("hq")["id"]), http.StatusConflict, "cannot delete site hq: it is the main site; make another site main first")
	expectError(t, del(c.siteByCode("london")["id"]), http.StatusConflict,
		"cannot delete site london: 1 server is assigned (ldn-site-01); move it to another site first",
		"1 active transfer involves it (Delivery london 0142, running 42%); wait for it to finish or abort it first")
	expectError(t, del(c.siteByCode("hq")["id"]), http.StatusConflict, "main site")
	expectError(t, c.call(http.MethodDelete, "site/delete", nil), http.StatusBadRequest, `"id"`)

	// A site with two servers names both.
	hqID := model.ID(c.siteByCode("hq")["id"].(string))
	aws := c.siteByCode("aws-eu-west")
	if _, err := e.AddServer(model.Server{Code: "aws-euw-02", Site: model.ID(aws["id"].(string)), Status: model.ServerOffline}); err != nil {
		t.Fatal(err)
	}
	expectError(t, del(aws["id"]), http.StatusConflict, "2 servers are assigned (aws-euw-01, aws-euw-02); move them to another site first")

	// An active transfer naming the site directly blocks it until done.
	stockholm := c.siteByCode("stockholm")
	transfer, err := e.AddTransfer(model.Transfer{Name: "push", Source: "server:x", Destination: "site:ObjectId:" + stockholm["id"].(string), Status: model.TransferPaused})
	if err != nil {
		t.Fatal(err)
	}
	expectError(t, del(stockholm["id"]), http.StatusConflict, "1 active transfer involves it (push, paused 0%)")
	if err := e.SetTransferStatus(transfer.ID, model.TransferAborted); err != nil {
		t.Fatal(err)
	}

	a := mustOK(t, del("ObjectId:"+stockholm["id"].(string)))
	if string(a.Result) != "true" {
		t.Errorf("delete result = %s, want true", a.Result)
	}
	if n := len(c.findSites("code=stockholm", nil)); n != 0 {
		t.Errorf("a deleted site is still in find (%d)", n)
	}
	archived := c.findSites("", map[string]any{"archived": true})
	if len(archived) != 1 || archived[0]["code"] != "stockholm" || archived[0]["archived"] != true {
		t.Errorf("archived find = %v", archived)
	}
	byID := mustOK(t, c.call(http.MethodGet, "site/find", map[string]any{"id": stockholm["id"]})).list(t)
	if len(byID) != 0 {
		t.Errorf("a normal find by the id of a deleted site = %v, want none", byID)
	}
	archivedByID := mustOK(t, c.call(http.MethodGet, "site/find", map[string]any{"id": stockholm["id"], "data": map[string]any{"archived": true}})).list(t)
	if len(archivedByID) != 1 || archivedByID[0]["archived"] != true {
		t.Errorf("an archived find by id = %v, want the deleted site", archivedByID)
	}
	expectError(t, del(stockholm["id"]), http.StatusNotFound, "not found")
	expectError(t, c.call(http.MethodPut, "site/edit", map[string]any{"id": stockholm["id"], "data": map[string]any{"name": "x"}}), http.StatusNotFound, "not found")

	again := mustOK(t, c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": "stockholm"}})).list(t)[0]
	if again["id"] == stockholm["id"] {
		t.Error("re-creating a deleted code reused the old id")
	}
	if hqID == "" {
		t.Fatal("hq has no id")
	}
}

func TestRoles(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	admin := login(t, srv, userWithRole(t, e, RoleAdmin))
	employee := login(t, srv, userWithRole(t, e, RoleEmployee))
	standard := login(t, srv, userWithRole(t, e, RoleStandard))
	london := admin.siteByCode("london")

	for _, uri := range []string{"site/find", "server/find", "transfer/find"} {
		mustOK(t, employee.call(http.MethodGet, uri, nil))
		mustOK(t, admin.call(http.MethodGet, uri, nil))
		expectError(t, standard.call(http.MethodGet, uri, nil), http.StatusForbidden, "standard@local", "role standard", "admin")
	}
	writes := []struct {
		method, uri string
		fields      map[string]any
	}{
		{http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": "Rome"}}},
		{http.MethodPut, "site/edit", map[string]any{"id": london["id"], "data": map[string]any{"description": "x"}}},
		{http.MethodDelete, "site/delete", map[string]any{"id": london["id"]}},
	}
	for _, w := range writes {
		expectError(t, employee.call(w.method, w.uri, w.fields), http.StatusForbidden, "role employee", "read", w.uri+" needs an admin")
		expectError(t, standard.call(w.method, w.uri, w.fields), http.StatusForbidden, "role standard")
	}
	mustOK(t, employee.call(http.MethodGet, "entitytypes", nil))
	if got := admin.siteByCode("london"); got["description"] != london["description"] {
		t.Error("a refused edit changed the site")
	}
}

func TestMethodMustMatchURI(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	hq := c.siteByCode("hq")
	cases := []struct {
		method, uri string
		status      int
		want        string
	}{
		{http.MethodGet, "site/create", 405, "site/create must be sent with POST, not GET"},
		{http.MethodPost, "site/find", 405, "site/find must be sent with GET, not POST"},
		{http.MethodDelete, "site/edit", 405, "site/edit must be sent with PUT, not DELETE"},
		{http.MethodPut, "site/delete", 405, "site/delete must be sent with DELETE, not PUT"},
		{http.MethodPost, "entitytypes", 405, "entitytypes takes GET"},
		{http.MethodGet, "site/list", 400, `unknown uri "site/list"`},
		{http.MethodGet, "user/find", 400, `unknown uri "user/find"`},
		{http.MethodPost, "server/create", 400, "read-only"},
		{http.MethodGet, "", 400, "no uri"},
	}
	for _, tc := range cases {
		a := c.call(tc.method, tc.uri, map[string]any{"id": hq["id"], "data": map[string]any{"name": "x"}})
		expectError(t, a, tc.status, tc.want)
	}
	ev, _ := json.Marshal(c.event("site/find", nil))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+eventPath, bytes.NewReader(ev))
	req.Header.Set("Authorization", authHeader(c.user.Name, c.user.APIKey))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if allow := resp.Header.Get("Allow"); allow != http.MethodGet {
		t.Errorf("Allow header of site/find sent with POST = %q, want GET", allow)
	}
	req, _ = http.NewRequest(http.MethodPatch, srv.URL+eventPath, strings.NewReader("{}"))
	expectError(t, doRequest(t, req), http.StatusMethodNotAllowed, "PATCH")
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/v3/nothing", nil)
	expectError(t, doRequest(t, req), http.StatusNotFound, "unknown endpoint")
}

func TestBadEvents(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	post := func(body string) answer {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+eventPath, strings.NewReader(body))
		req.Header.Set("Authorization", authHeader(c.user.Name, c.user.APIKey))
		return doRequest(t, req)
	}
	expectError(t, post(`{"uri": "site/create",`), http.StatusBadRequest, "not valid JSON")
	expectError(t, post(``), http.StatusBadRequest, "event is missing")
	expectError(t, post(`{"uri": "site/create", "session": 5}`), http.StatusBadRequest, `"session" must be a string`)
	expectError(t, c.call(http.MethodPost, "site/create", map[string]any{"data": []int{1}}), http.StatusBadRequest, "data must be a JSON object")
	expectError(t, c.call(http.MethodPost, "site/create", map[string]any{"workspace": "other", "data": map[string]any{"name": "x"}}),
		http.StatusBadRequest, `workspace "other"`)
	expectError(t, c.call(http.MethodGet, "site/find", map[string]any{"id": 12}), http.StatusBadRequest, `"id" must be a string`)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+eventPath+"?%zz", nil)
	req.Header.Set("Authorization", authHeader(c.user.Name, c.user.APIKey))
	expectError(t, doRequest(t, req), http.StatusBadRequest, "percent-encoding")
}

func TestPayloadTooLarge(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	big := strings.Repeat("x", MaxPayload)
	expectError(t, c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": "Big", "description": big}}),
		http.StatusRequestEntityTooLarge, "larger than 1048576 bytes")

	var packed bytes.Buffer
	zw := gzip.NewWriter(&packed)
	zw.Write([]byte(`{"name": "Big", "description": "` + big + `"}`))
	zw.Close()
	ev := c.event("site/create", map[string]any{"data": nil, "gz_data": base64.StdEncoding.EncodeToString(packed.Bytes())})
	expectError(t, c.send(http.MethodPost, ev), http.StatusRequestEntityTooLarge, "gz_data unpacks to more than")
	if n := len(c.findSites("code=big", nil)); n != 0 {
		t.Errorf("a refused create left %d sites", n)
	}
}

func TestServerFind(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleEmployee))
	servers := mustOK(t, c.call(http.MethodGet, "server/find", nil)).list(t)
	statuses := map[string]bool{}
	now := time.Now().UTC()
	for _, s := range servers {
		status := s["status"].(string)
		statuses[status] = true
		checkin, err := model.ParseTime(s["last_checkin"].(string))
		if err != nil {
			t.Fatalf("server %v last_checkin: %v", s["code"], err)
		}
		age := now.Sub(checkin)
		switch status {
		case model.ServerOnline, model.ServerDisabled:
			if age > time.Minute || age < -time.Second {
				t.Errorf("checked-in server %v last_checkin is %v old, want under a minute", s["code"], age)
			}
		default:
			if age < offlineAfter {
				t.Errorf("offline server %v last_checkin is only %v old", s["code"], age)
			}
		}
		siteHR := s["site_hr"].(string)
		if !strings.HasSuffix(siteHR, "("+s["site"].(string)+")") {
			t.Errorf("site_hr %q does not end with the site id", siteHR)
		}
	}
	for _, want := range serverStatuses {
		if !statuses[want] {
			t.Errorf("demo servers have no %s server", want)
		}
	}

	admin := login(t, srv, userWithRole(t, e, RoleAdmin))
	london := admin.siteByCode("london")
	atLondon := mustOK(t, c.call(http.MethodGet, "server/find", map[string]any{"query": "site=" + london["id"].(string)})).list(t)
	if codes := codesOf(atLondon); !slices.Equal(codes, []string{"ldn-site-01"}) {
		t.Errorf("servers at london = %v", codes)
	}
	stockholm := admin.siteByCode("stockholm")
	if got := mustOK(t, c.call(http.MethodGet, "server/find", map[string]any{"query": "site=" + stockholm["id"].(string)})).list(t); len(got) != 0 {
		t.Errorf("stockholm has servers %v, want none", codesOf(got))
	}
	tokyo := admin.siteByCode("tokyo")
	atTokyo := mustOK(t, c.call(http.MethodGet, "server/find", map[string]any{"query": "site=" + tokyo["id"].(string)})).list(t)
	if len(atTokyo) != 1 || atTokyo[0]["status"] != model.ServerOffline {
		t.Errorf("tokyo servers = %v, want one offline server", atTokyo)
	}

	id := model.ID(atLondon[0]["id"].(string))
	if err := e.SetServerStatus(id, model.ServerOffline); err != nil {
		t.Fatal(err)
	}
	after := mustOK(t, c.call(http.MethodGet, "server/find", map[string]any{"id": string(id)})).list(t)[0]
	checkin, _ := model.ParseTime(after["last_checkin"].(string))
	if after["status"] != model.ServerOffline || time.Since(checkin) < offlineAfter {
		t.Errorf("after SetServerStatus offline: %v, last check-in %v", after["status"], after["last_checkin"])
	}
	if err := e.SetServerStatus(id, "sleeping"); err == nil || !strings.Contains(err.Error(), `"sleeping"`) {
		t.Errorf("SetServerStatus with a bad status: %v", err)
	}
	if err := e.SetServerStatus("ffffffffffffffffffffffff", model.ServerOnline); err == nil {
		t.Error("SetServerStatus of an unknown server succeeded")
	}
}

func TestTransferFind(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	london := c.siteByCode("london")
	running := mustOK(t, c.call(http.MethodGet, "transfer/find", map[string]any{"query": "status=running"})).list(t)
	if len(running) != 1 || running[0]["progress"] != float64(42) || running[0]["source"] != "site:"+london["id"].(string) {
		t.Errorf("running transfers = %v", running)
	}
	done := mustOK(t, c.call(http.MethodGet, "transfer/find", map[string]any{"query": "status=done and progress>=100"})).list(t)
	if len(done) != 1 || done[0]["finished"] == nil {
		t.Errorf("done transfers = %v", done)
	}
	added, err := e.AddTransfer(model.Transfer{Name: "Render upload", Source: "site:" + london["id"].(string), Destination: "site:x"})
	if err != nil {
		t.Fatal(err)
	}
	if added.Status != model.TransferRunning || added.SourceHR != "site:london" || added.Code != "render upload" {
		t.Errorf("AddTransfer filled in %+v", added)
	}
	if _, err := e.AddTransfer(model.Transfer{Name: "bad", Source: "site:x", Destination: "site:y", Status: "lost"}); err == nil {
		t.Error("AddTransfer accepted the status lost")
	}
	if _, err := e.AddTransfer(model.Transfer{Name: "bad"}); err == nil {
		t.Error("AddTransfer accepted a transfer without endpoints")
	}
}

func TestAddServer(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	hq := c.siteByCode("hq")
	s, err := e.AddServer(model.Server{Code: "hq-02", Site: model.ID(hq["id"].(string))})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ID) != 24 || s.Created.IsZero() || s.Status != model.ServerOnline || s.SiteHR != "hq("+hq["id"].(string)+")" {
		t.Errorf("AddServer filled in %+v", s)
	}
	if _, err := e.AddServer(model.Server{Code: "x", Site: "ffffffffffffffffffffffff"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("AddServer at an unknown site: %v", err)
	}
	if _, err := e.AddServer(model.Server{Code: "x", Site: s.Site, ID: s.ID}); err == nil {
		t.Error("AddServer accepted a duplicate id")
	}
	if _, err := e.AddServer(model.Server{Code: "x", Site: s.Site, Status: "asleep"}); err == nil {
		t.Error("AddServer accepted the status asleep")
	}
	expectError(t, c.call(http.MethodDelete, "site/delete", map[string]any{"id": hq["id"]}), http.StatusConflict, "main site")
}

func TestEntityTypesAndAttributes(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleEmployee))
	var types []string
	json.Unmarshal(mustOK(t, c.call(http.MethodGet, "entitytypes", nil)).Result, &types)
	if !slices.Equal(types, []string{"site", "server", "transfer"}) {
		t.Errorf("entitytypes = %v", types)
	}
	attrs := func(fields map[string]any) []string {
		var out []string
		json.Unmarshal(mustOK(t, c.call(http.MethodGet, "attributes", fields)).Result, &out)
		return out
	}
	all := attrs(map[string]any{"data": map[string]any{"entitytype": "site"}})
	want := []string{"id", "name", "code", "description", "status", "main", "accsyn", "metadata", "created", "creator", "modified", "modifier"}
	if !slices.Equal(all, want) {
		t.Errorf("site attributes = %v, want %v", all, want)
	}
	if got := attrs(map[string]any{"data": map[string]any{"entitytype": "Site", "create": true}}); !slices.Equal(got, []string{"name", "code", "description", "metadata"}) {
		t.Errorf("site create attributes = %v", got)
	}
	if got := attrs(map[string]any{"data": map[string]any{"entitytype": "site", "update": true}}); !slices.Equal(got, []string{"name", "code", "description", "status", "main", "metadata"}) {
		t.Errorf("site update attributes = %v", got)
	}
	if got := attrs(map[string]any{"query": "entitytype=server"}); !slices.Contains(got, "last_checkin") {
		t.Errorf("server attributes by query = %v", got)
	}
	if got := attrs(map[string]any{"data": map[string]any{"entitytype": "transfer", "create": true}}); len(got) != 0 {
		t.Errorf("transfer create attributes = %v, want none", got)
	}
	expectError(t, c.call(http.MethodGet, "attributes", map[string]any{"data": map[string]any{"entitytype": "job"}}), http.StatusBadRequest, `"job"`)
	expectError(t, c.call(http.MethodGet, "attributes", nil), http.StatusBadRequest, "entity type is missing")
	expectError(t, c.call(http.MethodGet, "attributes", map[string]any{"data": map[string]any{"entitytype": "site", "create": "yes"}}), http.StatusBadRequest, `"create"`)
}

func TestQueryErrorsOverHTTP(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	expectError(t, c.call(http.MethodGet, "site/find", map[string]any{"query": "code=hq AND AND name=x"}), http.StatusBadRequest,
		`query syntax error at position 13 near "AND": expected a comparison`)
	expectError(t, c.call(http.MethodGet, "site/find", map[string]any{"query": "colour=red"}), http.StatusBadRequest,
		`position 1 near "colour": unknown site attribute`)
	expectError(t, c.call(http.MethodGet, "server/find", map[string]any{"query": "Server WHERE status=online and main=true"}), http.StatusBadRequest,
		`near "main": unknown server attribute`)
	got := mustOK(t, c.call(http.MethodGet, "site/find", map[string]any{"query": "Site WHERE code=hq"})).list(t)
	if len(got) != 1 {
		t.Errorf("Site WHERE code=hq found %d sites", len(got))
	}
	expectError(t, c.call(http.MethodGet, "site/find", map[string]any{"query": "Server WHERE code=hq"}), http.StatusBadRequest, "site/find")
}

func TestStoreFaultIsException(t *testing.T) {
	e, srv := newTestEmulator(t, SeedNone)
	c := login(t, srv, userWithRole(t, e, RoleAdmin))
	if err := e.db.Close(); err != nil {
		t.Fatal(err)
	}
	a := c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": "Lost"}})
	if a.Status != http.StatusInternalServerError || a.Exception == "" || a.Message != "" {
		t.Errorf("create on a closed store = %d %s, want 500 with an exception", a.Status, a.Body)
	}
	if got := c.findSites("code=lost", nil); len(got) != 0 {
		t.Errorf("a failed create shows in find: %v", codesOf(got))
	}
}

// transferStatusByName returns the status of every transfer by name.
func transferStatusByName(t *testing.T, c *apiClient) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tr := range mustOK(t, c.call(http.MethodGet, "transfer/find", nil)).list(t) {
		out[tr["name"].(string)] = tr["status"].(string)
	}
	return out
}

func TestDisablingSitePausesItsTransfers(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	admin := login(t, srv, userWithRole(t, e, RoleAdmin))
	london := admin.siteByCode("london")
	tokyo := admin.siteByCode("tokyo")
	shared, err := e.AddTransfer(model.Transfer{Name: "london to tokyo", Source: "site:" + london["id"].(string),
		Destination: "site:" + tokyo["id"].(string), Status: model.TransferRunning, Progress: 10})
	if err != nil {
		t.Fatal(err)
	}
	setStatus := func(site map[string]any, status string) {
		mustOK(t, admin.call(http.MethodPut, "site/edit", map[string]any{"id": site["id"], "data": map[string]any{"status": status}}))
	}

	before := transferStatusByName(t, admin)
	var londonOnly string
	for name, status := range before {
		if status == model.TransferRunning && name != shared.Name {
			londonOnly = name
		}
	}
	if londonOnly == "" {
		t.Fatalf("the demo seed has no running transfer besides ours: %v", before)
	}

	setStatus(london, model.StatusDisabled)
	setStatus(tokyo, model.StatusDisabled)
	after := transferStatusByName(t, admin)
	if after[londonOnly] != model.TransferPaused || after[shared.Name] != model.TransferPaused {
		t.Fatalf("after disabling london and tokyo: %v, want both transfers paused", after)
	}

	setStatus(london, model.StatusEnabled)
	after = transferStatusByName(t, admin)
	if after[londonOnly] != model.TransferRunning {
		t.Errorf("after enabling london its transfer is %s, want running", after[londonOnly])
	}
	if after[shared.Name] != model.TransferPaused {
		t.Errorf("the transfer to the still disabled tokyo is %s, want paused", after[shared.Name])
	}

	setStatus(tokyo, model.StatusEnabled)
	if status := transferStatusByName(t, admin)[shared.Name]; status != model.TransferRunning {
		t.Errorf("after enabling both sites the shared transfer is %s, want running", status)
	}
}
