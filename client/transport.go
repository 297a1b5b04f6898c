package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"accsyn-sites/model"
)

const (
	loginPath    = "/api/v3/api/login"
	eventPath    = "/api/v3/event"
	registryPath = "/api/v3/J3PKTtDvolDMBtTy6AFGA"

	// gzipThreshold is the size of the JSON data above which it is sent
	// gzip-compressed and base64-encoded in gz_data, as the official Python
	// API does above about 100 KB.
	gzipThreshold = 100 * 1024

	// maxResponseBytes caps how much of a response is read, so a broken or
	// hostile server cannot exhaust memory.
	maxResponseBytes = 64 << 20
)

// event is the envelope of every call after login.
type event struct {
	Audience  string          `json:"audience"`
	Workspace string          `json:"workspace"`
	EID       string          `json:"eid"`
	Session   string          `json:"session"`
	URI       string          `json:"uri"`
	Ident     string          `json:"ident"`
	Created   string          `json:"created"`
	Hostname  string          `json:"hostname"`
	Data      json.RawMessage `json:"data,omitempty"`
	GzData    string          `json:"gz_data,omitempty"`
	Query     string          `json:"query,omitempty"`
	ID        string          `json:"id,omitempty"`
}

// call is one entity call: its uri, method and event fields.
type call struct {
	method string
	uri    string
	id     model.ID
	query  string
	data   map[string]any
}

// do sends the call with the current session, logging in first when
// needed. When the backend rejects the session (HTTP 401 or an
// authentication message), do logs in again once and retries.
func (c *Client) do(ctx context.Context, cl call) (json.RawMessage, error) {
	sess, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	result, err := c.sendEvent(ctx, sess, cl)
	if KindOf(err) != KindAuth {
		return result, err
	}
	sess, err = c.ensureSession(ctx, sess)
	if err != nil {
		return nil, err
	}
	return c.sendEvent(ctx, sess, cl)
}

// sendEvent wraps the call in an event and sends it once.
func (c *Client) sendEvent(ctx context.Context, sess *session, cl call) (json.RawMessage, error) {
	ev := event{
		Audience:  "api",
		Workspace: c.cfg.Workspace,
		EID:       uuid.NewString(),
		Session:   sess.id,
		URI:       cl.uri,
		Ident:     c.cfg.User,
		Created:   model.FormatTime(time.Now()),
		Hostname:  c.localHost,
		Query:     cl.query,
		ID:        string(cl.id),
	}
	data := cl.data
	if data == nil {
		data = map[string]any{}
	}
	raw, err := marshalJSON(data)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Op: cl.uri, Message: "failed to encode the call's data as JSON: " + err.Error(), Err: err}
	}
	if len(raw) > gzipThreshold {
		ev.GzData, err = gzipBase64(raw)
		if err != nil {
			return nil, &Error{Kind: KindUnknown, Op: cl.uri, Message: "failed to compress the call's data: " + err.Error(), Err: err}
		}
	} else {
		ev.Data = raw
	}
	body, err := marshalJSON(ev)
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Op: cl.uri, Message: "failed to encode the event as JSON: " + err.Error(), Err: err}
	}

	endpoint := c.currentEndpoint()
	target := endpoint + eventPath
	switch cl.method {
	case http.MethodGet, http.MethodDelete:
		target += "?" + percentEncode(string(body))
		body = nil
	}
	return c.exchange(ctx, cl.uri, cl.method, target, body, true)
}

func (c *Client) currentEndpoint() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endpoint
}

// login resolves the host when needed and logs in.
func (c *Client) login(ctx context.Context) (*session, error) {
	endpoint, err := c.resolveEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	result, err := c.exchange(ctx, "login", http.MethodPut, endpoint+loginPath, []byte("{}"), true)
	if err != nil {
		return nil, err
	}
	var response struct {
		ID        model.ID `json:"id"`
		Role      string   `json:"role"`
		SessionID string   `json:"session_id"`
	}
	if err := json.Unmarshal(result, &response); err != nil || response.SessionID == "" {
		return nil, &Error{Kind: KindBadResponse, Op: "login",
			Message: "the login response has no session_id: " + c.scrub(snippet(result))}
	}
	return &session{
		id: response.SessionID,
		identity: Identity{
			UserID:    string(response.ID),
			User:      c.cfg.User,
			Role:      response.Role,
			Workspace: c.cfg.Workspace,
		},
	}, nil
}

