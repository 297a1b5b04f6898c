package emulator

import (
	"bytes"
	"compress/gzip"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"accsyn-sites/model"
)

// MaxPayload is the largest event the emulator accepts, in bytes: the body
// of a POST or PUT, the query string of a GET or DELETE, or the unpacked
// gz_data. Larger events get 413.
const MaxPayload = 1 << 20

// Endpoint paths.
const (
	registryPath = "/api/v3/J3PKTtDvolDMBtTy6AFGA"
	loginPath    = "/api/v3/api/login"
	eventPath    = "/api/v3/event"
)

// apiError is a failed call: the HTTP status and the message for the
// {"message": ...} envelope.
type apiError struct {
	status  int
	message string
	allow   string // the Allow header of a 405
}

func (e *apiError) Error() string { return e.message }

func fail(status int, format string, args ...any) *apiError {
	return &apiError{status: status, message: fmt.Sprintf(format, args...)}
}

// wrongMethod is a 405 whose Allow header lists the methods allowed.
func wrongMethod(allow string, format string, args ...any) *apiError {
	return &apiError{status: http.StatusMethodNotAllowed, message: fmt.Sprintf(format, args...), allow: allow}
}

// Handler returns the HTTP handler that serves the accsyn API v3 endpoints.
func (e *Emulator) Handler() http.Handler {
	return http.HandlerFunc(e.serveHTTP)
}

// statusRecorder keeps the status a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// requestInfo collects what the request log shows about a call.
type requestInfo struct {
	uri  string
	user string
}

func (e *Emulator) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	info := &requestInfo{}
	var result any
	var err error
	defer func() {
		// A fault in a handler becomes the {"exception": ...} envelope and
		// an error log line instead of a dropped connection.
		if p := recover(); p != nil {
			err = fmt.Errorf("internal fault: %v", p)
			e.writeAnswer(rec, nil, err)
			e.log.Error("request", "method", r.Method, "path", r.URL.Path, "uri", info.uri, "status", rec.status, "error", err.Error())
		}
	}()
	switch strings.TrimRight(r.URL.Path, "/") {
	case registryPath:
		info.uri = "registry"
		result, err = e.serveRegistry(r)
	case loginPath:
		info.uri = "api/login"
		result, err = e.serveLogin(r, info)
	case eventPath:
		result, err = e.serveEvent(r, info)
	default:
		err = fail(http.StatusNotFound, "unknown endpoint %s: use %s or %s", r.URL.Path, loginPath, eventPath)
	}
	e.writeAnswer(rec, result, err)

	keyvals := []any{"method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start).Round(time.Microsecond)}
	if info.uri != "" {
		keyvals = append(keyvals, "uri", info.uri)
	}
	if info.user != "" {
		keyvals = append(keyvals, "user", info.user)
	}
	if err != nil {
		keyvals = append(keyvals, "error", err.Error())
	}
	if rec.status >= 500 {
		e.log.Error("request", keyvals...)
	} else {
		e.log.Info("request", keyvals...)
	}
}

// rawResult is a result already encoded as JSON.
type rawResult []byte

func (e *Emulator) writeAnswer(w http.ResponseWriter, result any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			if ae.allow != "" {
				w.Header().Set("Allow", ae.allow)
			}
			w.WriteHeader(ae.status)
			writeJSON(w, map[string]string{"message": ae.message})
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		writeJSON(w, map[string]string{"exception": err.Error()})
		return
	}
	if raw, ok := result.(rawResult); ok {
		const prefix, suffix = `{"result":`, "}\n"
		w.Header().Set("Content-Length", strconv.Itoa(len(prefix)+len(raw)+len(suffix)))
		io.WriteString(w, prefix)
		w.Write(raw)
		io.WriteString(w, suffix)
		return
	}
	writeJSON(w, map[string]any{"result": result})
}

