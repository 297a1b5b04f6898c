package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// DefaultListen is the address the standalone emulator listens on, the one
// the official accsyn Python API uses in its developer mode.
const DefaultListen = "127.0.0.1:8181"

// Server is an emulator listening on a TCP port, for the terminal UI and for
// tests.
type Server struct {
	URL      string // base URL, e.g. http://127.0.0.1:8181
	Host     string // host part of the listening address
	Port     int
	Emulator *Emulator

	http    *http.Server
	serveCh chan error
}

// Start opens the emulator described by opts and serves it on listen, an
// address such as "127.0.0.1:0". An empty listen means "127.0.0.1:0", a
// free loopback port. Start returns once the port accepts connections.
func Start(opts Options, listen string) (*Server, error) {
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	e, err := Open(opts)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("emulator cannot listen on %s: %w", listen, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	s := &Server{
		URL:      "http://" + net.JoinHostPort(host, strconv.Itoa(addr.Port)),
		Host:     host,
		Port:     addr.Port,
		Emulator: e,
		http: &http.Server{
			Handler:           e.Handler(),
			ReadHeaderTimeout: 10 * time.Second,
			// A GET or DELETE event travels in the query string, so the
			// header limit must exceed MaxPayload (percent-encoded, up to
			// three times as long) for the handler to return 413 rather
			// than net/http returning 431.
			MaxHeaderBytes: 3*MaxPayload + 64<<10,
			IdleTimeout:    2 * time.Minute,
		},
		serveCh: make(chan error, 1),
	}
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.serveCh <- err
	}()
	e.log.Info("emulator started", "workspace", e.workspace, "url", s.URL)
	return s, nil
}

// Run serves until ctx is done, then shuts down as Close does. It returns
// early with the error if serving fails. It prints nothing itself.
func (s *Server) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return s.Close()
	case err := <-s.serveCh:
		s.serveCh <- err
		closeErr := s.Close()
		if err != nil {
			return fmt.Errorf("emulator stopped serving: %w", err)
		}
		return closeErr
	}
}

// Close stops accepting connections, waits up to 5 seconds for requests in
// flight to finish, then closes the store.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdownErr := s.http.Shutdown(ctx)
	if shutdownErr != nil {
		s.http.Close()
	}
	closeErr := s.Emulator.Close()
	s.Emulator.log.Info("emulator stopped", "workspace", s.Emulator.workspace)
	return errors.Join(shutdownErr, closeErr)
}
