package sshd

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/log/v2"
	"charm.land/ssh"
	"charm.land/wish/v2/bubbletea"
	"github.com/charmbracelet/colorprofile"
	gossh "golang.org/x/crypto/ssh"

	"accsyn-sites/ui"
)

// endReason is the cause that stopped a session's program.
type endReason int32

const (
	endQuit     endReason = iota // the user quit, or the client went away
	endIdle                      // no input for Options.IdleTimeout
	endShutdown                  // Server.Shutdown
	endPanic                     // a panic in the UI
)

func (r endReason) String() string {
	switch r {
	case endIdle:
		return "idle"
	case endShutdown:
		return "shutdown"
	case endPanic:
		return "panic"
	default:
		return "quit"
	}
}

// session is the server's record of one SSH session that runs the TUI.
type session struct {
	id          uint64
	ssh         ssh.Session
	log         *log.Logger
	started     time.Time
	idleTimeout time.Duration

	// ctx ends when the session handler returns or the connection closes,
	// and with it the goroutines the server started for the session.
	ctx    context.Context
	cancel context.CancelFunc

	// lastInput is the time of the last read from the client, in Unix
	// nanoseconds.
	lastInput atomic.Int64

	mu      sync.Mutex
	program *tea.Program
	reason  endReason
	ended   bool
}

// end stops the session's program for reason. The first reason wins.
func (s *session) end(reason endReason) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.reason = true, reason
	program := s.program
	s.mu.Unlock()
	if program != nil {
		// Quit lets the program restore the client's terminal before the
		// goodbye line. Send blocks until the program reads it or ends, so
		// it runs on its own goroutine.
		go func() {
			defer s.recoverGoroutine("quit")
			program.Quit()
		}()
	}
}

func (s *session) endReason() endReason {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reason
}

// recoverGoroutine is deferred at the top of every goroutine the server
// starts for a session: a panic there ends that session only.
func (s *session) recoverGoroutine(name string) {
	if r := recover(); r != nil {
		s.log.Error("panic in session goroutine", "goroutine", name, "panic", r, "stack", string(debug.Stack()))
		s.end(endPanic)
		s.cancel()
	}
}

// watchIdle ends the session after idleTimeout without input.
func (s *session) watchIdle() {
	defer s.recoverGoroutine("idle timer")
	timer := time.NewTimer(s.idleTimeout)
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
			idle := time.Since(time.Unix(0, s.lastInput.Load()))
			if idle >= s.idleTimeout {
				s.end(endIdle)
				return
			}
			timer.Reset(s.idleTimeout - idle)
		}
	}
}

// inputTracker is the session wrapped for the program. Reads record the
// time of the client's last input for the idle timeout. The end of the
// input (the client closed the session) quits the program, which would
// otherwise keep running with no client to read its output.
type inputTracker struct {
	ssh.Session
	sess *session
}

func (t inputTracker) Read(p []byte) (int, error) {
	n, err := t.Session.Read(p)
	if n > 0 {
		t.sess.lastInput.Store(time.Now().UnixNano())
	}
	if err != nil {
		t.sess.end(endQuit)
	}
	return n, err
}

// sessionMiddleware turns away sessions that cannot or may not run the TUI,
// registers the others for limits and Shutdown, logs their start and end,
// and writes the goodbye line when the server ended them.
func (s *Server) sessionMiddleware(next ssh.Handler) ssh.Handler {
	return func(sshSess ssh.Session) {
		fingerprint := ""
		if key := sshSess.PublicKey(); key != nil {
			fingerprint = gossh.FingerprintSHA256(key)
		}
		logger := s.log.With("user", sshSess.User(), "remote", sshSess.RemoteAddr().String(), "key", fingerprint)

		if reject := s.checkSession(sshSess); reject != "" {
			logger.Info("session rejected", "reason", reject)
			return
		}
		sess, ok := s.register(sshSess, logger)
		if !ok {
			return
		}
		defer s.unregister(sess)

		pty, _, _ := sshSess.Pty()
		sess.log.Info("session started", "term", pty.Term, "width", pty.Window.Width, "height", pty.Window.Height)
		next(sshSess)

		reason := sess.endReason()
		s.sayGoodbye(sess, reason)
		sess.log.Info("session ended", "reason", reason.String(), "duration", time.Since(sess.started).Round(time.Millisecond).String())
	}
}