// writeJSON writes v without HTML escaping, so messages keep < > & as typed.
func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// serveRegistry returns, for the workspace lookup, this emulator's own host
// and port, taken from the request's Host header.
func (e *Emulator) serveRegistry(r *http.Request) (any, error) {
	if r.Method != http.MethodGet {
		return nil, wrongMethod(http.MethodGet, "the workspace lookup takes GET, not %s", r.Method)
	}
	raw, err := url.PathUnescape(r.URL.RawQuery)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "invalid percent-encoding in the workspace lookup: %v", err)
	}
	var lookup struct {
		Ident *string `json:"ident"`
	}
	if err := json.Unmarshal([]byte(raw), &lookup); err != nil || lookup.Ident == nil {
		return nil, fail(http.StatusBadRequest, `the workspace lookup needs the query string {"ident": "<workspace>"}, percent-encoded`)
	}
	if !strings.EqualFold(strings.TrimSpace(*lookup.Ident), e.workspace) {
		return nil, fail(http.StatusNotFound, "workspace %q not found: this emulator serves workspace %q", *lookup.Ident, e.workspace)
	}
	host, port := requestHostPort(r)
	return map[string]any{"hostname": host, "port": port}, nil
}

func requestHostPort(r *http.Request) (string, int) {
	hostport := r.Host
	if hostport == "" {
		if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			hostport = addr.String()
		}
	}
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil {
		return strings.Trim(hostport, "[]"), 80
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		port = 80
	}
	return host, port
}

// authenticate checks the Authorization and X-Accsyn-Workspace headers.
// It accepts accsyn's "basic <base64 user>:<base64 key>" and standard HTTP
// basic authentication.
func (e *Emulator) authenticate(r *http.Request) (User, error) {
	if ws := r.Header.Get("X-Accsyn-Workspace"); ws != "" && !strings.EqualFold(ws, e.workspace) {
		return User{}, fail(http.StatusUnauthorized, "workspace %q in X-Accsyn-Workspace is not served here: this emulator serves workspace %q", ws, e.workspace)
	}
	header := r.Header.Get("Authorization")
	scheme, credentials, ok := strings.Cut(strings.TrimSpace(header), " ")
	if header == "" || !ok || !strings.EqualFold(scheme, "basic") {
		return User{}, fail(http.StatusUnauthorized, "missing or malformed Authorization header: send basic <base64 user>:<base64 API key>")
	}
	credentials = strings.TrimSpace(credentials)
	var name, key string
	if encUser, encKey, split := strings.Cut(credentials, ":"); split {
		u, err1 := base64.StdEncoding.DecodeString(encUser)
		k, err2 := base64.StdEncoding.DecodeString(encKey)
		if err1 != nil || err2 != nil {
			return User{}, fail(http.StatusUnauthorized, "malformed Authorization header: user and API key must each be base64-encoded")
		}
		name, key = string(u), string(k)
	} else {
		decoded, err := base64.StdEncoding.DecodeString(credentials)
		if err != nil {
			return User{}, fail(http.StatusUnauthorized, "malformed Authorization header: send basic <base64 user>:<base64 API key>")
		}
		name, key, _ = strings.Cut(string(decoded), ":")
	}
	for _, u := range e.users {
		if strings.EqualFold(u.Name, name) {
			if subtle.ConstantTimeCompare([]byte(u.APIKey), []byte(key)) == 1 {
				return u, nil
			}
			break
		}
	}
	return User{}, fail(http.StatusUnauthorized, "invalid user or API key for %q in workspace %q", name, e.workspace)
}

// maxSessionIDLength bounds a session id that a client proposes at login.
const maxSessionIDLength = 128

// serveLogin checks the credentials and opens a session. The official
// Python API generates its own session id and sends it in the body as
// {"session_id": "<uuid>"}, then sends that id in every event without
// reading the answer's session_id, so a proposed id is adopted; without
// one the emulator makes a random id.
func (e *Emulator) serveLogin(r *http.Request, info *requestInfo) (any, error) {
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return nil, wrongMethod(http.MethodPut, "login takes PUT, not %s", r.Method)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxPayload))
	if err != nil {
		return nil, fail(http.StatusRequestEntityTooLarge, "login body is larger than %d bytes: send {}", MaxPayload)
	}
	user, err := e.authenticate(r)
	if err != nil {
		return nil, err
	}
	info.user = user.Name

	session, err := proposedSession(body)
	if err != nil {
		return nil, err
	}
	if session == "" {
		session = newSecret()
	}

	created := formatStoreTime(model.NewTime(e.now()))
	err = e.inTx(func(tx *sql.Tx) error {
		if owner, ok := e.sessions[session]; ok {
			if owner != user.Name {
				return fail(http.StatusConflict, "the proposed session_id is in use by another user: log in with a new session_id")
			}
			return nil
		}
		_, err := tx.Exec(`INSERT INTO sessions (id, user, created) VALUES (?, ?, ?)`, session, user.Name, created)
		return err
	}, func() {
		e.sessions[session] = user.Name
	})
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return nil, err
		}
		return nil, fmt.Errorf("store the session: %w", err)
	}
	return map[string]any{"id": userID(user.Name), "role": user.Role, "session_id": session}, nil
}

