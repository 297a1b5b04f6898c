package emulator

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"accsyn-sites/model"
)

// addSitesDirect stores n generated sites in one transaction, bypassing
// HTTP so a benchmark can build a large workspace quickly.
func addSitesDirect(tb testing.TB, e *Emulator, n int) {
	tb.Helper()
	now := model.NewTime(e.now())
	var recs []*siteRecord
	err := e.inTx(func(tx *sql.Tx) error {
		for i := range n {
			status := model.StatusEnabled
			if i%7 == 0 {
				status = model.StatusDisabled
			}
			s := model.Site{
				ID: newID(), Name: fmt.Sprintf("Site_%05d", i), Code: fmt.Sprintf("site_%05d", i),
				Description: fmt.Sprintf("Generated site number %d", i), Status: status,
				Metadata: map[string]any{"region": fmt.Sprintf("region-%d", i%10), "index": float64(i)},
				Created:  now, Creator: "admin@local", Modified: now, Modifier: "admin@local",
			}
			if err := insertSite(tx, s); err != nil {
				return err
			}
			recs = append(recs, newSiteRecord(s, false))
		}
		return nil
	}, func() {
		for _, rec := range recs {
			e.siteIndex[rec.site.ID] = len(e.sites)
			e.sites = append(e.sites, rec)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkSiteFindHTTP runs site/find over HTTP against 10,000 sites: the
// whole list, a query that scans every site, and a limited page. Each
// iteration is one request whose body is read but not decoded.
func BenchmarkSiteFindHTTP(b *testing.B) {
	e, srv := newTestEmulator(b, SeedNone)
	addSitesDirect(b, e, 10000)
	c := login(b, srv, userWithRole(b, e, RoleAdmin))
	cases := []struct {
		name   string
		fields map[string]any
		want   int
	}{
		{"all", nil, 10003},
		{"query", map[string]any{"query": "status=enabled and (metadata.region=region-3 or code matches '_0000[0-9]$') and description contains 'number'"}, 0},
		{"page", map[string]any{"query": "code=site_*", "data": map[string]any{"limit": 50, "skip": 5000}}, 50},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			first := c.call(http.MethodGet, "site/find", bc.fields)
			n := len(mustOK(b, first).list(b))
			if bc.want != 0 && n != bc.want {
				b.Fatalf("found %d sites, want %d", n, bc.want)
			}
			data, err := json.Marshal(c.event("site/find", bc.fields))
			if err != nil {
				b.Fatal(err)
			}
			target := c.base + eventPath + "?" + url.PathEscape(string(data))
			auth := authHeader(c.user.Name, c.user.APIKey)
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, target, nil)
				req.Header.Set("Authorization", auth)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
