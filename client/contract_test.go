package client

// Contract tests: the real client against the real emulator over HTTP on a
// loopback port.

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"accsyn-sites/emulator"
	"accsyn-sites/model"
)

// startEmulator starts an in-memory emulator with the given seed on a free
// loopback port and stops it when the test ends.
func startEmulator(t *testing.T, seed string) *emulator.Server {
	t.Helper()
	srv, err := emulator.Start(emulator.Options{Memory: true, Seed: seed}, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// emulatorUser returns the emulator's user with the role.
func emulatorUser(t testing.TB, srv *emulator.Server, role string) emulator.User {
	t.Helper()
	for _, u := range srv.Emulator.Users() {
		if u.Role == role {
			return u
		}
	}
	t.Fatalf("the emulator has no %s user", role)
	return emulator.User{}
}

// emulatorClient returns a client logged in to srv as the user with role.
func emulatorClient(t testing.TB, srv *emulator.Server, role string) *Client {
	t.Helper()
	u := emulatorUser(t, srv, role)
	cfg := Config{
		Workspace:       srv.Emulator.Workspace(),
		User:            u.Name,
		APIKey:          u.APIKey,
		Hostname:        srv.Host,
		Port:            srv.Port,
		Scheme:          "http",
		ConnectTimeout:  5 * time.Second,
		ResponseTimeout: 30 * time.Second,
	}
	return mustNew(t, cfg)
}

// siteByCode finds a live site by code through the client.
func siteByCode(t *testing.T, c *Client, code string) model.Site {
	t.Helper()
	sites, err := c.FindSites(context.Background(), FindOptions{Query: "code=" + code})
	if err != nil {
		t.Fatalf("find site %s: %v", code, err)
	}
	if len(sites) != 1 {
		t.Fatalf("find site %s: got %d sites, want 1", code, len(sites))
	}
	return sites[0]
}

func codes(sites []model.Site) []string {
	out := make([]string, len(sites))
	for i, s := range sites {
		out[i] = s.Code
	}
	return out
}

// expectKind fails unless err is an *Error of the kind whose text contains
// every one of words (compared case-insensitively).
func expectKind(t *testing.T, what string, err error, kind ErrorKind, words ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want a %v error", what, kind)
		return
	}
	e := asError(t, err)
	if e.Kind != kind {
		t.Errorf("%s: kind %v, want %v; error: %v", what, e.Kind, kind, e)
	}
	for _, w := range words {
		if !strings.Contains(strings.ToLower(e.Error()), strings.ToLower(w)) {
			t.Errorf("%s: error %q does not mention %q", what, e.Error(), w)
		}
	}
}

func TestContractLoginEachRole(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	for _, role := range []string{emulator.RoleAdmin, emulator.RoleEmployee, emulator.RoleStandard} {
		c := emulatorClient(t, srv, role)
		id, err := c.Login(context.Background())
		if err != nil {
			t.Fatalf("%s login: %v", role, err)
		}
		u := emulatorUser(t, srv, role)
		if id.Role != role || id.User != u.Name || id.Workspace != srv.Emulator.Workspace() || id.UserID == "" {
			t.Errorf("%s identity = %+v", role, id)
		}
	}
}

func TestContractBadCredentials(t *testing.T) {
	srv := startEmulator(t, emulator.SeedNone)
	admin := emulatorUser(t, srv, emulator.RoleAdmin)
	cfg := emulatorClient(t, srv, emulator.RoleAdmin).Config()

	cfg.APIKey = testKey
	_, err := mustNew(t, cfg).FindSites(context.Background(), FindOptions{})
	expectKind(t, "wrong key", err, KindAuth, "ACCSYN_API_KEY")

	cfg.APIKey, cfg.User = admin.APIKey, "nobody@local"
	_, err = mustNew(t, cfg).Login(context.Background())
	expectKind(t, "unknown user", err, KindAuth, "nobody@local")

	cfg.User, cfg.Workspace = admin.Name, "other"
	_, err = mustNew(t, cfg).Login(context.Background())
	expectKind(t, "wrong workspace", err, KindAuth, "other")
	assertNoKey(t, "error", err.Error())
	if strings.Contains(err.Error(), admin.APIKey) {
		t.Errorf("error %q contains the emulator API key", err)
	}
}

func TestContractFindSites(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()

	all, err := c.FindSites(ctx, FindOptions{})
	if err != nil {
		t.Fatalf("find all: %v", err)
	}
	for _, want := range []string{"accsyn", "roaming", "hq", "london", "stockholm", "la"} {
		if !slices.Contains(codes(all), want) {
			t.Errorf("all sites %v lack %s", codes(all), want)
		}
	}
	mains := 0
	for _, s := range all {
		if len(s.ID) != 24 || s.Name == "" || s.Created.IsZero() {
			t.Errorf("site %+v lacks id, name or created", s)
		}
		if s.Main {
			mains++
		}
	}
	if mains != 1 {
		t.Errorf("found %d main sites, want 1", mains)
	}

	hq := siteByCode(t, c, "hq")
	if !hq.Main || hq.Metadata["region"] != "eu-north" {
		t.Errorf("hq = %+v, want the main site with region eu-north", hq)
	}

	t.Run("query", func(t *testing.T) {
		got, err := c.FindSites(ctx, FindOptions{Query: "Site WHERE status=disabled"})
		if err != nil || !slices.Equal(codes(got), []string{"la"}) {
			t.Errorf("status=disabled = %v, %v; want [la]", codes(got), err)
		}
		got, err = c.FindSites(ctx, FindOptions{Query: `code in (london, "la") OR name="Stock*"`})
		if err != nil || len(got) != 3 {
			t.Errorf("in/wildcard query = %v, %v; want london, la, stockholm", codes(got), err)
		}
		got, err = c.FindSites(ctx, FindOptions{Query: "description contains 'a+b' AND code!=x/y"})
		if err != nil || len(got) != 0 {
			t.Errorf("query with + and / = %v, %v; want none", codes(got), err)
		}
	})

	t.Run("limit and skip", func(t *testing.T) {
		got, err := c.FindSites(ctx, FindOptions{Limit: 2})
		if err != nil || !slices.Equal(codes(got), codes(all[:2])) {
			t.Errorf("limit 2 = %v, %v; want %v", codes(got), err, codes(all[:2]))
		}
		got, err = c.FindSites(ctx, FindOptions{Skip: 2, Limit: 3})
		if err != nil || !slices.Equal(codes(got), codes(all[2:5])) {
			t.Errorf("skip 2 limit 3 = %v, %v; want %v", codes(got), err, codes(all[2:5]))
		}
		got, err = c.FindSites(ctx, FindOptions{Skip: len(all)})
		if err != nil || len(got) != 0 {
			t.Errorf("skip past the end = %v, %v; want an empty list", codes(got), err)
		}
	})

	t.Run("attributes", func(t *testing.T) {
		got, err := c.FindSites(ctx, FindOptions{Query: "code=hq", Attributes: []string{"name"}})
		if err != nil || len(got) != 1 {
			t.Fatalf("attributes [name] = %v, %v", got, err)
		}
		if got[0].Name != "HQ" || got[0].ID != hq.ID {
			t.Errorf("attributes [name] = %+v, want name HQ and the id", got[0])
		}
		if got[0].Code != "" || got[0].Description != "" || got[0].Main {
			t.Errorf("attributes [name] returned other attributes: %+v", got[0])
		}
		_, err = c.FindSites(ctx, FindOptions{Attributes: []string{"colour"}})
		expectKind(t, "unknown attribute in attributes", err, KindInvalid, "colour")
	})

	t.Run("bad query", func(t *testing.T) {
		_, err := c.FindSites(ctx, FindOptions{Query: "colour=red"})
		expectKind(t, "unknown attribute in query", err, KindInvalid, "colour")
		_, err = c.FindSites(ctx, FindOptions{Query: "code=(hq"})
		expectKind(t, "syntax error", err, KindInvalid)
	})
}

func TestContractFindOneSite(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()

	site, found, err := c.FindOneSite(ctx, FindOptions{Query: "status=enabled AND main=false AND code!=accsyn AND code!=roaming"})
	if err != nil {
		t.Fatalf("find one: %v", err)
	}
	if !found || site.Main || !site.Enabled() || site.Builtin() {
		t.Errorf("find one = %+v (found %v), want an enabled office site", site, found)
	}

	site, found, err = c.FindOneSite(ctx, FindOptions{Query: "code=nowhere"})
	if err != nil {
		t.Fatalf("find one with no match: %v", err)
	}
	if found || site.ID != "" {
		t.Errorf("find one with no match = %+v, found %v", site, found)
	}

	_, _, err = c.FindOneSite(ctx, FindOptions{Query: "code=="})
	if KindOf(err) != KindInvalid {
		t.Errorf("find one with a bad query: %v, want KindInvalid", err)
	}
}

func TestContractGetSite(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()
	london := siteByCode(t, c, "london")

	got, err := c.GetSite(ctx, london.ID)
	if err != nil {
		t.Fatalf("GetSite: %v", err)
	}
	if got.ID != london.ID || got.Code != "london" || got.Description != london.Description {
		t.Errorf("GetSite = %+v, want %+v", got, london)
	}
	_, err = c.GetSite(ctx, "ffffffffffffffffffffffff")
	expectKind(t, "unknown id", err, KindNotFound, "ffffffffffffffffffffffff")
	_, err = c.GetSite(ctx, "")
	expectKind(t, "empty id", err, KindInvalid, "empty")
}

func TestContractCreateSite(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()

	paris, err := c.CreateSite(ctx, map[string]any{"name": "Paris"})
	if err != nil {
		t.Fatalf("create with a name only: %v", err)
	}
	if paris.Code != "paris" || paris.Name != "Paris" || len(paris.ID) != 24 || !paris.Enabled() || paris.Main {
		t.Errorf("created %+v, want code paris, enabled, not main", paris)
	}
	if paris.Creator != model.ID(emulatorUser(t, srv, emulator.RoleAdmin).Name) {
		t.Errorf("creator = %q, want the admin user", paris.Creator)
	}

	fields := map[string]any{"name": "Berlin-2", "code": "ber2", "description": "Berlin studio", "metadata": map[string]any{"region": "eu-central", "racks": 4}}
	berlin, err := c.CreateSite(ctx, fields)
	if err != nil {
		t.Fatalf("create with all fields: %v", err)
	}
	if berlin.Code != "ber2" || berlin.Description != "Berlin studio" || berlin.Metadata["racks"] != float64(4) {
		t.Errorf("created %+v", berlin)
	}
	if got := siteByCode(t, c, "ber2"); got.ID != berlin.ID {
		t.Errorf("find after create returned %s, want %s", got.ID, berlin.ID)
	}

	_, err = c.CreateSite(ctx, map[string]any{"name": "LONDON"})
	expectKind(t, "duplicate code (case-insensitive)", err, KindConflict, "london")
	_, err = c.CreateSite(ctx, map[string]any{"name": "Other", "code": "hq"})
	expectKind(t, "duplicate code given", err, KindConflict, "hq")
	_, err = c.CreateSite(ctx, map[string]any{"name": "X", "colour": "red"})
	expectKind(t, "unknown attribute", err, KindInvalid, "colour")
	_, err = c.CreateSite(ctx, map[string]any{"name": "Y", "id": "aaaaaaaaaaaaaaaaaaaaaaaa"})
	expectKind(t, "backend attribute", err, KindInvalid, "id")
	_, err = c.CreateSite(ctx, map[string]any{"name": "has space"})
	expectKind(t, "bad name", err, KindInvalid, "has space")
	_, err = c.CreateSite(ctx, map[string]any{"description": "no name"})
	expectKind(t, "missing name", err, KindInvalid, "name")
	_, err = c.CreateSite(ctx, map[string]any{"name": 42})
	expectKind(t, "wrong type", err, KindInvalid, "name")
	_, err = c.CreateSite(ctx, nil)
	expectKind(t, "no fields", err, KindInvalid, "name")
}

func TestContractLargeMetadataUsesGzData(t *testing.T) {
	srv := startEmulator(t, emulator.SeedNone)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	blob := strings.Repeat("0123456789abcdef", 150*1024/16)
	site, err := c.CreateSite(context.Background(), map[string]any{"name": "bulk", "metadata": map[string]any{"blob": blob}})
	if err != nil {
		t.Fatalf("create with 150 KiB of metadata: %v", err)
	}
	got, err := c.GetSite(context.Background(), site.ID)
	if err != nil {
		t.Fatalf("GetSite: %v", err)
	}
	if got.Metadata["blob"] != blob {
		t.Errorf("metadata did not round-trip through gz_data")
	}
}

func TestContractUpdateSite(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()
	london := siteByCode(t, c, "london")
	hq := siteByCode(t, c, "hq")

	got, err := c.UpdateSite(ctx, london.ID, map[string]any{"description": "London office, Shoreditch", "status": "disabled"})
	if err != nil {
		t.Fatalf("edit description and status: %v", err)
	}
	if got.Description != "London office, Shoreditch" || got.Enabled() || got.ID != london.ID {
		t.Errorf("edited %+v", got)
	}
	if !got.Modified.After(london.Modified.Time) && !got.Modified.Equal(london.Modified.Time) {
		t.Errorf("modified %v is before the old %v", got.Modified, london.Modified)
	}

	_, err = c.UpdateSite(ctx, london.ID, map[string]any{"status": "paused"})
	expectKind(t, "bad status", err, KindInvalid, "paused")
	_, err = c.UpdateSite(ctx, london.ID, map[string]any{"colour": "red"})
	expectKind(t, "unknown attribute", err, KindInvalid, "colour")
	_, err = c.UpdateSite(ctx, london.ID, map[string]any{"code": "hq"})
	expectKind(t, "code clash", err, KindConflict, "hq")
	_, err = c.UpdateSite(ctx, "ffffffffffffffffffffffff", map[string]any{"description": "x"})
	expectKind(t, "unknown site", err, KindNotFound)
	_, err = c.UpdateSite(ctx, london.ID, nil)
	expectKind(t, "no changes", err, KindInvalid, string(london.ID))

	t.Run("main moves", func(t *testing.T) {
		moved, err := c.UpdateSite(ctx, london.ID, map[string]any{"main": true})
		if err != nil || !moved.Main {
			t.Fatalf("make london main = %+v, %v", moved, err)
		}
		if old := siteByCode(t, c, "hq"); old.Main {
			t.Errorf("hq is still main after london became main")
		}
		_, err = c.UpdateSite(ctx, london.ID, map[string]any{"main": false})
		expectKind(t, "main:false on the main site", err, KindConflict, "main")
		if _, err := c.UpdateSite(ctx, hq.ID, map[string]any{"main": true}); err != nil {
			t.Errorf("move main back to hq: %v", err)
		}
	})

	t.Run("built-in", func(t *testing.T) {
		accsyn := siteByCode(t, c, "accsyn")
		_, err := c.UpdateSite(ctx, accsyn.ID, map[string]any{"name": "renamed"})
		expectKind(t, "rename built-in", err, KindConflict, "built-in")
		_, err = c.UpdateSite(ctx, accsyn.ID, map[string]any{"status": "disabled"})
		expectKind(t, "disable built-in", err, KindConflict, "built-in")
	})
}

func TestContractDeleteSite(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()

	stockholm := siteByCode(t, c, "stockholm")
	if err := c.DeleteSite(ctx, stockholm.ID); err != nil {
		t.Fatalf("delete stockholm: %v", err)
	}
	live, err := c.FindSites(ctx, FindOptions{})
	if err != nil || slices.Contains(codes(live), "stockholm") {
		t.Errorf("after delete, live sites = %v, %v; want no stockholm", codes(live), err)
	}
	archived, err := c.FindSites(ctx, FindOptions{Archived: true})
	if err != nil || !slices.Contains(codes(archived), "stockholm") {
		t.Errorf("archived sites = %v, %v; want stockholm", codes(archived), err)
	}
	_, err = c.GetSite(ctx, stockholm.ID)
	expectKind(t, "get a deleted site", err, KindNotFound)
	err = c.DeleteSite(ctx, stockholm.ID)
	expectKind(t, "delete twice", err, KindNotFound)
	if _, err := c.CreateSite(ctx, map[string]any{"name": "Stockholm"}); err != nil {
		t.Errorf("a deleted site's code should be free again: %v", err)
	}

	err = c.DeleteSite(ctx, siteByCode(t, c, "london").ID)
	expectKind(t, "delete with a server", err, KindConflict, "1 server", "ldn-site-01")
	err = c.DeleteSite(ctx, siteByCode(t, c, "hq").ID)
	expectKind(t, "delete the main site", err, KindConflict, "main")
	err = c.DeleteSite(ctx, siteByCode(t, c, "accsyn").ID)
	expectKind(t, "delete a built-in", err, KindConflict, "built-in")
	err = c.DeleteSite(ctx, siteByCode(t, c, "roaming").ID)
	expectKind(t, "delete roaming", err, KindConflict, "built-in")

	t.Run("active transfer", func(t *testing.T) {
		empty, err := c.CreateSite(ctx, map[string]any{"name": "staging"})
		if err != nil {
			t.Fatal(err)
		}
		tr, err := srv.Emulator.AddTransfer(model.Transfer{Name: "push to staging", Source: "site:" + string(siteByCode(t, c, "hq").ID),
			Destination: "site:" + string(empty.ID), Status: model.TransferRunning, Progress: 10})
		if err != nil {
			t.Fatalf("AddTransfer: %v", err)
		}
		err = c.DeleteSite(ctx, empty.ID)
		expectKind(t, "delete with an active transfer", err, KindConflict, "1 active transfer", "push to staging")
		if err := srv.Emulator.SetTransferStatus(tr.ID, model.TransferDone); err != nil {
			t.Fatalf("SetTransferStatus: %v", err)
		}
		if err := c.DeleteSite(ctx, empty.ID); err != nil {
			t.Errorf("delete after the transfer is done: %v", err)
		}
	})
}

func TestContractServersAndTransfers(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()
	london := siteByCode(t, c, "london")
	hq := siteByCode(t, c, "hq")

	servers, err := c.FindServers(ctx, london.ID)
	if err != nil {
		t.Fatalf("servers of london: %v", err)
	}
	if len(servers) != 1 || servers[0].Code != "ldn-site-01" || servers[0].Site != london.ID || !servers[0].Online() {
		t.Errorf("servers of london = %+v, want ldn-site-01 online", servers)
	}
	if servers[0].LastCheckin.IsZero() || !strings.HasPrefix(servers[0].SiteHR, "london(") {
		t.Errorf("server lacks last_checkin or site_hr: %+v", servers[0])
	}

	all, err := c.FindServers(ctx, "")
	if err != nil {
		t.Fatalf("all servers: %v", err)
	}
	hqServers := model.ServersOf(hq.ID, all)
	if len(all) < 4 || len(hqServers) != 3 {
		t.Errorf("all servers = %d (hq %d), want several with 3 at hq", len(all), len(hqServers))
	}
	if state := model.StateOf(hq, all); state != model.StateOnline {
		t.Errorf("hq state = %v, want online", state)
	}

	added, err := srv.Emulator.AddServer(model.Server{Code: "ldn-site-02", Site: london.ID})
	if err != nil {
		t.Fatalf("AddServer: %v", err)
	}
	if err := srv.Emulator.SetServerStatus(added.ID, model.ServerOffline); err != nil {
		t.Fatalf("SetServerStatus: %v", err)
	}
	servers, err = c.FindServers(ctx, london.ID)
	if err != nil || len(servers) != 2 {
		t.Fatalf("servers of london after adding one = %d, %v; want 2", len(servers), err)
	}

	transfers, err := c.FindTransfers(ctx, "")
	if err != nil || len(transfers) < 2 {
		t.Fatalf("all transfers = %d, %v; want at least 2", len(transfers), err)
	}
	running, err := c.FindTransfers(ctx, "status=running")
	if err != nil || len(running) != 1 || running[0].Status != model.TransferRunning {
		t.Errorf("running transfers = %+v, %v; want one", running, err)
	}
	if active := model.ActiveTransfers(london.ID, transfers, all); len(active) != 1 {
		t.Errorf("active transfers at london = %d, want 1", len(active))
	}
	_, err = c.FindTransfers(ctx, "speed contains x(")
	expectKind(t, "bad transfer query", err, KindInvalid)
}

func TestContractEntityTypesAndAttributes(t *testing.T) {
	srv := startEmulator(t, emulator.SeedNone)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()

	types, err := c.EntityTypes(ctx)
	if err != nil {
		t.Fatalf("EntityTypes: %v", err)
	}
	for _, want := range []string{"site", "server", "transfer"} {
		if !slices.Contains(types, want) {
			t.Errorf("entity types %v lack %s", types, want)
		}
	}

	readable, err := c.Attributes(ctx, "site", false, false)
	if err != nil {
		t.Fatalf("Attributes: %v", err)
	}
	for _, want := range []string{"id", "name", "code", "description", "status", "main", "accsyn", "metadata", "created", "creator", "modified", "modifier"} {
		if !slices.Contains(readable, want) {
			t.Errorf("readable site attributes %v lack %s", readable, want)
		}
	}
	create, err := c.Attributes(ctx, "Site", true, false)
	if err != nil {
		t.Fatalf("Attributes create: %v", err)
	}
	for _, want := range []string{"name", "code", "description", "metadata"} {
		if !slices.Contains(create, want) {
			t.Errorf("create attributes %v lack %s", create, want)
		}
	}
	for _, never := range []string{"id", "created", "accsyn"} {
		if slices.Contains(create, never) {
			t.Errorf("create attributes %v include the backend attribute %s", create, never)
		}
	}
	update, err := c.Attributes(ctx, "site", false, true)
	if err != nil {
		t.Fatalf("Attributes update: %v", err)
	}
	for _, want := range []string{"status", "main", "name"} {
		if !slices.Contains(update, want) {
			t.Errorf("update attributes %v lack %s", update, want)
		}
	}
	_, err = c.Attributes(ctx, "spaceship", false, false)
	expectKind(t, "unknown entity type", err, KindInvalid, "spaceship")
	_, err = c.Attributes(ctx, " ", false, false)
	expectKind(t, "empty entity type", err, KindInvalid, "empty")
}

func TestContractRoles(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	ctx := context.Background()
	admin := emulatorClient(t, srv, emulator.RoleAdmin)
	london := siteByCode(t, admin, "london")

	employee := emulatorClient(t, srv, emulator.RoleEmployee)
	sites, err := employee.FindSites(ctx, FindOptions{})
	if err != nil || len(sites) == 0 {
		t.Errorf("employee find = %d sites, %v; want the sites", len(sites), err)
	}
	if _, err := employee.FindServers(ctx, london.ID); err != nil {
		t.Errorf("employee servers: %v", err)
	}
	if _, err := employee.FindTransfers(ctx, ""); err != nil {
		t.Errorf("employee transfers: %v", err)
	}
	_, err = employee.CreateSite(ctx, map[string]any{"name": "nope"})
	expectKind(t, "employee create", err, KindForbidden, "employee")
	_, err = employee.UpdateSite(ctx, london.ID, map[string]any{"description": "x"})
	expectKind(t, "employee edit", err, KindForbidden, "employee")
	err = employee.DeleteSite(ctx, london.ID)
	expectKind(t, "employee delete", err, KindForbidden, "employee")

	standard := emulatorClient(t, srv, emulator.RoleStandard)
	_, err = standard.FindSites(ctx, FindOptions{})
	expectKind(t, "standard find", err, KindForbidden, "standard")
	_, err = standard.GetSite(ctx, london.ID)
	expectKind(t, "standard get", err, KindForbidden)
	_, err = standard.CreateSite(ctx, map[string]any{"name": "nope"})
	expectKind(t, "standard create", err, KindForbidden)
}

func TestContractExpiredSession(t *testing.T) {
	srv := startEmulator(t, emulator.SeedNone)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()
	first, err := c.Login(ctx)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	// Replace the session with one the emulator never issued, as if it had
	// expired.
	c.mu.Lock()
	c.sess = &session{id: strings.Repeat("0", 64), identity: first}
	stale := c.sess
	c.mu.Unlock()

	if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
		t.Fatalf("call with an expired session: %v", err)
	}
	c.mu.Lock()
	renewed := c.sess != stale
	c.mu.Unlock()
	if !renewed {
		t.Errorf("the client kept the expired session")
	}
}

