package emulator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestConcurrentMainAndCreate races 50 goroutines, each making a different
// site main and creating a site with the same code, on an on-disk store.
func TestConcurrentMainAndCreate(t *testing.T) {
	e, err := Open(Options{DataDir: t.TempDir(), Seed: SeedNone})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	c := login(t, srv, userWithRole(t, e, RoleAdmin))

	const workers = 50
	ids := make([]any, workers)
	for i := range ids {
		created := mustOK(t, c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": fmt.Sprintf("site-%02d", i)}}))
		ids[i] = created.list(t)[0]["id"]
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	type outcome struct{ mainStatus, createStatus int }
	results := make([]outcome, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			main := c.call(http.MethodPut, "site/edit", map[string]any{"id": ids[i], "data": map[string]any{"main": true}})
			create := c.call(http.MethodPost, "site/create", map[string]any{"data": map[string]any{"name": "Race", "code": "race"}})
			results[i] = outcome{main.Status, create.Status}
		}()
	}
	close(start)
	wg.Wait()

	created := 0
	for i, r := range results {
		if r.mainStatus != http.StatusOK {
			t.Errorf("worker %d: making its site main answered %d", i, r.mainStatus)
		}
		switch r.createStatus {
		case http.StatusOK:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("worker %d: create answered %d, want 200 or 409", i, r.createStatus)
		}
	}
	if created != 1 {
		t.Errorf("%d creates of code race succeeded, want exactly 1", created)
	}
	if mains := c.findSites("main=true", nil); len(mains) != 1 {
		t.Errorf("%d main sites after the race (%v), want 1", len(mains), codesOf(mains))
	}
	if races := c.findSites("code=race", nil); len(races) != 1 {
		t.Errorf("%d sites with code race, want 1", len(races))
	}

	var storedMains, storedRaces int
	e.db.QueryRow("SELECT count(*) FROM sites WHERE main = 1 AND archived = 0").Scan(&storedMains)
	e.db.QueryRow("SELECT count(*) FROM sites WHERE lower(code) = 'race' AND archived = 0").Scan(&storedRaces)
	if storedMains != 1 || storedRaces != 1 {
		t.Errorf("the store holds %d main sites and %d sites with code race, want 1 and 1", storedMains, storedRaces)
	}
}
