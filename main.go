// Command accsyn-sites manages the sites of an accsyn workspace from a
// terminal: a site list and detail view with dialogs to create, edit, enable,
// disable and delete sites. Without accsyn credentials it runs on an embedded
// accsyn-compatible emulator, so it works offline out of the box.
//
// Usage:
//
//	accsyn-sites [flags]            open the terminal UI
//	accsyn-sites emulator [flags]   run the emulator alone on 127.0.0.1:8181
//	accsyn-sites serve [flags]      serve the terminal UI over SSH
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/log/v2"

	"accsyn-sites/client"
	"accsyn-sites/emulator"
	"accsyn-sites/sshd"
	"accsyn-sites/ui"
)

// version is the release version; builds from a module proxy replace it with
// the module version recorded in the binary.
var version = "0.1.0"

const appName = "accsyn-sites"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a command and returns the process exit status: 0 on
// success, 1 on a runtime failure, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "emulator":
			return runEmulator(args[1:], stdout, stderr)
		case "serve":
			return runServe(args[1:], stdout, stderr)
		case "help":
			return runTUI([]string{"--help"}, stdout, stderr)
		case "version":
			fmt.Fprintln(stdout, versionLine())
			return 0
		}
	}
	return runTUI(args, stdout, stderr)
}

func versionLine() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	return fmt.Sprintf("%s %s", appName, v)
}

// backendFlags are the options shared by the TUI and the SSH server: where
// the accsyn workspace is, or where the embedded emulator keeps its data.
type backendFlags struct {
	workspace       string
	user            string
	hostname        string
	port            int
	registry        string
	insecure        bool
	connectTimeout  time.Duration
	responseTimeout time.Duration
	dataDir         string
	refresh         time.Duration
}

func (b *backendFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.workspace, "workspace", "", "accsyn workspace code (default $ACCSYN_WORKSPACE)")
	fs.StringVar(&b.user, "user", "", "accsyn API user, an e-mail address (default $ACCSYN_API_USER)")
	fs.StringVar(&b.hostname, "hostname", "", "workspace host name, skipping the registry lookup (default $ACCSYN_HOSTNAME)")
	fs.IntVar(&b.port, "port", 0, "workspace port (default $ACCSYN_PORT, else 443)")
	fs.StringVar(&b.registry, "registry", "", "registry base URL used to look up the workspace host when no host name is given, e.g. https://master.accsyn.com:443 (default $ACCSYN_REGISTRY)")
	fs.BoolVar(&b.insecure, "insecure", false, "skip TLS certificate verification (unsafe: only for test servers)")
	fs.DurationVar(&b.connectTimeout, "connect-timeout", 10*time.Second, "time allowed to connect to the workspace")
	fs.DurationVar(&b.responseTimeout, "response-timeout", 2*time.Minute, "time allowed for the workspace to answer a call")
	fs.StringVar(&b.dataDir, "data", "", "data directory for the embedded emulator, logs and SSH keys (default $XDG_DATA_HOME/accsyn-sites or ~/.local/share/accsyn-sites)")
	fs.DurationVar(&b.refresh, "refresh", 10*time.Second, "automatic refresh period of the site list; 0 turns it off")
}

// backend is a connected accsyn backend: a client, and the embedded emulator
// when the client talks to one.
type backend struct {
	client    *client.Client
	workspace string
	emulator  *emulator.Server
	dataDir   string
}

func (b *backend) Close() {
	if b.emulator != nil {
		_ = b.emulator.Close()
	}
}

