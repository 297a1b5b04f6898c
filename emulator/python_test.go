package emulator

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/uuid"
)

// The official accsyn Python API (accsyn_api/session.py, version 3) cannot
// be installed here, so this file replays the requests it sends. These
// parts match it byte for byte: json.dumps with ", " and ": " separators and
// ASCII escapes, and urllib.parse.quote of the whole event for GET and
// DELETE, so '/' stays literal and '+' becomes %2B. The replay also keeps
// the "basic <b64>:<b64>" header, the client-made session id sent at login,
// an empty payload sent as a missing "data" key (older versions) or as
// "data": null (newer ones), and lower-case query expressions.

// pyPair is one key and value of an ordered Python dict.
type pyPair struct {
	key   string
	value any
}

// pyDumps encodes v as Python's json.dumps does by default.
func pyDumps(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case int:
		return strconv.Itoa(v)
	case string:
		return pyString(v)
	case []pyPair:
		parts := make([]string, len(v))
		for i, p := range v {
			parts[i] = pyString(p.key) + ": " + pyDumps(p.value)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = pyString(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	panic(fmt.Sprintf("pyDumps: unsupported %T", v))
}

// pyString encodes a string as json.dumps does with ensure_ascii=True.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// pyQuote percent-encodes s as urllib.parse.quote(s) does: letters,
// digits, "_.-~" and the default safe character '/' stay as they are.
func pyQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// pythonSession sends requests the way the Python API's Session does.
type pythonSession struct {
	t         *testing.T
	base      string
	workspace string
	user      User
	sessionID string
	// nullData sends "data": null for an empty payload, as newer versions
	// of the Python API do, instead of leaving the key out.
	nullData bool
}

func (p *pythonSession) headers(req *http.Request) {
	auth := base64.StdEncoding.EncodeToString([]byte(p.user.Name)) + ":" + base64.StdEncoding.EncodeToString([]byte(p.user.APIKey))
	req.Header.Set("Authorization", "basic "+auth)
	req.Header.Set("X-Accsyn-Workspace", p.workspace)
	req.Header.Set("X-Accsyn-Device", "PythonAPI v3.1.0 @ linux host(posix)")
}

func (p *pythonSession) login() answer {
	p.t.Helper()
	body := pyDumps([]pyPair{{"session_id", p.sessionID}})
	req, _ := http.NewRequest(http.MethodPut, p.base+"/api/v3/api/login", strings.NewReader(body))
	p.headers(req)
	return doRequest(p.t, req)
}

// event sends one event as Session._event and Session._rest do.
func (p *pythonSession) event(method, uri string, data []pyPair, query, entityID string) answer {
	p.t.Helper()
	ev := []pyPair{
		{"audience", "api"},
		{"workspace", p.workspace},
		{"eid", uuid.NewString()},
		{"session", p.sessionID},
		{"uri", uri},
		{"ident", p.user.Name},
		{"created", time.Now().Format("2006-01-02T15:04:05")},
		{"hostname", "host"},
	}
	switch {
	case len(data) > 0:
		ev = append(ev, pyPair{"data", data})
	case p.nullData:
		ev = append(ev, pyPair{"data", nil})
	}
	if query != "" {
		ev = append(ev, pyPair{"query", query})
	}
	if entityID != "" {
		ev = append(ev, pyPair{"id", entityID})
	}
	dumped := pyDumps(ev)
	var req *http.Request
	switch method {
	case http.MethodGet, http.MethodDelete:
		quoted := pyQuote(dumped)
		req, _ = http.NewRequest(method, p.base+"/api/v3/event?"+quoted, nil)
		if req.URL.RawQuery != quoted {
			p.t.Fatalf("the request query string was re-encoded: %q", req.URL.RawQuery)
		}
	default:
		req, _ = http.NewRequest(method, p.base+"/api/v3/event", strings.NewReader(dumped))
	}
	p.headers(req)
	return doRequest(p.t, req)
}

// decodeQuery returns the expression the Python API sends for a find
// argument such as "Site WHERE code=hq": the part after WHERE, lower case.
func decodeQuery(query string) string {
	parts := strings.SplitN(query, " ", 3)
	if len(parts) < 3 {
		return ""
	}
	return strings.ToLower(parts[2])
}

func TestPythonAPIRequests(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	py := &pythonSession{t: t, base: srv.URL, workspace: "acme", user: userWithRole(t, e, RoleAdmin), sessionID: uuid.NewString()}

	var login struct {
		ID   string `json:"id"`
		Role string `json:"role"`
	}
	json.Unmarshal(mustOK(t, py.login()).Result, &login)
	if login.Role != RoleAdmin || login.ID == "" {
		t.Fatalf("login result %+v", login)
	}

	// session.find("Site")
	all := mustOK(t, py.event(http.MethodGet, "site/find", nil, "", "")).list(t)
	if len(all) != 8 {
		t.Errorf("find Site returned %d sites, want the 8 demo sites", len(all))
	}

	// session.create("Site", {"name": "py_site", "description": "Made by A+B/C python"})
	created := mustOK(t, py.event(http.MethodPost, "site/create",
		[]pyPair{{"name", "py_site"}, {"description", "Made by A+B/C python, é"}}, "", "")).list(t)
	if len(created) != 1 || created[0]["code"] != "py_site" || created[0]["description"] != "Made by A+B/C python, é" {
		t.Fatalf("create = %v", created)
	}
	id := created[0]["id"].(string)

	// session.find('Site WHERE description="Made by A+B/C python, é"')
	query := decodeQuery(`Site WHERE description="Made by A+B/C python, é"`)
	found := mustOK(t, py.event(http.MethodGet, "site/find", nil, query, "")).list(t)
	if len(found) != 1 || found[0]["id"] != id {
		t.Errorf("find by a description with + and / = %v", codesOf(found))
	}

	// session.find("Site WHERE id=ObjectId:<id> AND main=False")
	found = mustOK(t, py.event(http.MethodGet, "site/find", nil, decodeQuery("Site WHERE id=ObjectId:"+id+" AND main=False"), "")).list(t)
	if len(found) != 1 {
		t.Errorf("find by prefixed id found %d sites", len(found))
	}

	// session.find("Site WHERE created>2000-01-01T00:00:00", limit=2, attributes=["code"])
	page := mustOK(t, py.event(http.MethodGet, "site/find",
		[]pyPair{{"limit", 2}, {"attributes", []string{"code"}}}, decodeQuery("Site WHERE created>2000-01-01T00:00:00"), "")).list(t)
	if len(page) != 2 || len(page[0]) != 2 {
		t.Errorf("limited find with attributes = %v", page)
	}

	// session.update("Site", id, {"description": "updated"})
	updated := mustOK(t, py.event(http.MethodPut, "site/edit", []pyPair{{"description", "updated"}}, "", id)).list(t)
	if updated[0]["description"] != "updated" {
		t.Errorf("update = %v", updated[0])
	}

	// session.find("attributes WHERE entitytype=site", create=True)
	var attrs []string
	json.Unmarshal(mustOK(t, py.event(http.MethodGet, "attributes",
		[]pyPair{{"entitytype", "site"}, {"create", true}, {"update", false}}, "", "")).Result, &attrs)
	sort.Strings(attrs)
	if strings.Join(attrs, ",") != "code,description,metadata,name" {
		t.Errorf("create attributes = %v", attrs)
	}

	// session.find("entitytypes")
	var types []string
	json.Unmarshal(mustOK(t, py.event(http.MethodGet, "entitytypes", nil, "", "")).Result, &types)
	if len(types) != 3 {
		t.Errorf("entitytypes = %v", types)
	}

	// session.create("Site", {"name": "London"}) raises AccsynException(message)
	dup := py.event(http.MethodPost, "site/create", []pyPair{{"name", "London"}}, "", "")
	expectError(t, dup, http.StatusConflict, `code "london" already exists`)

	// session.delete_one("Site", "ObjectId:<id>"): DELETE without a data key
	deleted := mustOK(t, py.event(http.MethodDelete, "site/delete", nil, "", "ObjectId:"+id))
	if string(deleted.Result) != "true" {
		t.Errorf("delete_one = %s", deleted.Result)
	}

	// session.find("Site WHERE code=py_site", archived=True)
	archived := mustOK(t, py.event(http.MethodGet, "site/find", []pyPair{{"archived", true}}, decodeQuery("Site WHERE code=py_site"), "")).list(t)
	if len(archived) != 1 || archived[0]["archived"] != true {
		t.Errorf("archived find = %v", archived)
	}

	// A second Python session of another user cannot take over the first's id.
	thief := &pythonSession{t: t, base: srv.URL, workspace: "acme", user: userWithRole(t, e, RoleEmployee), sessionID: py.sessionID}
	expectError(t, thief.login(), http.StatusConflict, "in use by another user")
}

func TestPythonAPINullData(t *testing.T) {
	e, srv := newTestEmulator(t, SeedDemo)
	py := &pythonSession{t: t, base: srv.URL, workspace: "acme", user: userWithRole(t, e, RoleAdmin),
		sessionID: uuid.NewString(), nullData: true}
	mustOK(t, py.login())

	sites := mustOK(t, py.event(http.MethodGet, "site/find", nil, decodeQuery("Site WHERE code=stockholm"), "")).list(t)
	if len(sites) != 1 {
		t.Fatalf("find with null data returned %d sites, want stockholm", len(sites))
	}

	var types []string
	json.Unmarshal(mustOK(t, py.event(http.MethodGet, "entitytypes", nil, "", "")).Result, &types)
	if len(types) != 3 {
		t.Errorf("entitytypes with null data = %v", types)
	}

	deleted := mustOK(t, py.event(http.MethodDelete, "site/delete", nil, "", sites[0]["id"].(string)))
	if string(deleted.Result) != "true" {
		t.Errorf("delete_one with null data = %s", deleted.Result)
	}
}

func TestPythonQuoteMatchesUrllib(t *testing.T) {
	got := pyQuote(`{"a": "x+y/z é"}`)
	want := "%7B%22a%22%3A%20%22x%2By/z%20%C3%A9%22%7D"
	if got != want {
		t.Errorf("pyQuote = %s, want %s", got, want)
	}
	if d := pyDumps([]pyPair{{"k", "é"}, {"n", 2}}); d != `{"k": "\u00e9", "n": 2}` {
		t.Errorf("pyDumps = %s", d)
	}
}