// resolveEndpoint returns the workspace endpoint, asking the registry for
// the host and port the first time when no hostname was configured.
func (c *Client) resolveEndpoint(ctx context.Context) (string, error) {
	if endpoint := c.currentEndpoint(); endpoint != "" {
		return endpoint, nil
	}
	query, err := marshalJSON(map[string]string{"ident": c.cfg.Workspace})
	if err != nil {
		return "", &Error{Kind: KindConfig, Op: "registry", Message: err.Error(), Err: err}
	}

	base := strings.TrimRight(c.cfg.registry.String(), "/")
	// The registry needs no credentials, so none are sent to it.
	result, err := c.exchange(ctx, "registry", http.MethodGet, base+registryPath+"?"+percentEncode(string(query)), nil, false)
	if err != nil {
		return "", err
	}

	var response struct {
		Hostname string          `json:"hostname"`
		Port     json.RawMessage `json:"port"`
	}
	if err := json.Unmarshal(result, &response); err != nil || response.Hostname == "" {
		return "", &Error{Kind: KindBadResponse, Op: "registry",
			Message: "the registry response has no hostname: " + c.scrub(snippet(result))}
	}
	host, err := cleanHostname(response.Hostname)
	if err != nil {
		return "", &Error{Kind: KindBadResponse, Op: "registry",
			Message: fmt.Sprintf("the registry returned an invalid hostname %q", snippet([]byte(response.Hostname)))}
	}

	port := c.cfg.Port
	if len(response.Port) > 0 && string(response.Port) != "null" {
		p, err := strconv.Atoi(strings.Trim(string(response.Port), `"`))
		if err != nil || p < 1 || p > 65535 {
			return "", &Error{Kind: KindBadResponse, Op: "registry",
				Message: fmt.Sprintf("the registry returned an invalid port %s", snippet(response.Port))}
		}
		port = p
	}

	endpoint := c.cfg.Scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
	c.mu.Lock()
	c.endpoint = endpoint
	c.mu.Unlock()
	return endpoint, nil
}

// exchange sends one HTTP request and returns the envelope's result, or an
// *Error built from the envelope (or from the transport failure). Only the
// envelope decides success; the HTTP status only picks the error kind.
func (c *Client) exchange(ctx context.Context, op, method, target string, body []byte, withAuth bool) (json.RawMessage, error) {
	callCtx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout+c.cfg.ResponseTimeout)
	defer cancel()

	var reader io.Reader
	if body != nil {
		reader = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(callCtx, method, target, reader)
	if err != nil {
		return nil, &Error{Kind: KindConfig, Op: op, Message: "failed to build the request: " + c.scrub(err.Error()), Err: err}
	}
	if withAuth {
		req.Header.Set("Authorization", c.auth)
		req.Header.Set("X-Accsyn-Workspace", c.cfg.Workspace)
	}
	req.Header.Set("X-Accsyn-Device", c.cfg.Device)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, callCtx, op, req.URL.Host, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, c.transportError(ctx, callCtx, op, req.URL.Host, err)
	}
	if len(data) > maxResponseBytes {
		return nil, &Error{Kind: KindTooLarge, Op: op, Status: resp.StatusCode,
			Message: fmt.Sprintf("the response is larger than %d MiB", maxResponseBytes>>20)}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		return nil, &Error{Kind: KindBadResponse, Op: op, Status: resp.StatusCode,
			Message: fmt.Sprintf("HTTP %d redirect to %s, which the client does not follow: configure the workspace host and port it points to",
				resp.StatusCode, c.scrub(snippet([]byte(resp.Header.Get("Location")))))}
	}
	return c.readEnvelope(op, resp.StatusCode, data)
}

// readEnvelope decides success or failure from the envelope alone.
func (c *Client) readEnvelope(op string, status int, data []byte) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		start := c.scrub(snippet(data))
		if start == "" {
			start = "an empty body"
		}
		return nil, &Error{Kind: KindBadResponse, Op: op, Status: status,
			Message: fmt.Sprintf("unexpected response (HTTP %d, not an accsyn JSON envelope): %s", status, start)}
	}
	if exc, ok := fields["exception"]; ok {
		return nil, &Error{Kind: KindBackend, Op: op, Status: status,
			Message: "backend fault: " + c.scrub(messageText(exc))}
	}
	msg, hasMsg := fields["message"]
	hr, hasHR := fields["message_hr"]
	if hasMsg || hasHR {
		text := messageText(hr)
		if text == "" {
			text = messageText(msg)
		}
		if text == "" {
			text = "the backend rejected the call without a message"
		}
		kind := kindFromStatus(status)
		if kind == KindUnknown {
			kind = kindFromMessage(text)
		}
		return nil, &Error{Kind: kind, Op: op, Status: status, Message: c.scrub(text)}
	}
	result, ok := fields["result"]
	if !ok {
		return nil, &Error{Kind: KindBadResponse, Op: op, Status: status,
			Message: fmt.Sprintf("unexpected response (HTTP %d, an envelope with neither result nor message): %s",
				status, c.scrub(snippet(data)))}
	}
	return result, nil
}