// proposedSession returns the session_id a login body proposes, or "".
func proposedSession(body []byte) (string, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "", nil
	}
	var payload map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &payload); err != nil {
		return "", fail(http.StatusBadRequest, "login body must be a JSON object such as {}, not %s", truncateText(string(trimmed), 40))
	}
	raw, ok := payload["session_id"]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var id string
	if err := json.Unmarshal(raw, &id); err != nil {
		return "", fail(http.StatusBadRequest, "login session_id must be a string such as a UUID, not %s", truncateText(string(raw), 40))
	}
	if id == "" || len(id) > maxSessionIDLength || strings.IndexFunc(id, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return "", fail(http.StatusBadRequest, "login session_id must be 1 to %d printable ASCII characters without spaces, such as a UUID", maxSessionIDLength)
	}
	return id, nil
}

// event is the envelope of every call after login.
type event struct {
	Audience  string          `json:"audience"`
	Workspace string          `json:"workspace"`
	Eid       string          `json:"eid"`
	Session   string          `json:"session"`
	URI       string          `json:"uri"`
	Ident     string          `json:"ident"`
	Created   string          `json:"created"`
	Hostname  string          `json:"hostname"`
	Data      json.RawMessage `json:"data"`
	GzData    *string         `json:"gz_data"`
	Query     *string         `json:"query"`
	ID        json.RawMessage `json:"id"`
}

// call is a decoded, authenticated event.
type call struct {
	user  User
	uri   string
	op    string // find, create, edit or delete; "" for entitytypes and attributes
	data  map[string]json.RawMessage
	query string
	id    model.ID
	hasID bool
}

func (e *Emulator) readEvent(r *http.Request) (*event, error) {
	var raw []byte
	switch r.Method {
	case http.MethodGet, http.MethodDelete:
		if len(r.URL.RawQuery) > 3*MaxPayload {
			return nil, fail(http.StatusRequestEntityTooLarge, "event is larger than %d bytes: send less data", MaxPayload)
		}
		decoded, err := url.PathUnescape(r.URL.RawQuery)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "invalid percent-encoding in the event query string: %v", err)
		}
		if len(decoded) > MaxPayload {
			return nil, fail(http.StatusRequestEntityTooLarge, "event is %d bytes, more than the %d allowed: send less data", len(decoded), MaxPayload)
		}
		raw = []byte(decoded)
	case http.MethodPost, http.MethodPut:
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxPayload))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, fail(http.StatusRequestEntityTooLarge, "event body is larger than %d bytes: send less data", MaxPayload)
			}
			return nil, fail(http.StatusBadRequest, "failed to read the event body: %v", err)
		}
		raw = body
	default:
		return nil, wrongMethod("GET, POST, PUT, DELETE", "%s is not an event method: use GET to find, POST to create, PUT to edit, DELETE to delete", r.Method)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, fail(http.StatusBadRequest, "the event is missing: send it as JSON (percent-encoded query string for GET and DELETE, body for POST and PUT)")
	}
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return nil, fail(http.StatusBadRequest, "event field %q must be a %s, not a JSON %s", typeErr.Field, jsonTypeName(typeErr.Type.Kind().String()), typeErr.Value)
		}
		return nil, fail(http.StatusBadRequest, "the event is not valid JSON: %v", err)
	}
	return &ev, nil
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string", "ptr":
		return "string"
	case "slice":
		return "JSON value"
	}
	return kind
}