// checkSession rejects the sessions that get no TUI: no PTY, a key with
// no-pty, or a command. It returns the reason for the log, or "" when the
// session may go on.
func (s *Server) checkSession(sshSess ssh.Session) string {
	if _, _, hasPTY := sshSess.Pty(); !hasPTY {
		fmt.Fprintln(sshSess.Stderr(), "accsyn-sites is a full-screen terminal program and needs a terminal: connect with ssh -t, without -T or a command.")
		_ = sshSess.Exit(1)
		return "no PTY"
	}
	if key := sshSess.PublicKey(); key != nil {
		if entry, _, _, _ := s.keys.lookup(key); entry != nil && entry.noPTY {
			fmt.Fprintf(sshSess.Stderr(), "accsyn-sites needs a terminal, but this key has the no-pty option in %s: remove the option or use another key.\n",
				s.opts.AuthorizedKeys)
			_ = sshSess.Exit(1)
			return "key has no-pty"
		}
	}
	if cmd := sshSess.RawCommand(); cmd != "" {
		fmt.Fprintf(sshSess.Stderr(), "accsyn-sites takes no command, but got %q: connect with ssh -t and no command.\n", cmd)
		_ = sshSess.Exit(1)
		return "command given"
	}
	return ""
}

// register adds a session, or rejects it with a message to the client.
func (s *Server) register(sshSess ssh.Session, logger *log.Logger) (*session, bool) {
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		fmt.Fprintln(sshSess.Stderr(), "accsyn-sites: the server is shutting down. Try again when it is back.")
		_ = sshSess.Exit(1)
		logger.Info("session rejected", "reason", "shutting down")
		return nil, false
	case len(s.sessions) >= s.opts.MaxSessions:
		s.mu.Unlock()
		fmt.Fprintf(sshSess.Stderr(), "accsyn-sites: the server is full (%d sessions open). Try again later.\n", s.opts.MaxSessions)
		_ = sshSess.Exit(1)
		logger.Warn("session rejected", "reason", "server full", "max_sessions", s.opts.MaxSessions)
		return nil, false
	}
	s.nextID++
	ctx, cancel := context.WithCancel(sshSess.Context())
	sess := &session{
		id:          s.nextID,
		ssh:         sshSess,
		log:         logger.With("session", s.nextID),
		started:     time.Now(),
		idleTimeout: s.opts.IdleTimeout,
		ctx:         ctx,
		cancel:      cancel,
	}
	sess.lastInput.Store(sess.started.UnixNano())
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	return sess, true
}

func (s *Server) unregister(sess *session) {
	sess.cancel()
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	select {
	case s.sessionEnded <- struct{}{}:
	default:
	}
}

// lookupSession finds the record of an SSH session registered by
// sessionMiddleware.
func (s *Server) lookupSession(sshSess ssh.Session) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		if sess.ssh == sshSess {
			return sess
		}
	}
	return nil
}

// sayGoodbye writes one line saying why the server ended the session. The
// program has restored the client's terminal by then.
func (s *Server) sayGoodbye(sess *session, reason endReason) {
	var line string
	status := 0
	switch reason {
	case endIdle:
		line = fmt.Sprintf("accsyn-sites: session closed after %s without input. Reconnect to continue.", formatDuration(s.opts.IdleTimeout))
	case endShutdown:
		line = "accsyn-sites: the server is shutting down. Reconnect when it is back."
	case endPanic:
		line = "accsyn-sites: the session stopped after an internal error, which has been logged. Reconnect to start again."
		status = 1
	default:
		return
	}
	fmt.Fprintln(sess.ssh, line)
	_ = sess.ssh.Exit(status)
}

// formatDuration writes d without zero trailing units: 30m rather than
// 30m0s.
func formatDuration(d time.Duration) string {
	text := d.String()
	if strings.HasSuffix(text, "m0s") {
		text = strings.TrimSuffix(text, "0s")
	}
	if strings.HasSuffix(text, "h0m") {
		text = strings.TrimSuffix(text, "0m")
	}
	return text
}

// fallbackWidth and fallbackHeight are the window size used when the
// client's PTY request gives none.
const (
	fallbackWidth  = 80
	fallbackHeight = 24
)