// messageText returns a message field as text: the string itself, or the
// JSON of a non-string value, without control characters.
func messageText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return sanitizeText(s)
	}
	return sanitizeText(string(raw))
}

// sanitizeText replaces control characters (including the ESC that starts
// terminal escape sequences) with spaces, keeping the whole text.
func sanitizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
}

// scrub removes the API key, in plain and in base64 form, from text that
// came from the backend or the transport, in case either echoes it.
func (c *Client) scrub(s string) string {
	key := c.cfg.APIKey
	if key == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.auth, redacted)
	s = strings.ReplaceAll(s, base64.StdEncoding.EncodeToString([]byte(key)), redacted)
	return strings.ReplaceAll(s, key, redacted)
}

// transportError classifies a call that got no response at all.
func (c *Client) transportError(parent, callCtx context.Context, op, addr string, err error) *Error {
	switch {
	case errors.Is(parent.Err(), context.Canceled):
		return &Error{Kind: KindUnknown, Op: op, Message: "the call was cancelled", Err: context.Canceled}
	case errors.Is(parent.Err(), context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Op: op, Message: fmt.Sprintf("timed out: no response from %s before the deadline", addr),
			Err: context.DeadlineExceeded}
	case errors.Is(callCtx.Err(), context.DeadlineExceeded):
		return &Error{Kind: KindTimeout, Op: op,
			Message: fmt.Sprintf("timed out: no complete response from %s within %s", addr, c.cfg.ConnectTimeout+c.cfg.ResponseTimeout),
			Err:     context.DeadlineExceeded}
	}

	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		if opErr.Timeout() {
			return &Error{Kind: KindTimeout, Op: op,
				Message: fmt.Sprintf("connecting to %s timed out after %s", addr, c.cfg.ConnectTimeout), Err: err}
		}
		return &Error{Kind: KindUnreachable, Op: op,
			Message: fmt.Sprintf("cannot reach %s: %s", addr, c.scrub(innermost(opErr.Err))), Err: err}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &Error{Kind: KindUnreachable, Op: op,
			Message: fmt.Sprintf("cannot resolve the host of %s: %s", addr, dnsErr.Err), Err: err}
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostErr), errors.As(err, &invalidCert):
		return &Error{Kind: KindUnreachable, Op: op,
			Message: fmt.Sprintf("the TLS certificate of %s is not trusted (%s): fix the certificate, or use --insecure if you trust this host",
				addr, innermost(err)), Err: err}
	case errors.As(err, &recordErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		// net/http replaces the tls.RecordHeaderError with a plain error
		// when the response looks like HTTP, so the text is matched too.
		return &Error{Kind: KindUnreachable, Op: op,
			Message: fmt.Sprintf("%s does not speak TLS: use http for the emulator, or check the port", addr), Err: err}
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return &Error{Kind: KindTimeout, Op: op,
			Message: fmt.Sprintf("timed out: no response from %s within %s", addr, c.cfg.ResponseTimeout), Err: err}
	}
	return &Error{Kind: KindUnreachable, Op: op,
		Message: fmt.Sprintf("connection to %s failed: %s", addr, c.scrub(innermost(err))), Err: err}
}

// innermost returns the text of the deepest wrapped error, which for
// network failures is the useful part ("connection refused").
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// marshalJSON encodes v without HTML escaping, so queries stay readable.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func gzipBase64(data []byte) (string, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// percentEncode encodes every byte except A-Z a-z 0-9 - _ . ~ and '/', as
// Python's urllib.parse.quote does by default, which is what the official
// Python API sends and what accsyn decodes. A '+' becomes %2B, so form
// decoding and plain percent-decoding read the same text.
func percentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'A' && ch <= 'Z', ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '~', ch == '/':
			b.WriteByte(ch)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[ch>>4])
			b.WriteByte(hexDigits[ch&0x0f])
		}
	}
	return b.String()
}