// decodeData returns the event's payload from data or, packed, gz_data.
func decodeData(ev *event) (map[string]json.RawMessage, error) {
	raw := ev.Data
	if ev.GzData != nil {
		packed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(*ev.GzData))
		if err != nil {
			return nil, fail(http.StatusBadRequest, "gz_data is not valid base64: %v", err)
		}
		zr, err := gzip.NewReader(bytes.NewReader(packed))
		if err != nil {
			return nil, fail(http.StatusBadRequest, "gz_data is not gzip data: %v", err)
		}
		unpacked, err := io.ReadAll(io.LimitReader(zr, MaxPayload+1))
		if err != nil {
			return nil, fail(http.StatusBadRequest, "gz_data cannot be unpacked: %v", err)
		}
		if len(unpacked) > MaxPayload {
			return nil, fail(http.StatusRequestEntityTooLarge, "gz_data unpacks to more than %d bytes: send less data", MaxPayload)
		}
		raw = unpacked
	}
	data := map[string]json.RawMessage{}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return data, nil
	}
	if trimmed[0] != '{' {
		return nil, fail(http.StatusBadRequest, "event data must be a JSON object, not %s", truncateText(string(trimmed), 40))
	}
	if err := json.Unmarshal(trimmed, &data); err != nil {
		return nil, fail(http.StatusBadRequest, "event data is not a valid JSON object: %v", err)
	}
	return data, nil
}

func truncateText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// methodFor is the HTTP method each operation must use.
var methodFor = map[string]string{
	"find":   http.MethodGet,
	"create": http.MethodPost,
	"edit":   http.MethodPut,
	"delete": http.MethodDelete,
}

func (e *Emulator) serveEvent(r *http.Request, info *requestInfo) (any, error) {
	ev, err := e.readEvent(r)
	if err != nil {
		return nil, err
	}
	info.uri = ev.URI
	user, err := e.authenticate(r)
	if err != nil {
		return nil, err
	}
	info.user = user.Name
	if ev.Workspace != "" && !strings.EqualFold(ev.Workspace, e.workspace) {
		return nil, fail(http.StatusBadRequest, "event workspace %q is not served here: this emulator serves workspace %q", ev.Workspace, e.workspace)
	}
	if err := e.checkSession(ev.Session, user); err != nil {
		return nil, err
	}

	c := &call{user: user, uri: strings.ToLower(strings.Trim(strings.TrimSpace(ev.URI), "/"))}
	if c.data, err = decodeData(ev); err != nil {
		return nil, err
	}
	if ev.Query != nil {
		c.query = *ev.Query
	}
	if len(ev.ID) > 0 && string(ev.ID) != "null" {
		var id string
		if err := json.Unmarshal(ev.ID, &id); err != nil {
			return nil, fail(http.StatusBadRequest, "event field \"id\" must be a string holding a 24-hex id, not %s", truncateText(string(ev.ID), 40))
		}
		c.id = model.ID(strings.ToLower(strings.TrimSpace(model.StripObjectID(id))))
		c.hasID = c.id != ""
	}
	return e.dispatch(r.Method, c)
}

func (e *Emulator) checkSession(session string, user User) error {
	if session == "" {
		return fail(http.StatusUnauthorized, "the event has no session: log in again (PUT %s) and send its session_id", loginPath)
	}
	// NOTE: sessions never expire here. A real workspace ends them after
	// some idle time, so a client must be ready to log in again on a 401.
	e.mu.RLock()
	owner, ok := e.sessions[session]
	e.mu.RUnlock()
	if !ok {
		return fail(http.StatusUnauthorized, "unknown or expired session: log in again (PUT %s)", loginPath)
	}
	if owner != user.Name {
		return fail(http.StatusUnauthorized, "the session belongs to another user, not %s: log in again (PUT %s) as %s", user.Name, loginPath, user.Name)
	}
	return nil
}