func TestContractEmulatorStopped(t *testing.T) {
	srv := startEmulator(t, emulator.SeedNone)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()
	if _, err := c.FindSites(ctx, FindOptions{}); err != nil {
		t.Fatalf("find: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("close emulator: %v", err)
	}
	_, err := c.FindSites(ctx, FindOptions{})
	expectKind(t, "find after the emulator stopped", err, KindUnreachable,
		fmt.Sprintf("%s:%d", srv.Host, srv.Port), "emulator is running")
}

func TestContractUnknownEndpointIsNotAccsyn(t *testing.T) {
	// A server that responds 404 with a non-JSON page, as a web server at
	// the wrong port would, is reported as a bad response.
	srv := newWireServer(t)
	srv.srv.Config.Handler = http.NotFoundHandler()
	_, err := srv.client().Login(context.Background())
	expectKind(t, "404 page", err, KindBadResponse, "HTTP 404", "404 page not found")
}

func TestContractConcurrentUse(t *testing.T) {
	srv := startEmulator(t, emulator.SeedDemo)
	c := emulatorClient(t, srv, emulator.RoleAdmin)
	ctx := context.Background()

	const workers = 8
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("worker-%d", i)
			site, err := c.CreateSite(ctx, map[string]any{"name": name})
			if err != nil {
				t.Errorf("%s create: %v", name, err)
				return
			}
			if _, err := c.UpdateSite(ctx, site.ID, map[string]any{"description": "made by " + name}); err != nil {
				t.Errorf("%s edit: %v", name, err)
			}
			if _, err := c.FindSites(ctx, FindOptions{Query: "code=" + name}); err != nil {
				t.Errorf("%s find: %v", name, err)
			}
			if _, err := c.FindServers(ctx, ""); err != nil {
				t.Errorf("%s servers: %v", name, err)
			}
			if err := c.DeleteSite(ctx, site.ID); err != nil {
				t.Errorf("%s delete: %v", name, err)
			}
		})
	}
	wg.Wait()
	archived, err := c.FindSites(ctx, FindOptions{Archived: true, Query: "code=worker-*"})
	if err != nil || len(archived) != workers {
		t.Errorf("archived worker sites = %d, %v; want %d", len(archived), err, workers)
	}
}

func TestContractRegistryLookup(t *testing.T) {
	srv := startEmulator(t, emulator.SeedNone)
	cfg := emulatorClient(t, srv, emulator.RoleAdmin).Config()
	cfg.Hostname, cfg.Port, cfg.RegistryURL = "", 0, srv.URL
	c := mustNew(t, cfg)
	ctx := context.Background()

	id, err := c.Login(ctx)
	if err != nil {
		t.Fatalf("login through the registry: %v", err)
	}
	if id.Role != emulator.RoleAdmin {
		t.Errorf("role = %q, want admin", id.Role)
	}
	got := c.Config()
	if got.Hostname != srv.Host || got.Port != srv.Port {
		t.Errorf("looked-up host = %s:%d, want %s:%d", got.Hostname, got.Port, srv.Host, srv.Port)
	}

	cfg.Workspace = "elsewhere"
	_, err = mustNew(t, cfg).Login(ctx)
	expectKind(t, "unknown workspace in the registry", err, KindNotFound, "elsewhere")
}
