package client

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials used against the raw test servers. The key is long and
// distinctive so that a leak into any text is easy to spot.
const (
	testWorkspace = "acme"
	testUser      = "admin@local"
	testKey       = "sk-test-7f3c9e1d2b4a6f8e0c1d3b5a7e9f1c2d"
	testSession   = "session-0001"
)

// recordedRequest is one request as a raw test server saw it.
type recordedRequest struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
	Event    map[string]any // the decoded event, for /api/v3/event
}

// wireServer is an httptest server speaking the accsyn wire format with
// responses chosen by the test. It records every request.
type wireServer struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	requests []recordedRequest
	// login handles PUT /api/v3/api/login. Nil returns a valid session.
	login http.HandlerFunc
	// event handles /api/v3/event with the decoded event. Nil returns
	// {"result": []}.
	event func(w http.ResponseWriter, r *http.Request, ev map[string]any)
}

func newWireServer(t *testing.T) *wireServer {
	t.Helper()
	ws := &wireServer{t: t}
	ws.srv = httptest.NewServer(http.HandlerFunc(ws.serve))
	t.Cleanup(ws.srv.Close)
	return ws
}

func (ws *wireServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := recordedRequest{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	if r.URL.Path == eventPath {
		rec.Event = decodeEvent(ws.t, r.Method, r.URL.RawQuery, body)
	}
	ws.mu.Lock()
	ws.requests = append(ws.requests, rec)
	login, event := ws.login, ws.event
	ws.mu.Unlock()

	switch r.URL.Path {
	case loginPath:
		if login != nil {
			login(w, r)
			return
		}
		writeJSON(w, 200, map[string]any{"result": map[string]any{"id": "0123456789abcdef01234567", "role": "admin", "session_id": testSession}})
	case eventPath:
		if event != nil {
			event(w, r, rec.Event)
			return
		}
		writeJSON(w, 200, map[string]any{"result": []any{}})
	default:
		http.NotFound(w, r)
	}
}

// decodeEvent reads the event from the query string (GET, DELETE) or the
// body (POST, PUT) the way accsyn does: plain percent-decoding of the whole
// query string.
func decodeEvent(t *testing.T, method, rawQuery string, body []byte) map[string]any {
	t.Helper()
	data := body
	if method == http.MethodGet || method == http.MethodDelete {
		decoded, err := url.PathUnescape(rawQuery)
		if err != nil {
			t.Errorf("query string %q is not percent-encoded: %v", rawQuery, err)
			return nil
		}
		data = []byte(decoded)
	}
	var ev map[string]any
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Errorf("event %q is not JSON: %v", data, err)
		return nil
	}
	return ev
}

// eventData returns the event's data, unpacking gz_data when present.
func eventData(t *testing.T, ev map[string]any) map[string]any {
	t.Helper()
	if gz, ok := ev["gz_data"].(string); ok {
		raw, err := base64.StdEncoding.DecodeString(gz)
		if err != nil {
			t.Fatalf("gz_data is not base64: %v", err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("gz_data is not gzip: %v", err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gz_data does not decompress: %v", err)
		}
		var data map[string]any
		if err := json.Unmarshal(plain, &data); err != nil {
			t.Fatalf("gz_data does not hold JSON: %v", err)
		}
		return data
	}
	data, _ := ev["data"].(map[string]any)
	return data
}

func (ws *wireServer) recorded() []recordedRequest {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return append([]recordedRequest(nil), ws.requests...)
}

func (ws *wireServer) events() []recordedRequest {
	var out []recordedRequest
	for _, r := range ws.recorded() {
		if r.Path == eventPath {
			out = append(out, r)
		}
	}
	return out
}

func (ws *wireServer) countPath(path string) int {
	n := 0
	for _, r := range ws.recorded() {
		if r.Path == path {
			n++
		}
	}
	return n
}

func (ws *wireServer) setEvent(f func(w http.ResponseWriter, r *http.Request, ev map[string]any)) {
	ws.mu.Lock()
	ws.event = f
	ws.mu.Unlock()
}

func (ws *wireServer) setLogin(f http.HandlerFunc) {
	ws.mu.Lock()
	ws.login = f
	ws.mu.Unlock()
}

// config returns a Config aimed at the server over plain HTTP.
func (ws *wireServer) config() Config {
	return configFor(ws.t, ws.srv.URL)
}

func configFor(t *testing.T, rawURL string) Config {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Workspace:       testWorkspace,
		User:            testUser,
		APIKey:          testKey,
		Hostname:        host,
		Port:            port,
		Scheme:          u.Scheme,
		ConnectTimeout:  5 * time.Second,
		ResponseTimeout: 30 * time.Second,
		Device:          "accsyn-sites test",
	}
}

func (ws *wireServer) client() *Client {
	ws.t.Helper()
	return mustNew(ws.t, ws.config())
}

func mustNew(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// assertNoKey fails when text contains the API key in plain or base64 form.
func assertNoKey(t *testing.T, where, text string) {
	t.Helper()
	for _, form := range []string{testKey, base64.StdEncoding.EncodeToString([]byte(testKey))} {
		if strings.Contains(text, form) {
			t.Errorf("%s contains the API key: %q", where, text)
		}
	}
}

// asError returns err as *Error or fails the test.
func asError(t *testing.T, err error) *Error {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got nil")
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("expected *client.Error, got %T: %v", err, err)
	}
	assertNoKey(t, "error text", e.Error())
	return e
}
