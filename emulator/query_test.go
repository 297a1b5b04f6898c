package emulator

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"accsyn-sites/model"
)

// querySites are the rows the query table tests run over.
func querySites() []*siteRecord {
	at := func(s string) model.Time {
		t, err := model.ParseTime(s)
		if err != nil {
			panic(err)
		}
		return model.NewTime(t)
	}
	sites := []model.Site{
		{ID: "aaaaaaaaaaaaaaaaaaaaaaaa", Name: "HQ", Code: "hq", Description: "Head office", Status: "enabled", Main: true,
			Metadata: map[string]any{"region": "eu-north", "racks": float64(12)}, Created: at("2025-01-10T08:00:00"), Creator: "accsyn"},
		{ID: "bbbbbbbbbbbbbbbbbbbbbbbb", Name: "London", Code: "london", Description: "London office, Soho", Status: "enabled",
			Metadata: map[string]any{"region": "eu-west", "racks": float64(4)}, Created: at("2026-02-12T11:25:00"), Creator: "admin@local"},
		{ID: "cccccccccccccccccccccccc", Name: "LA", Code: "la", Description: "Los Angeles backup", Status: "disabled",
			Metadata: map[string]any{"region": "us-west"}, Created: at("2026-02-12T18:00:00.250"), Creator: "admin@local"},
		{ID: "dddddddddddddddddddddddd", Name: "Tokyo", Code: "tokyo", Description: "", Status: "enabled",
			Metadata: map[string]any{"Owner": "Ann", "rack": map[string]any{"Row": "B"}}, Created: at("2026-06-01T00:00:00"), Creator: "admin@local"},
		{ID: "eeeeeeeeeeeeeeeeeeeeeeee", Name: "accsyn", Code: "accsyn", Description: "Cloud backup", Status: "enabled", Accsyn: true,
			Created: at("2024-12-31T23:59:59"), Creator: "accsyn"},
	}
	out := make([]*siteRecord, len(sites))
	for i, s := range sites {
		out[i] = newSiteRecord(s, false)
	}
	return out
}

func runQuery(t *testing.T, query string) ([]string, error) {
	t.Helper()
	q, err := parseQuery(query)
	if err != nil {
		return nil, err
	}
	cond, err := compileQuery(q, siteType)
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, rec := range querySites() {
		if cond == nil || cond.match(rec.fields) {
			codes = append(codes, rec.site.Code)
		}
	}
	return codes, nil
}