// open connects to the workspace named by flags, the environment or a .env
// file, or starts the embedded emulator when no credentials are found. The
// emulator logs at emulatorLevel, so a busy SSH server can leave out the line
// per request.
func (b *backendFlags) open(logger *log.Logger, emulatorLevel log.Level, stderr io.Writer) (*backend, error) {
	dataDir, err := resolveDataDir(b.dataDir)
	if err != nil {
		return nil, err
	}
	workdir, _ := os.Getwd()
	explicit := client.Config{
		Workspace:       b.workspace,
		User:            b.user,
		Hostname:        b.hostname,
		Port:            b.port,
		RegistryURL:     b.registry,
		Insecure:        b.insecure,
		ConnectTimeout:  b.connectTimeout,
		ResponseTimeout: b.responseTimeout,
		Device:          deviceName(),
	}
	cfg, found, err := client.LoadConfig(explicit, os.Getenv, workdir)
	if err != nil {
		return nil, err
	}

	if found {
		if cfg.Insecure {
			fmt.Fprintln(stderr, "warning: --insecure: TLS certificates are not verified, so the connection can be intercepted")
			logger.Warn("TLS certificate verification is off", "workspace", cfg.Workspace)
		}
		c, err := client.New(cfg)
		if err != nil {
			return nil, err
		}
		logger.Info("using accsyn workspace", "workspace", cfg.Workspace, "user", cfg.User, "host", cfg.Hostname)
		return &backend{client: c, workspace: cfg.Workspace, dataDir: dataDir}, nil
	}

	emulatorLogger := logger.WithPrefix("emulator")
	emulatorLogger.SetLevel(emulatorLevel)
	srv, err := emulator.Start(emulator.Options{
		DataDir: dataDir,
		Logger:  emulatorLogger,
	}, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the embedded emulator in %s: %w", dataDir, err)
	}
	admin, err := findUser(srv.Emulator.Users(), "admin")
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	c, err := client.New(client.Config{
		Workspace:       srv.Emulator.Workspace(),
		User:            admin.Name,
		APIKey:          admin.APIKey,
		Hostname:        srv.Host,
		Port:            srv.Port,
		Scheme:          "http",
		ConnectTimeout:  b.connectTimeout,
		ResponseTimeout: b.responseTimeout,
		Device:          deviceName(),
	})
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	logger.Info("using the embedded emulator", "url", srv.URL, "data", dataDir)
	return &backend{client: c, workspace: srv.Emulator.Workspace(), emulator: srv, dataDir: dataDir}, nil
}

func findUser(users []emulator.User, role string) (emulator.User, error) {
	for _, u := range users {
		if u.Role == role {
			return u, nil
		}
	}
	return emulator.User{}, fmt.Errorf("the emulator has no %s user", role)
}

// uiOptions returns the UI settings for this backend. Each call may take as
// long as the client's connect and response timeouts together.
func (b *backend) uiOptions(bf *backendFlags, logger *log.Logger) ui.Options {
	return ui.Options{
		Backend:     b.client,
		Workspace:   b.workspace,
		Emulator:    b.emulator != nil,
		DataDir:     b.dataDir,
		Refresh:     bf.refresh,
		CallTimeout: bf.connectTimeout + bf.responseTimeout,
		Logger:      logger,
	}
}

// sshUIOptions leaves the server's data directory out of the header that
// SSH clients see: it is a path on the server, of no use to them.
func sshUIOptions(opts ui.Options) ui.Options {
	opts.DataDir = ""
	return opts
}

// resolveDataDir returns dir, or the XDG data directory of the application,
// and creates it with mode 0700.
func resolveDataDir(dir string) (string, error) {
	if dir == "" {
		base := os.Getenv("XDG_DATA_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("find the data directory: %w; set --data or XDG_DATA_HOME", err)
			}
			base = filepath.Join(home, ".local", "share")
		}
		dir = filepath.Join(base, appName)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data directory %s: %w; choose another with --data", dir, err)
	}
	return dir, nil
}

func deviceName() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s %s @ %s", appName, version, host)
}

// openLog opens the log file in append mode, readable by the user only.
func openLog(path string) (*os.File, *log.Logger, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file %s: %w; choose another with --log", path, err)
	}
	logger := log.NewWithOptions(f, log.Options{ReportTimestamp: true, TimeFormat: time.RFC3339})
	return f, logger, nil
}

