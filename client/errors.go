package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrorKind classifies a failed call so that callers can react to the cause
// (for example offer a retry after KindTimeout) without parsing messages.
type ErrorKind int

// The kinds of failure a call can end with.
const (
	// KindUnknown is a failure that fits no other kind, including a call
	// cancelled by its context.
	KindUnknown ErrorKind = iota
	// KindUnreachable means no connection could be made: refused, unknown
	// host, network down, or a TLS handshake that failed.
	KindUnreachable
	// KindTimeout means connecting, or waiting for the response, took longer
	// than the configured timeout or the context deadline.
	KindTimeout
	// KindAuth means the user or API key was rejected (HTTP 401).
	KindAuth
	// KindForbidden means the user's role does not allow the call (HTTP 403).
	KindForbidden
	// KindNotFound means the entity does not exist (HTTP 404, or an empty
	// response to a lookup by id).
	KindNotFound
	// KindConflict means a rule rejected the change (HTTP 409): duplicate
	// code, main site, servers assigned, active transfers.
	KindConflict
	// KindInvalid means the input was rejected as malformed (HTTP 400), or
	// the client rejected it before sending.
	KindInvalid
	// KindTooLarge means the payload exceeded the backend's limit (HTTP 413)
	// or the response exceeded the client's limit.
	KindTooLarge
	// KindBackend is a fault inside the backend (an "exception" response or
	// HTTP 5xx with an envelope).
	KindBackend
	// KindBadResponse means the response was not an accsyn envelope: an HTML
	// page from a proxy, an empty body, or JSON of the wrong shape.
	KindBadResponse
	// KindConfig means the client configuration is incomplete or invalid.
	KindConfig
)

var kindNames = [...]string{
	KindUnknown:     "unknown",
	KindUnreachable: "unreachable",
	KindTimeout:     "timeout",
	KindAuth:        "auth",
	KindForbidden:   "forbidden",
	KindNotFound:    "not found",
	KindConflict:    "conflict",
	KindInvalid:     "invalid",
	KindTooLarge:    "too large",
	KindBackend:     "backend",
	KindBadResponse: "bad response",
	KindConfig:      "config",
}

// String returns the kind's name in lower case, for logs.
func (k ErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("ErrorKind(%d)", int(k))
}

// Error is the error every Client method returns. Message is the backend's
// human-readable text when there is one (message_hr before message), or the
// client's own description of a transport or configuration failure.
type Error struct {
	Kind    ErrorKind
	Op      string // the call, as its event uri ("site/delete") or "login", "registry"
	Status  int    // HTTP status, 0 when no response arrived
	Message string
	Err     error // underlying cause, when there is one
}

// Error describes what happened and what to do about it.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if msg == "" {
		msg = e.Kind.String() + " error"
	}
	b.WriteString(msg)
	if e.Status != 0 && e.Kind != KindBadResponse {
		// A bad response already names its status inside the message.
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if hint := e.hint(); hint != "" && !e.backendAdvised(msg) {
		b.WriteString("; ")
		b.WriteString(hint)
	}
	return b.String()
}

// backendAdvised reports whether msg is a backend rejection that already
// contains advice, written as "problem: what to do". The client's generic
// hint would only repeat it. Only kinds whose message comes from the backend
// qualify.
func (e *Error) backendAdvised(msg string) bool {
	switch e.Kind {
	case KindForbidden, KindTooLarge:
		return strings.Contains(msg, ": ")
	}
	return false
}

// hint is the advice appended to the message, chosen by kind.
func (e *Error) hint() string {
	switch e.Kind {
	case KindUnreachable:
		return "check the host and port, or that the emulator is running"
	case KindTimeout:
		return "the backend or the network is slow or down: try again, or raise the timeout"
	case KindAuth:
		return "check the API user and key (ACCSYN_API_USER, ACCSYN_API_KEY) and the workspace"
	case KindForbidden:
		return "your role does not allow this: ask a workspace admin"
	case KindTooLarge:
		return "send less data in one call"
	case KindBackend:
		return "this is a fault in the backend: try again later"
	case KindBadResponse:
		return "check that the host and port point at an accsyn workspace and not at a proxy or another service"
	}
	return ""
}

// Unwrap returns the underlying cause, so errors.Is(err, context.Canceled)
// works through an *Error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err when it is or wraps an *Error, KindUnknown
// otherwise (including nil).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindUnknown
}

// kindFromStatus maps the emulator's HTTP statuses to kinds. Statuses it
// does not use give KindUnknown, and the message text then decides.
func kindFromStatus(status int) ErrorKind {
	switch status {
	case 400, 422:
		return KindInvalid
	case 401:
		return KindAuth
	case 403:
		return KindForbidden
	case 404:
		return KindNotFound
	case 409:
		return KindConflict
	case 413:
		return KindTooLarge
	case 408, 504:
		return KindTimeout
	}
	if status >= 500 {
		return KindBackend
	}
	return KindUnknown
}

// kindFromMessage guesses a kind from the backend's words, for backends that
// report failures with an uninformative status (such as 200).
func kindFromMessage(msg string) ErrorKind {
	m := strings.ToLower(msg)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(m, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("not authenticated", "authentication", "invalid api key", "unknown session", "session expired",
		"invalid session", "login required", "not logged in", "bad credentials", "wrong api key"):
		return KindAuth
	case has("permission", "not allowed", "forbidden", "not authorized", "access denied"):
		return KindForbidden
	case has("not found", "does not exist", "no such"):
		return KindNotFound
	case has("already exists", "duplicate", "already in use", "cannot delete", "cannot be deleted"):
		return KindConflict
	case has("too large", "too big"):
		return KindTooLarge
	case has("invalid", "unknown attribute", "required", "must be", "syntax"):
		return KindInvalid
	}
	return KindUnknown
}

// bodySnippetLength is how much of a non-envelope body an error quotes.
const bodySnippetLength = 200

// snippet returns the start of body with control characters (including
// escape sequences' ESC) replaced, so it is safe to print on a terminal.
func snippet(body []byte) string {
	s := strings.ToValidUTF8(string(body), "\uFFFD")
	var b strings.Builder
	n := 0
	lastSpace := false
	for _, r := range s {
		if n >= bodySnippetLength {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			// Newlines, tabs and other controls collapse to one space.
			if lastSpace {
				continue
			}
			r = ' '
			lastSpace = true
		} else {
			lastSpace = false
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// contextError reports a call ended by its context while it waited.
func contextError(op string, err error) *Error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Op: op, Message: "the deadline passed while waiting for the call", Err: err}
	}
	return &Error{Kind: KindUnknown, Op: op, Message: "the call was cancelled", Err: err}
}
