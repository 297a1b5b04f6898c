// Package sshd serves the accsyn-sites TUI over SSH with Wish. Every SSH
// session runs its own Bubble Tea program, sized to its PTY and coloured for
// the client's terminal, and all sessions share one backend.
package sshd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"charm.land/log/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/activeterm"
	"charm.land/wish/v2/bubbletea"
	"charm.land/wish/v2/recover"
	gossh "golang.org/x/crypto/ssh"

	"accsyn-sites/ui"
)

// Defaults for the zero values of Options.
const (
	DefaultListen        = "127.0.0.1:23234"
	DefaultMaxSessions   = 50
	DefaultIdleTimeout   = 30 * time.Minute
	DefaultShutdownGrace = 5 * time.Second
)

// readOnlyReason is the message the UI shows on a change key when the
// server runs with Options.ReadOnly.
const readOnlyReason = "this SSH server is read-only"

// handshakeTimeout bounds how long a client may take to authenticate, so
// unauthenticated connections cannot pile up.
const handshakeTimeout = 30 * time.Second

// Options configures a Server.
type Options struct {
	// Listen is the TCP address for ListenAndServe; default "127.0.0.1:23234".
	Listen string
	// AuthorizedKeys is the path of an OpenSSH authorized_keys file. It is
	// required, and read again whenever it changes.
	AuthorizedKeys string
	// HostKey is the path of the ed25519 host key, created on first start
	// with mode 0600 and reused after.
	HostKey string
	// MaxSessions caps the concurrent sessions; default 50.
	MaxSessions int
	// IdleTimeout ends a session that has had no input for this long;
	// default 30 minutes.
	IdleTimeout time.Duration
	// ReadOnly disables every change key in every session.
	ReadOnly bool
	// UI is the template for each session's UI. Backend is shared by all
	// sessions; Logger, when set, is the base of each session's change log
	// (otherwise Logger below is used).
	UI ui.Options
	// Logger receives connection and session logs; nil means stderr with
	// the prefix "ssh".
	Logger *log.Logger
	// ShutdownGrace is how long Shutdown waits for sessions to end before
	// closing their connections; default 5 seconds.
	ShutdownGrace time.Duration

	// renderFPS, when above 0, is the frame rate of every session's
	// renderer instead of Bubble Tea's default of 60. The benchmarks set it
	// to compare the idle cost of different rates.
	renderFPS int
}

// Server is an SSH server that gives each authenticated session the TUI.
type Server struct {
	opts   Options
	log    *log.Logger
	uiLog  *log.Logger
	keys   *keyFile
	ssh    *ssh.Server
	hostFP string

	mu       sync.Mutex
	listener net.Listener
	closing  bool
	sessions map[*session]struct{}
	conns    map[*trackedConn]struct{}
	nextID   uint64
	// sessionEnded is signalled whenever a session ends, for Shutdown.
	sessionEnded chan struct{}
	// rejectedKeys holds, by remote address, the user and the fingerprint
	// of the last key rejected on a connection still authenticating, so
	// that a failed connection is logged with them.
	rejectedKeys sync.Map
}

// rejectedKey is the last public key a connection offered and was refused.
type rejectedKey struct {
	user, fingerprint string
}