func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and returns the exit status to stop with, or -1 to
// go on. --help prints the usage to stdout and exits 0; a bad flag prints
// the error and a pointer to --help to stderr and exits 2.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) int {
	// The flag package prints the whole usage on every error and on -h;
	// silence that and print once, to the right stream.
	usage, stderr := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	fs.SetOutput(stderr)

	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v; run %s --help for the flags\n", err, fs.Name())
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q: %s takes only flags (see --help)\n", fs.Arg(0), fs.Name())
		return 2
	}
	return -1
}

const tuiUsage = `accsyn-sites manages the sites of an accsyn workspace in a terminal UI.

Usage:
  accsyn-sites [flags]            open the terminal UI
  accsyn-sites emulator [flags]   run the accsyn emulator alone (see emulator --help)
  accsyn-sites serve [flags]      serve the terminal UI over SSH (see serve --help)
  accsyn-sites version            print the version

Without accsyn credentials the UI opens on an embedded emulator whose data
lives in the data directory. To use a real workspace, set ACCSYN_WORKSPACE,
ACCSYN_API_USER and ACCSYN_API_KEY (in the environment or a .env file in the
working directory or at $ACCSYN_CREDENTIALS_PATH), plus --hostname or
--registry. The API key is read only from the environment or the .env file.
`

