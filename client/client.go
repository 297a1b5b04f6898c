// Package client talks to an accsyn workspace, or the local emulator, over
// the accsyn API v3. It finds the workspace host, logs in and wraps every call
// in accsyn's event envelope. Calls return typed sites, servers and
// transfers, or an *Error that describes what happened and what to do.
package client

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Identity is the logged-in user as the backend returned it at login.
type Identity struct {
	UserID    string
	User      string
	Role      string // "admin", "employee" or "standard"
	Workspace string
}

// Client is a connection to one accsyn workspace. It is safe for concurrent
// use. It logs in on the first call, and logs in again once when the
// backend rejects the session of a later call (for example because it
// expired), then retries that call.
type Client struct {
	cfg       settings
	http      *http.Client
	auth      string // the Authorization header value; contains the key
	localHost string // this machine's hostname, sent in every event

	mu       sync.Mutex
	endpoint string   // "scheme://host:port", empty until resolved
	sess     *session // nil until logged in
	pending  *loginCall
}

// session is one successful login. A new login makes a new *session, so a
// call can tell whether the session it used is still the current one.
type session struct {
	id       string
	identity Identity
}

// loginCall lets concurrent callers share one login in flight.
type loginCall struct {
	done chan struct{}
	sess *session
	err  error
	// abandoned is set when the login failed because the context of the
	// caller that started it ended, which is no fault of the backend.
	abandoned bool
}

// New validates cfg, applies defaults and returns a client. It makes no
// network call: the first method call looks up the host (when only a
// registry is set) and logs in. Configuration errors are *Error with
// KindConfig and name the missing value and the flag or variable that sets
// it.
func New(cfg Config) (*Client, error) {
	s, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: s.ConnectTimeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		// Proxy settings from the environment are ignored, so the client
		// connects to the configured host and nowhere else.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   s.ConnectTimeout,
		ResponseHeaderTimeout: s.ResponseTimeout,
		MaxIdleConns:          16,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: s.Insecure, //nolint:gosec // only when the user asks for --insecure
		},
	}
	host, _ := os.Hostname()
	c := &Client{
		cfg: s,
		http: &http.Client{
			Transport: transport,
			// Redirects are not followed, so a call never goes to a host the
			// user did not configure. A 3xx response is a bad response.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		auth:      "basic " + base64.StdEncoding.EncodeToString([]byte(s.User)) + ":" + base64.StdEncoding.EncodeToString([]byte(s.APIKey)),
		localHost: host,
	}
	if s.Hostname != "" {
		c.endpoint = s.Scheme + "://" + net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port))
	}
	return c, nil
}

// String describes the client without its API key.
func (c *Client) String() string {
	c.mu.Lock()
	endpoint := c.endpoint
	c.mu.Unlock()
	if endpoint == "" {
		endpoint = "registry " + c.cfg.RegistryURL
	}
	return fmt.Sprintf("accsyn client for workspace %s as %s at %s", c.cfg.Workspace, c.cfg.User, endpoint)
}

// GoString is String, so that %#v does not print the key either.
func (c *Client) GoString() string { return c.String() }

// Format implements fmt.Formatter so that no verb prints the fields (and the
// key among them).
func (c *Client) Format(f fmt.State, _ rune) { fmt.Fprint(f, c.String()) }

// Config returns the configuration the client runs with, defaults applied
// and the workspace host filled in once it is known.
func (c *Client) Config() Config {
	cfg := c.cfg.Config
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg.Hostname == "" && c.endpoint != "" {
		if h, p, err := splitEndpoint(c.endpoint); err == nil {
			cfg.Hostname, cfg.Port = h, p
		}
	}
	return cfg
}

// Login logs in now, even when a session exists, and returns the identity
// the backend reports. Other methods log in by themselves when needed, so
// calling Login first is optional. It is useful to check credentials.
func (c *Client) Login(ctx context.Context) (Identity, error) {
	c.mu.Lock()
	stale := c.sess
	c.mu.Unlock()
	// Passing the current session as stale forces a new login.
	s, err := c.ensureSession(ctx, stale)
	if err != nil {
		return Identity{}, err
	}
	return s.identity, nil
}

// Identity returns the logged-in user, and false before the first
// successful login.
func (c *Client) Identity() (Identity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess == nil {
		return Identity{}, false
	}
	return c.sess.identity, true
}

// ensureSession returns the current session unless it is stale (the one a
// call just saw rejected), logging in when needed. Concurrent callers share
// one login: the first starts it, the others wait for it. A waiter whose
// shared login failed only because the starter's context ended tries again
// with its own context.
func (c *Client) ensureSession(ctx context.Context, stale *session) (*session, error) {
	for {
		c.mu.Lock()
		if c.sess != nil && c.sess != stale {
			s := c.sess
			c.mu.Unlock()
			return s, nil
		}
		if call := c.pending; call != nil {
			c.mu.Unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return nil, contextError("login", ctx.Err())
			}
			if call.err != nil && call.abandoned && ctx.Err() == nil {
				continue // the starter gave up; this caller still wants a session
			}
			if call.err != nil {
				return nil, call.err
			}
			return call.sess, nil
		}
		call := &loginCall{done: make(chan struct{})}
		c.pending = call
		c.mu.Unlock()

		call.sess, call.err = c.login(ctx)
		call.abandoned = call.err != nil && ctx.Err() != nil

		c.mu.Lock()
		if call.err == nil {
			c.sess = call.sess
		}
		c.pending = nil
		c.mu.Unlock()
		close(call.done)
		return call.sess, call.err
	}
}

// session returns the current session, logging in when there is none.
func (c *Client) session(ctx context.Context) (*session, error) {
	return c.ensureSession(ctx, nil)
}

func splitEndpoint(endpoint string) (string, int, error) {
	_, rest, ok := strings.Cut(endpoint, "://")
	if !ok {
		return "", 0, fmt.Errorf("no scheme in %q", endpoint)
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	return host, p, err
}
