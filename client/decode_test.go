package client

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// resultServer returns a wire server whose every event returns result.
func resultServer(t *testing.T, result any) *Client {
	t.Helper()
	ws := newWireServer(t)
	ws.setEvent(func(w http.ResponseWriter, r *http.Request, ev map[string]any) {
		writeJSON(w, 200, map[string]any{"result": result})
	})
	return ws.client()
}

func TestWrongResultShapeIsBadResponse(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		result any
		call   func(c *Client) error
		want   string
	}{
		{"find returns an object", map[string]any{"id": "x"}, func(c *Client) error {
			_, err := c.FindSites(ctx, FindOptions{})
			return err
		}, "expected a list"},
		{"site name is a number", []any{map[string]any{"id": "aaaaaaaaaaaaaaaaaaaaaaaa", "name": 7}}, func(c *Client) error {
			_, err := c.FindSites(ctx, FindOptions{})
			return err
		}, "expected a list"},
		{"bad date", []any{map[string]any{"id": "aaaaaaaaaaaaaaaaaaaaaaaa", "created": "yesterday"}}, func(c *Client) error {
			_, err := c.FindSites(ctx, FindOptions{})
			return err
		}, "yesterday"},
		{"create returns an empty list", []any{}, func(c *Client) error {
			_, err := c.CreateSite(ctx, map[string]any{"name": "x"})
			return err
		}, "empty list"},
		{"create returns a string", "ok", func(c *Client) error {
			_, err := c.CreateSite(ctx, map[string]any{"name": "x"})
			return err
		}, "expected a list"},
		{"entity types are numbers", []any{1, 2}, func(c *Client) error {
			_, err := c.EntityTypes(ctx)
			return err
		}, "a list of names"},
		{"get returns another site", []any{map[string]any{"id": "bbbbbbbbbbbbbbbbbbbbbbbb"}}, func(c *Client) error {
			_, err := c.GetSite(ctx, "aaaaaaaaaaaaaaaaaaaaaaaa")
			return err
		}, "bbbbbbbbbbbbbbbbbbbbbbbb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(resultServer(t, tc.result))
			e := asError(t, err)
			if e.Kind != KindBadResponse {
				t.Errorf("kind = %v, want bad response; error: %v", e.Kind, e)
			}
			if !strings.Contains(e.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", e.Error(), tc.want)
			}
		})
	}
}

func TestCreateAcceptsSingleObject(t *testing.T) {
	c := resultServer(t, map[string]any{"id": "aaaaaaaaaaaaaaaaaaaaaaaa", "name": "solo", "code": "solo"})
	site, err := c.CreateSite(context.Background(), map[string]any{"name": "solo"})
	if err != nil {
		t.Fatalf("CreateSite: %v", err)
	}
	if site.ID != "aaaaaaaaaaaaaaaaaaaaaaaa" || site.Code != "solo" {
		t.Errorf("site = %+v, want the object unwrapped as is", site)
	}
}

func TestNullResultIsEmptyList(t *testing.T) {
	c := resultServer(t, nil)
	sites, err := c.FindSites(context.Background(), FindOptions{})
	if err != nil {
		t.Fatalf("FindSites: %v", err)
	}
	if sites == nil || len(sites) != 0 {
		t.Errorf("sites = %#v, want an empty, non-nil list", sites)
	}
}

func TestKindFromMessage(t *testing.T) {
	cases := map[string]ErrorKind{
		"Session expired, log in again":    KindAuth,
		"Invalid API key":                  KindAuth,
		"Permission denied for site/edit":  KindForbidden,
		"Site 123 not found":               KindNotFound,
		"Site with code hq already exists": KindConflict,
		"Cannot delete the main site":      KindConflict,
		"Payload too large":                KindTooLarge,
		"Invalid status 'paused'":          KindInvalid,
		"Something odd happened":           KindUnknown,
	}
	for msg, want := range cases {
		if got := kindFromMessage(msg); got != want {
			t.Errorf("kindFromMessage(%q) = %v, want %v", msg, got, want)
		}
	}
}

func TestWaiterContextEndsDuringLogin(t *testing.T) {
	ws := newWireServer(t)
	release := make(chan struct{})
	ws.setLogin(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		writeJSON(w, 200, map[string]any{"result": map[string]any{"id": "u1", "role": "admin", "session_id": testSession}})
	})
	t.Cleanup(func() { close(release) })
	c := ws.client()

	go func() { _, _ = c.Login(context.Background()) }()
	waitFor(t, "the first login request", func() bool { return ws.countPath(loginPath) >= 1 })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.FindSites(ctx, FindOptions{})
	e := asError(t, err)
	if e.Op != "login" || !errors.Is(err, context.Canceled) {
		t.Errorf("waiting caller: %v (op %q), want a cancelled login", e, e.Op)
	}
	if n := ws.countPath(loginPath); n != 1 {
		t.Errorf("logins = %d, want 1: the cancelled caller must wait, not log in", n)
	}
}