// newProgram is the Bubble Tea program handler: one UI per session, with the
// session's PTY size, environment and colour profile.
func (s *Server) newProgram(sshSess ssh.Session) *tea.Program {
	sess := s.lookupSession(sshSess)
	if sess == nil {
		// Only sessionMiddleware lets sessions through, so this means the
		// middleware order changed: refuse rather than run unaccounted.
		s.log.Error("session reached the program handler without being registered", "user", sshSess.User())
		return nil
	}

	uiOpts := s.opts.UI
	uiOpts.Logger = s.uiLog.With("user", sshSess.User(), "key", fingerprintOf(sshSess))
	if s.opts.ReadOnly && !uiOpts.ReadOnly {
		// A template that is already read-only keeps its own reason.
		uiOpts.ReadOnly = true
		uiOpts.ReadOnlyReason = readOnlyReason
	}
	model := &guardedModel{inner: ui.New(uiOpts), sess: sess}

	// NOTE: after a session ends, its program stays in memory (about
	// 1.5 MiB at 120x40) until its pending commands return, which for the
	// UI's refresh tick takes up to UI.Refresh, because Bubble Tea cannot
	// cancel a running command.
	//
	// No tea.WithContext: the middleware quits the program when the
	// connection closes and inputTracker when the session's input ends, and
	// a quit (unlike a cancelled context) restores the client's terminal.
	input := inputTracker{Session: sshSess, sess: sess}
	profile := sessionColorProfile(sshSess)
	opts := append(bubbletea.MakeOptions(input),
		// The server handles SIGINT and SIGTERM itself and ends sessions
		// through Shutdown, so programs must not catch them.
		tea.WithoutSignalHandler(),
		tea.WithColorProfile(profile),
		// This replaces the filter of MakeOptions, so it keeps its rule
		// that a suspend request never stops the server process.
		tea.WithFilter(sessionFilter(profile)),
	)
	if s.opts.renderFPS > 0 {
		opts = append(opts, tea.WithFPS(s.opts.renderFPS))
	}
	if pty, _, _ := sshSess.Pty(); pty.Window.Width <= 0 || pty.Window.Height <= 0 {
		// A client without a terminal of its own (ssh -tt from a pipe)
		// sends a 0x0 window; draw for the classic 80x24 instead of
		// nothing.
		opts = append(opts, tea.WithWindowSize(fallbackWidth, fallbackHeight))
	}
	program := tea.NewProgram(model, opts...)

	sess.mu.Lock()
	ended := sess.ended
	sess.program = program
	sess.mu.Unlock()
	if ended {
		// Shutdown reached this session before its program existed.
		return nil
	}
	go sess.watchIdle()
	return program
}

func fingerprintOf(sshSess ssh.Session) string {
	if key := sshSess.PublicKey(); key != nil {
		return gossh.FingerprintSHA256(key)
	}
	return ""
}

// sessionColorProfile derives the colour profile from the client's TERM
// and the environment it sent, never from the server's own environment.
// NO_COLOR set to any non-empty value turns colours off, as no-color.org
// defines it; colorprofile alone honours only values that parse as true.
func sessionColorProfile(sshSess ssh.Session) colorprofile.Profile {
	env := sshSess.Environ()
	pty, _, _ := sshSess.Pty()
	env = append(env, "TERM="+pty.Term)
	profile := colorprofile.Env(env)
	for _, kv := range sshSess.Environ() {
		if value, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && value != "" && profile > colorprofile.ASCII {
			profile = colorprofile.ASCII
		}
	}
	return profile
}

// sessionFilter returns the message filter of a session's program. It
// turns a suspend request (ctrl+z in a program that requests it) into a
// resume, because suspending would stop the whole server. It drops window
// sizes with a zero dimension, which RFC 4254 says to ignore, so the
// fallback size stays in place. When the session has no colours, it also
// drops the terminal's true-colour capability reply, which Bubble Tea would
// otherwise use to turn colours back on.
func sessionFilter(profile colorprofile.Profile) func(tea.Model, tea.Msg) tea.Msg {
	noColor := profile <= colorprofile.ASCII
	return func(_ tea.Model, msg tea.Msg) tea.Msg {
		switch msg := msg.(type) {
		case tea.SuspendMsg:
			return tea.ResumeMsg{}
		case tea.WindowSizeMsg:
			if msg.Width <= 0 || msg.Height <= 0 {
				return nil
			}
		case tea.CapabilityMsg:
			if noColor && (msg.Content == "RGB" || msg.Content == "Tc") {
				return nil
			}
		}
		return msg
	}
}