// New checks the options, reads the authorized_keys file and loads or
// creates the host key. It fails when the authorized_keys file is missing
// or holds no valid key, with the command that adds one.
func New(opts Options) (*Server, error) {
	if err := applyDefaults(&opts); err != nil {
		return nil, err
	}
	s := &Server{
		opts:         opts,
		log:          opts.Logger,
		uiLog:        opts.UI.Logger,
		sessions:     map[*session]struct{}{},
		conns:        map[*trackedConn]struct{}{},
		sessionEnded: make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = log.NewWithOptions(os.Stderr, log.Options{Prefix: "ssh", ReportTimestamp: true})
	}
	if s.uiLog == nil {
		s.uiLog = s.log
	}

	keys, problems, err := loadKeyFile(opts.AuthorizedKeys)
	for _, p := range problems {
		s.log.Warn("skipped a line of authorized_keys", "path", opts.AuthorizedKeys, "line", p.line, "err", p.err)
	}
	if err != nil {
		return nil, err
	}
	s.keys = keys

	signer, created, err := loadOrCreateHostKey(opts.HostKey)
	if err != nil {
		return nil, err
	}
	s.hostFP = gossh.FingerprintSHA256(signer.PublicKey())
	if created {
		s.log.Info("created host key", "path", opts.HostKey, "fingerprint", s.hostFP)
	}

	s.ssh, err = wish.NewServer(
		wish.WithVersion("accsyn-sites"),
		wish.WithPublicKeyAuth(s.authorize),
		// A connection-level deadline that only matters for connections
		// with no session (for example ssh -N): sessions end on their own
		// input-based idle timer first.
		wish.WithIdleTimeout(2*opts.IdleTimeout),
		func(srv *ssh.Server) error {
			srv.AddHostKey(signer)
			srv.HandshakeTimeout = handshakeTimeout
			srv.ConnectionFailedCallback = s.logFailedConnection
			srv.ConnCallback = s.trackConn
			return nil
		},
		// Middlewares run last-listed first: recover wraps everything,
		// then the session bookkeeping (no-PTY message, limits, logs,
		// goodbye line), then activeterm, then the Bubble Tea program.
		wish.WithMiddleware(
			bubbletea.MiddlewareWithProgramHandler(s.newProgram),
			// The session middleware already rejects a session without a
			// PTY with our own message. activeterm stays as a safety net so
			// the program never starts without a terminal, whatever the
			// order above it.
			activeterm.Middleware(),
			s.sessionMiddleware,
			recover.MiddlewareWithLogger(s.log),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("configure SSH server: %w", err)
	}
	return s, nil
}

func applyDefaults(opts *Options) error {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.MaxSessions < 0 {
		return fmt.Errorf("max sessions %d is negative: use a positive number, or 0 for the default %d", opts.MaxSessions, DefaultMaxSessions)
	}
	if opts.MaxSessions == 0 {
		opts.MaxSessions = DefaultMaxSessions
	}
	if opts.IdleTimeout < 0 {
		return fmt.Errorf("idle timeout %s is negative: use a positive duration such as 30m, or 0 for the default %s", opts.IdleTimeout, DefaultIdleTimeout)
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.ShutdownGrace < 0 {
		return fmt.Errorf("shutdown grace %s is negative: use a positive duration such as 5s, or 0 for the default %s", opts.ShutdownGrace, DefaultShutdownGrace)
	}
	if opts.ShutdownGrace == 0 {
		opts.ShutdownGrace = DefaultShutdownGrace
	}
	if opts.UI.Backend == nil {
		return errors.New("Options.UI.Backend is missing: pass the accsyn client or the emulator's client that the sessions share")
	}
	return nil
}

// Serve accepts connections on l until Shutdown. It returns nil after
// Shutdown, and the listener's error otherwise.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return nil
	}
	s.listener = l
	s.mu.Unlock()

	s.log.Info("serving SSH", "address", l.Addr().String(), "host_key", s.hostFP,
		"authorized_keys", s.opts.AuthorizedKeys, "keys", s.keys.count(), "read_only", s.opts.ReadOnly)
	err := s.ssh.Serve(l)
	if errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on Options.Listen and calls Serve.
func (s *Server) ListenAndServe() error {
	l, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen for SSH on %s: %w", s.opts.Listen, err)
	}
	return s.Serve(l)
}

// Addr returns the address the server listens on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listener == nil {
		return nil
	}
	return s.listener.Addr()
}

// HostKeyFingerprint returns the SHA256 fingerprint of the host key, for
// users to compare with what their ssh client shows on first connection.
func (s *Server) HostKeyFingerprint() string {
	return s.hostFP
}