func (e *Emulator) dispatch(method string, c *call) (any, error) {
	if c.uri == "" {
		return nil, fail(http.StatusBadRequest, "the event has no uri: send e.g. site/find")
	}
	switch c.uri {
	case "entitytypes", "attributes":
		if method != http.MethodGet {
			return nil, wrongMethod(http.MethodGet, "%s takes GET, not %s", c.uri, method)
		}
		if c.uri == "entitytypes" {
			return e.findEntityTypes(c)
		}
		return e.findAttributes(c)
	}

	kind, op, _ := strings.Cut(c.uri, "/")
	t, ok := lookupEntityType(kind)
	if !ok {
		return nil, fail(http.StatusBadRequest, "unknown uri %q: the entity types are site, server and transfer, plus entitytypes and attributes", c.uri)
	}
	want, ok := methodFor[op]
	if !ok {
		return nil, fail(http.StatusBadRequest, "unknown uri %q: the operations are %s/find, create, edit and delete", c.uri, t.name)
	}
	if t != siteType && op != "find" {
		return nil, fail(http.StatusBadRequest, "unknown uri %q: %ss are read-only here, use %s/find", c.uri, t.name, t.name)
	}
	if method != want {
		return nil, wrongMethod(want, "%s must be sent with %s, not %s", c.uri, want, method)
	}

	c.op = op
	if err := checkRole(c, t); err != nil {
		return nil, err
	}
	switch {
	case op == "find":
		return e.find(c, t)
	case op == "create":
		return e.createSite(c)
	case op == "edit":
		return e.editSite(c)
	default:
		return e.deleteSite(c)
	}
}

// checkRole applies the roles: admin reads and writes sites, employee reads
// everything, standard reads nothing here.
func checkRole(c *call, t *entityType) error {
	switch c.user.Role {
	case RoleAdmin:
		return nil
	case RoleEmployee:
		if c.op == "find" {
			return nil
		}
		return fail(http.StatusForbidden, "user %s has the role employee, which can read %ss but not change them: %s needs an admin",
			c.user.Name, t.name, c.uri)
	}
	return fail(http.StatusForbidden, "user %s has the role %s, which has no access to %ss: ask an admin for the employee or admin role",
		c.user.Name, c.user.Role, t.name)
}

func (e *Emulator) findEntityTypes(c *call) (any, error) {
	names := make([]string, 0, len(entityTypes))
	for _, t := range entityTypes {
		names = append(names, t.name)
	}
	return names, nil
}

// findAttributes returns the attribute names of an entity type: all of
// them, or with data create/update true those accepted by create or edit.
// The entity type comes from data.entitytype or a query entitytype=<name>.
func (e *Emulator) findAttributes(c *call) (any, error) {
	var name string
	if raw, ok := c.data["entitytype"]; ok {
		if err := json.Unmarshal(raw, &name); err != nil {
			return nil, fail(http.StatusBadRequest, "attributes: data attribute \"entitytype\" must be a string such as \"site\"")
		}
	} else if c.query != "" {
		q, err := parseQuery(c.query)
		if err != nil {
			return nil, fail(http.StatusBadRequest, "%v", err)
		}
		if cmp, ok := q.expr.(*cmpNode); ok && cmp.attr == "entitytype" && cmp.op == "=" && len(cmp.values) == 1 {
			name = cmp.values[0].text
		} else {
			return nil, fail(http.StatusBadRequest, "attributes: the query must be entitytype=<name>, e.g. entitytype=site")
		}
	}
	if name == "" {
		return nil, fail(http.StatusBadRequest, "attributes: the entity type is missing: send data {\"entitytype\": \"site\"}")
	}

	t, ok := lookupEntityType(name)
	if !ok {
		return nil, fail(http.StatusBadRequest, "attributes: unknown entity type %q: use site, server or transfer", name)
	}
	create, err := boolOption(c.data, "create")
	if err != nil {
		return nil, err
	}
	update, err := boolOption(c.data, "update")
	if err != nil {
		return nil, err
	}
	names := t.attrNames(func(a attrDef) bool {
		switch {
		case create:
			return a.create
		case update:
			return a.update
		}
		return a.name != "archived"
	})
	if names == nil {
		names = []string{}
	}
	return names, nil
}

func boolOption(data map[string]json.RawMessage, key string) (bool, error) {
	raw, ok := data[key]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, fail(http.StatusBadRequest, "data attribute %q must be true or false, not %s", key, truncateText(string(raw), 40))
	}
	return b, nil
}

func intOption(data map[string]json.RawMessage, key string) (int, error) {
	raw, ok := data[key]
	if !ok || string(raw) == "null" {
		return 0, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		return 0, fail(http.StatusBadRequest, "data attribute %q must be a whole number of 0 or more, not %s", key, truncateText(string(raw), 40))
	}
	return n, nil
}