func runTUI(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(appName, tuiUsage, stderr)
	var bf backendFlags
	bf.register(fs)
	logPath := fs.String("log", "", "log file (default <data directory>/accsyn-sites.log)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if status := parseFlags(fs, args, stdout); status >= 0 {
		return status
	}
	if *showVersion {
		fmt.Fprintln(stdout, versionLine())
		return 0
	}

	dataDir, err := resolveDataDir(bf.dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	bf.dataDir = dataDir
	if *logPath == "" {
		*logPath = filepath.Join(dataDir, appName+".log")
	}
	logFile, logger, err := openLog(*logPath)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer logFile.Close()
	logger.Info("starting", "version", versionLine())

	be, err := bf.open(logger, log.InfoLevel, stderr)
	if err != nil {
		logger.Error("cannot open the backend", "err", err)
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer be.Close()

	model := ui.New(be.uiOptions(&bf, logger.WithPrefix("ui")))
	_, err = tea.NewProgram(model).Run()
	switch {
	case errors.Is(err, tea.ErrProgramPanic):
		logger.Error("the terminal UI stopped after a panic", "err", err)
		fmt.Fprintf(stderr, "accsyn-sites stopped after an internal error (details above); the log is %s\n", *logPath)
		return 1
	case err != nil && !errors.Is(err, tea.ErrInterrupted):
		logger.Error("the terminal UI failed", "err", err)
		fmt.Fprintf(stderr, "error: %v; the log is %s\n", err, *logPath)
		return 1
	}
	logger.Info("stopped")
	return 0
}

const emulatorUsage = `accsyn-sites emulator runs an accsyn-compatible backend for offline use,
demos and tests, and prints the credentials to use it.

Usage:
  accsyn-sites emulator [--listen 127.0.0.1:8181] [--data DIR | --memory] [--seed demo|none]
`

func runEmulator(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(appName+" emulator", emulatorUsage, stderr)
	listen := fs.String("listen", "127.0.0.1:8181", "address to listen on (the accsyn Python API's developer mode uses 127.0.0.1:8181)")
	dataFlag := fs.String("data", "", "data directory of the store (default $XDG_DATA_HOME/accsyn-sites or ~/.local/share/accsyn-sites)")
	memory := fs.Bool("memory", false, "keep the store in memory: nothing is written to disk and everything is lost on exit")
	seed := fs.String("seed", "demo", "data for a new store: demo (a realistic workspace) or none (built-in sites, hq and the users)")
	if status := parseFlags(fs, args, stdout); status >= 0 {
		return status
	}
	if *seed != "demo" && *seed != "none" {
		fmt.Fprintf(stderr, "invalid --seed %q: use demo or none\n", *seed)
		return 2
	}
	if *memory && *dataFlag != "" {
		fmt.Fprintln(stderr, "--memory and --data exclude each other: use one")
		return 2
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		fmt.Fprintf(stderr, "invalid --listen %q: use host:port, e.g. 127.0.0.1:8181\n", *listen)
		return 2
	}

	opts := emulator.Options{Memory: *memory, Seed: *seed}
	if !*memory {
		dir, err := resolveDataDir(*dataFlag)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		opts.DataDir = dir
	}
	logger := log.NewWithOptions(stderr, log.Options{ReportTimestamp: true, Prefix: "emulator"})
	opts.Logger = logger

	// Catch signals before the banner announces that the emulator is up.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := emulator.Start(opts, *listen)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	fmt.Fprint(stdout, srv.Emulator.Banner(srv.URL))

	<-ctx.Done()
	logger.Info("stopping")
	if err := srv.Close(); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

const serveUsage = `accsyn-sites serve serves the terminal UI over SSH: every SSH session gets
its own UI on the same backend. Clients log in with a public key listed in the
authorized_keys file, and connect with: ssh -p 23234 <host>

Usage:
  accsyn-sites serve [--listen 127.0.0.1:23234] [--authorized-keys FILE] [--host-key FILE]
                     [--max-sessions N] [--idle-timeout D] [--read-only] [backend flags]
`

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet(appName+" serve", serveUsage, stderr)
	var bf backendFlags
	bf.register(fs)
	listen := fs.String("listen", "127.0.0.1:23234", "address to listen on; loopback unless you give another")
	authorizedKeys := fs.String("authorized-keys", "", "OpenSSH authorized_keys file of the keys allowed in (default <data directory>/authorized_keys)")
	hostKey := fs.String("host-key", "", "ed25519 host key, created on first start (default <data directory>/ssh_host_ed25519_key)")
	maxSessions := fs.Int("max-sessions", 50, "maximum number of concurrent sessions")
	idleTimeout := fs.Duration("idle-timeout", 30*time.Minute, "end a session after this long without input")
	readOnly := fs.Bool("read-only", false, "let sessions see sites but not change them, whatever the backend role")
	if status := parseFlags(fs, args, stdout); status >= 0 {
		return status
	}
	if *maxSessions < 1 {
		fmt.Fprintf(stderr, "invalid --max-sessions %d: use 1 or more\n", *maxSessions)
		return 2
	}
	if *idleTimeout <= 0 {
		fmt.Fprintf(stderr, "invalid --idle-timeout %s: use a positive duration such as 30m\n", *idleTimeout)
		return 2
	}

	dataDir, err := resolveDataDir(bf.dataDir)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	bf.dataDir = dataDir
	if *authorizedKeys == "" {
		*authorizedKeys = filepath.Join(dataDir, "authorized_keys")
	}
	if *hostKey == "" {
		*hostKey = filepath.Join(dataDir, "ssh_host_ed25519_key")
	}
	logger := log.NewWithOptions(stderr, log.Options{ReportTimestamp: true})

	// Every session refreshes every few seconds, so the embedded emulator
	// logs only warnings and errors here.
	be, err := bf.open(logger, log.WarnLevel, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	defer be.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := sshd.New(sshd.Options{
		Listen:         *listen,
		AuthorizedKeys: *authorizedKeys,
		HostKey:        *hostKey,
		MaxSessions:    *maxSessions,
		IdleTimeout:    *idleTimeout,
		ReadOnly:       *readOnly,
		UI:             sshUIOptions(be.uiOptions(&bf, logger.WithPrefix("ui"))),
		Logger:         logger.WithPrefix("ssh"),
	})
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.ListenAndServe() }()

	select {
	case err := <-serveErr:
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		return 0
	case <-ctx.Done():
	}
	logger.Info("shutting down: telling open sessions and waiting for them")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Error("shutdown did not finish cleanly", "err", err)
	}
	return 0
}