// Shutdown stops accepting connections, ends every session with a line
// saying the server is shutting down, waits up to ShutdownGrace (or until
// ctx ends) for the clients to disconnect, and then closes the connections
// that remain. It returns ctx's error when ctx ended first, and nil
// otherwise.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	open := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		open = append(open, sess)
	}
	s.mu.Unlock()

	s.log.Info("shutting down", "sessions", len(open), "grace", s.opts.ShutdownGrace)
	for _, sess := range open {
		sess.end(endShutdown)
	}

	graceCtx, cancel := context.WithTimeout(ctx, s.opts.ShutdownGrace)
	defer cancel()
	// The SSH server's Shutdown closes the listener and waits for the
	// authenticated connections. Connections still in their handshake are
	// only in s.conns, so they are waited for and closed here.
	_ = s.ssh.Shutdown(graceCtx)
	for s.connCount() > 0 && graceCtx.Err() == nil {
		select {
		case <-graceCtx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	if left := s.closeConns(); left > 0 {
		// Closing a connection also ends its sessions, through the
		// connection context.
		s.log.Warn("closed connections left open after the shutdown grace", "connections", left, "grace", s.opts.ShutdownGrace)
	}
	_ = s.ssh.Close()
	s.waitForSessions(ctx)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.log.Info("shut down")
	return nil
}

// trackConn records an accepted connection, from before its handshake, so
// Shutdown can close it. It returns nil, which makes the SSH server drop
// the connection, once Shutdown has begun.
func (s *Server) trackConn(_ ssh.Context, conn net.Conn) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil
	}
	tracked := &trackedConn{Conn: conn, srv: s}
	s.conns[tracked] = struct{}{}
	return tracked
}

// trackedConn removes itself from the server's connections when closed.
type trackedConn struct {
	net.Conn
	srv  *Server
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.srv.mu.Lock()
		delete(c.srv.conns, c)
		c.srv.mu.Unlock()
	})
	return c.Conn.Close()
}

func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// closeConns closes every connection still open and returns their number.
func (s *Server) closeConns() int {
	s.mu.Lock()
	open := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
	return len(open)
}

func (s *Server) sessionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// waitForSessions blocks until every session handler has returned or ctx
// ends.
func (s *Server) waitForSessions(ctx context.Context) {
	for s.sessionCount() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-s.sessionEnded:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// authorize is the public key handler: the key must be in the
// authorized_keys file and its options must allow the client's address.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	entry, reread, problems, err := s.keys.lookup(key)
	if reread {
		for _, p := range problems {
			s.log.Warn("skipped a line of authorized_keys", "path", s.opts.AuthorizedKeys, "line", p.line, "err", p.err)
		}
		if err != nil {
			s.log.Error("authorized_keys is unusable, so every login is rejected", "err", err)
		} else {
			s.log.Info("read authorized_keys again", "path", s.opts.AuthorizedKeys, "keys", s.keys.count())
		}
	}
	fingerprint := gossh.FingerprintSHA256(key)
	remote := ctx.RemoteAddr().String()
	if entry == nil {
		// Clients offer their keys one after another, so an unknown key is
		// not yet a failure: it is logged with the connection if none fits.
		s.log.Debug("rejected a key that is not in authorized_keys", "user", ctx.User(), "remote", remote, "key", fingerprint)
		s.rejectedKeys.Store(remote, rejectedKey{user: ctx.User(), fingerprint: fingerprint})
		return false
	}
	if ok, reason := entry.allows(remoteIP(ctx.RemoteAddr()), time.Now()); !ok {
		s.log.Info("rejected a key", "user", ctx.User(), "remote", remote, "key", fingerprint,
			"line", entry.line, "reason", reason)
		s.rejectedKeys.Store(remote, rejectedKey{user: ctx.User(), fingerprint: fingerprint})
		return false
	}
	s.rejectedKeys.Delete(remote)
	if entry.noTouchRequired {
		perms := ctx.Permissions()
		if perms.Extensions == nil {
			perms.Extensions = map[string]string{}
		}
		perms.Extensions["no-touch-required"] = ""
	}
	return true
}

func remoteIP(addr net.Addr) net.IP {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}

func (s *Server) logFailedConnection(conn net.Conn, err error) {
	remote := conn.RemoteAddr().String()
	if last, ok := s.rejectedKeys.LoadAndDelete(remote); ok {
		key := last.(rejectedKey)
		s.log.Info("connection failed", "user", key.user, "remote", remote, "key", key.fingerprint, "err", err)
		return
	}
	s.log.Info("connection failed", "remote", remote, "err", err)
}