func TestQueryMatches(t *testing.T) {
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"hq", "london", "la", "tokyo", "accsyn"}},
		{"   ", []string{"hq", "london", "la", "tokyo", "accsyn"}},
		{"Site", []string{"hq", "london", "la", "tokyo", "accsyn"}},
		{"code=hq", []string{"hq"}},
		{"CODE = HQ", []string{"hq"}},
		{"name=london", []string{"london"}},
		{"code!=hq", []string{"london", "la", "tokyo", "accsyn"}},
		{"code<>hq", []string{"london", "la", "tokyo", "accsyn"}},
		{"code<la", []string{"hq", "accsyn"}},
		{"code<=la", []string{"hq", "la", "accsyn"}},
		{"code>london", []string{"tokyo"}},
		{"code>=london", []string{"london", "tokyo"}},
		{"code in (hq, la)", []string{"hq", "la"}},
		{"code in hq,la", []string{"hq", "la"}},
		{"code IN ('hq')", []string{"hq"}},
		{"code not in (hq,la)", []string{"london", "tokyo", "accsyn"}},
		{"code NOT IN (hq,la,london,tokyo,accsyn)", nil},
		{"description contains office", []string{"hq", "london"}},
		{"description CONTAINS 'OFFICE, SOHO'", []string{"london"}},
		{"description not contains office", []string{"la", "tokyo", "accsyn"}},
		{"code matches '^l'", []string{"london", "la"}},
		{"code matches ^L", []string{"london", "la"}},
		{`code matches "o.+o"`, []string{"london", "tokyo"}},
		{"code not matches ^l", []string{"hq", "tokyo", "accsyn"}},
		{`description="* backup"`, []string{"la", "accsyn"}},
		{"description='*BACKUP'", []string{"la", "accsyn"}},
		{"code=l*", []string{"london", "la"}},
		{"code=*o*", []string{"london", "tokyo"}},
		{"code!=l*", []string{"hq", "tokyo", "accsyn"}},
		{"code in (l*, h*)", []string{"hq", "london", "la"}},
		{"description=''", []string{"tokyo"}},
		{"description=null", []string{"tokyo"}},
		{"description!=null", []string{"hq", "london", "la", "accsyn"}},
		{`name="Los Angeles backup" or description="Los Angeles backup"`, []string{"la"}},
		{`description='it\'s'`, nil},
		{`description="Los \"Angeles\" \\"`, nil},
		{`description="Head office"`, []string{"hq"}},
		{`description='Head office'`, []string{"hq"}},
		{"main=true", []string{"hq"}},
		{"MAIN = TRUE", []string{"hq"}},
		{"main=false", []string{"london", "la", "tokyo", "accsyn"}},
		{"main!=true", []string{"london", "la", "tokyo", "accsyn"}},
		{"accsyn=true", []string{"accsyn"}},
		{"main in (true)", []string{"hq"}},
		{"created>2026-01-01", []string{"london", "la", "tokyo"}},
		{"created<2025-01-01", []string{"accsyn"}},
		{"created=2026-02-12", []string{"london", "la"}},
		{"created>=2026-02-12", []string{"london", "la", "tokyo"}},
		{"created<=2026-02-12", []string{"hq", "london", "la", "accsyn"}},
		{"created>2026-02-12", []string{"tokyo"}},
		{"created=2026-02-12T11:25:00", []string{"london"}},
		{"created=2026-02-12t11:25", []string{"london"}},
		{"created='2026-02-12 18:00:00.250'", []string{"la"}},
		{"created>2026-02-12T11:25:00", []string{"la", "tokyo"}},
		{"created=2026-02-*", []string{"london", "la"}},
		{"creator=accsyn", []string{"hq", "accsyn"}},
		{"creator=admin@local", []string{"london", "la", "tokyo"}},
		{"id=aaaaaaaaaaaaaaaaaaaaaaaa", []string{"hq"}},
		{"id=ObjectId:aaaaaaaaaaaaaaaaaaaaaaaa", []string{"hq"}},
		{"id=objectid:AAAAAAAAAAAAAAAAAAAAAAAA", []string{"hq"}},
		{"metadata.region=eu-west", []string{"london"}},
		{"METADATA.REGION=EU-*", []string{"hq", "london"}},
		{"metadata.racks>5", []string{"hq"}},
		{"metadata.racks<5", []string{"london"}},
		{"metadata.racks=4", []string{"london"}},
		{"metadata.missing=x", nil},
		{"metadata.region=null", []string{"tokyo", "accsyn"}},
		{"metadata contains eu-west", []string{"london"}},
		{"metadata.OWNER=ANN", []string{"tokyo"}},
		{"metadata.owner!=ann", []string{"hq", "london", "la", "accsyn"}},
		{`metadata.rack contains '"row":"b"'`, []string{"tokyo"}},
		{"metadata=null", nil},
		{"code=hq or code=la and status=enabled", []string{"hq"}},
		{"(code=hq or code=la) and status=disabled", []string{"la"}},
		{"code=la and status=disabled or code=tokyo", []string{"la", "tokyo"}},
		{"code=tokyo or code=la and status=enabled", []string{"tokyo"}},
		{"((code=hq) or ((code=la)))", []string{"hq", "la"}},
		{"status=enabled and (description contains office or (main=false and code matches ^t))", []string{"hq", "london", "tokyo"}},
		{"code=hq AND main=true", []string{"hq"}},
		{"code=hq Or code=la", []string{"hq", "la"}},
		{"site where code=hq", []string{"hq"}},
		{"SITE WHERE code=hq", []string{"hq"}},
		{"name=and", nil},
		{`description="a,b (c)=d"`, nil},
	}
	for _, tc := range cases {
		got, err := runQuery(t, tc.query)
		if err != nil {
			t.Errorf("query %q: %v", tc.query, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("query %q matched %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	cases := []struct {
		query string
		pos   int
		near  string
		want  string
	}{
		{"code=hq AND AND name=x", 13, "AND", `query syntax error at position 13 near "AND": expected a comparison`},
		{"code=hq and", 12, "", "end of query"},
		{"code", 5, "", "expected an operator"},
		{"code hq", 6, "hq", "expected an operator"},
		{"code=", 6, "", "expected a value"},
		{"=hq", 1, "=", "expected a comparison"},
		{"(code=hq", 1, "(", "never closed"},
		{"code=hq)", 8, ")", "no matching ("},
		{"code=hq name=x", 9, "name", "expected AND, OR or the end"},
		{"code='hq", 6, "'hq", "not closed"},
		{`code="hq`, 6, `"hq`, "not closed"},
		{"code ! hq", 6, "!", "lone !"},
		{"code not hq", 10, "hq", "expected in, contains or matches after not"},
		{"code in (hq, la", 16, "", "expected , or )"},
		{"code in ()", 10, ")", "expected a value"},
		{"colour=red", 1, "colour", "unknown site attribute: use one of id, name, code"},
		{"code=hq or Colour=red", 12, "colour", "unknown site attribute"},
		{"name.first=x", 1, "name.first", "has no keys"},
		{"main=maybe", 6, "maybe", `main is true or false, not "maybe"`},
		{"main>true", 6, "true", "compare it with = or !="},
		{"created>yesterday", 9, "yesterday", "created is a date"},
		{"code matches '('", 14, "'('", "invalid regular expression"},
		{"server where code=hq", 1, "server", "site/find"},
		{"site where", 11, "", "expected a comparison after WHERE"},
		{"1code=x", 1, "1code", "expected an attribute name"},
		{"and=x", 1, "and", "expected a comparison"},
		{"code=hq or (", 13, "", "expected a comparison"},
		{"código=x", 1, "código", "expected an attribute name"},
		{"name='é' and +=x", 14, "+", "expected an attribute name"},
	}
	for _, tc := range cases {
		_, err := runQuery(t, tc.query)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("query %q: error %v is not a *QueryError", tc.query, err)
			continue
		}
		if qe.Pos != tc.pos || qe.Near != tc.near {
			t.Errorf("query %q: error at position %d near %q, want %d near %q (%v)", tc.query, qe.Pos, qe.Near, tc.pos, tc.near, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("query %q: error %q does not contain %q", tc.query, err, tc.want)
		}
		if !strings.Contains(err.Error(), "position") {
			t.Errorf("query %q: error %q gives no position", tc.query, err)
		}
	}
}

func TestQueryOverServersAndTransfers(t *testing.T) {
	now := time.Now()
	server := serverEntity(model.Server{ID: "ffffffffffffffffffffffff", Code: "ldn-01", Site: "bbbbbbbbbbbbbbbbbbbbbbbb",
		Status: "online", LastCheckin: model.NewTime(now)})
	transfer := transferEntity(model.Transfer{ID: "111111111111111111111111", Name: "Delivery", Status: "running", Progress: 42, Size: 1 << 30})
	check := func(et *entityType, query string, fields map[string]any, want bool) {
		t.Helper()
		q, err := parseQuery(query)
		if err != nil {
			t.Errorf("%s query %q: %v", et.name, query, err)
			return
		}
		cond, err := compileQuery(q, et)
		if err != nil {
			t.Errorf("%s query %q: %v", et.name, query, err)
			return
		}
		if got := cond.match(fields); got != want {
			t.Errorf("%s query %q matched %v, want %v", et.name, query, got, want)
		}
	}
	check(serverType, "site=bbbbbbbbbbbbbbbbbbbbbbbb and status=online", server.fields, true)
	check(serverType, "site=objectid:bbbbbbbbbbbbbbbbbbbbbbbb", server.fields, true)
	check(serverType, "last_checkin>"+now.UTC().Add(-time.Hour).Format("2006-01-02T15:04:05"), server.fields, true)
	check(transferType, "progress>40 and progress<43.5", transfer.fields, true)
	check(transferType, "size>=1073741824", transfer.fields, true)
	check(transferType, "progress in (41, 42)", transfer.fields, true)
	check(transferType, "status not in (done, aborted)", transfer.fields, true)
	check(transferType, "finished=null", transfer.fields, true)
	if _, err := runQuery(t, "progress>1"); err == nil {
		t.Error("progress is not a site attribute, yet the site query compiled")
	}
	q, _ := parseQuery("progress>many")
	if _, err := compileQuery(q, transferType); err == nil || !strings.Contains(err.Error(), "progress is a number") {
		t.Errorf("progress>many: %v", err)
	}
}

// FuzzParseQuery checks that the parser never panics, and either returns a
// query or a *QueryError with a position inside the input or just past it.
func FuzzParseQuery(f *testing.F) {
	seeds := []string{
		"", "code=hq", "code=hq AND AND name=x", "(code=hq or code=la) and main=true", "code in (a,b,'c d')",
		"code not in a,b", "description contains 'x'", "code not matches '^a'", `name="* backup"`,
		"site where code=hq", "metadata.region=eu-*", "created>=2026-01-01T00:00:00", "((((", "))))", "'", `"`,
		"code=='x'", "a b c", "not", "code not", "código=é", "\x00=\xff", "code<>x or", "x in (", "!x", "= = =",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := parseQuery(query)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("parseQuery(%q) returned %T, want *QueryError", query, err)
			}
			if qe.Pos < 1 || qe.Pos > utf8.RuneCountInString(query)+1 {
				t.Fatalf("parseQuery(%q) error position %d is outside 1..%d", query, qe.Pos, utf8.RuneCountInString(query)+1)
			}
			return
		}
		if q == nil {
			t.Fatalf("parseQuery(%q) returned neither a query nor an error", query)
		}
		for _, et := range entityTypes {
			cond, err := compileQuery(q, et)
			if err == nil && cond != nil {
				for _, rec := range querySites() {
					cond.match(rec.fields)
				}
			}
		}
	})
}
