package client

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Version names this program in the default X-Accsyn-Device header. The
// main package or the linker (-ldflags "-X accsyn-sites/client.Version=...")
// may set it.
var Version = "dev"

// Default timeouts used when Config leaves them zero.
const (
	DefaultConnectTimeout  = 10 * time.Second
	DefaultResponseTimeout = 2 * time.Minute
)

// Environment variables read by LoadConfig. The first three are the ones the
// official accsyn Python API reads.
const (
	EnvWorkspace       = "ACCSYN_WORKSPACE"
	EnvUser            = "ACCSYN_API_USER"
	EnvAPIKey          = "ACCSYN_API_KEY"
	EnvHostname        = "ACCSYN_HOSTNAME"
	EnvPort            = "ACCSYN_PORT"
	EnvRegistry        = "ACCSYN_REGISTRY"
	EnvCredentialsPath = "ACCSYN_CREDENTIALS_PATH"
	// EnvDev and EnvDevLegacy turn on developer mode as the official Python
	// API reads it (AS_DEV since its version 3.1.0, ACCSYN_DEV before): "1"
	// or "true" means plain HTTP to 127.0.0.1:8181 unless a host name, port
	// or scheme is given.
	EnvDev       = "AS_DEV"
	EnvDevLegacy = "ACCSYN_DEV"
)

// Config is the address and credentials a Client uses for one accsyn
// workspace. Its fmt, String, GoString and slog forms redact APIKey.
//
// NOTE: fmt cannot call these methods on a Config held in an unexported
// field of another struct, so printing that struct with %v shows the key.
type Config struct {
	Workspace string
	User      string // API user (e-mail)
	APIKey    string // never logged or printed
	// Hostname is the workspace host. When it is empty, RegistryURL is asked
	// for the host and port of the workspace.
	Hostname string
	Port     int    // 0 means 443 for https, 80 for http
	Scheme   string // "https" (the default) or "http" (the emulator)
	// RegistryURL is the base URL of the accsyn registry, for example
	// "https://master.accsyn.com:443". It has no default, so that nothing is
	// contacted that the user did not name.
	RegistryURL     string
	Insecure        bool          // skip TLS certificate verification
	ConnectTimeout  time.Duration // 0 means DefaultConnectTimeout
	ResponseTimeout time.Duration // 0 means DefaultResponseTimeout
	// Device is sent as X-Accsyn-Device. It defaults to
	// "accsyn-sites <Version> @ <GOOS> <hostname>".
	Device string
}

const redacted = "[redacted]"

// redactedCopy is Config with the key replaced, for printing.
type redactedCopy Config

func (c Config) redacted() redactedCopy {
	r := redactedCopy(c)
	if r.APIKey != "" {
		r.APIKey = redacted
	}
	return r
}

// String formats the configuration with the API key redacted.
func (c Config) String() string {
	return fmt.Sprintf("%+v", c.redacted())
}

// GoString formats the configuration as Go syntax with the API key redacted.
func (c Config) GoString() string {
	return "client.Config" + strings.TrimPrefix(fmt.Sprintf("%#v", c.redacted()), "client.redactedCopy")
}

// Format implements fmt.Formatter so that every verb, including %d and %x
// that would otherwise print the raw fields, shows the redacted form.
func (c Config) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, c.GoString())
		return
	}
	fmt.Fprint(f, c.String())
}

// LogValue implements slog.LogValuer with the API key redacted.
func (c Config) LogValue() slog.Value {
	key := ""
	if c.APIKey != "" {
		key = redacted
	}
	return slog.GroupValue(
		slog.String("workspace", c.Workspace),
		slog.String("user", c.User),
		slog.String("api_key", key),
		slog.String("hostname", c.Hostname),
		slog.Int("port", c.Port),
		slog.String("scheme", c.Scheme),
		slog.String("registry", c.RegistryURL),
		slog.Bool("insecure", c.Insecure),
		slog.Duration("connect_timeout", c.ConnectTimeout),
		slog.Duration("response_timeout", c.ResponseTimeout),
		slog.String("device", c.Device),
	)
}

// LoadConfig fills the empty fields of explicit from the environment
// (ACCSYN_WORKSPACE, ACCSYN_API_USER, ACCSYN_API_KEY, ACCSYN_HOSTNAME,
// ACCSYN_PORT, ACCSYN_REGISTRY, AS_DEV or ACCSYN_DEV) and then from a .env
// file. The file is
// $ACCSYN_CREDENTIALS_PATH (a file, or a directory holding .env) or, when
// that is unset, workdir/.env; a missing workdir/.env is not an error. The
// file has KEY=VALUE lines, '#' comments, optional single or double quotes
// and an optional "export " prefix. Precedence: explicit, then environment,
// then file. getenv is usually os.Getenv.
//
// found reports whether any credential (workspace, user or API key) was
// found, so that a caller can fall back to a local emulator when none is
// set. LoadConfig does not check that the result is complete; New does.
func LoadConfig(explicit Config, getenv func(string) string, workdir string) (cfg Config, found bool, err error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg = explicit

	file, err := loadDotEnv(getenv(EnvCredentialsPath), workdir)
	if err != nil {
		return cfg, false, err
	}
	lookup := func(key string) (value, source string) {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v, "environment variable " + key
		}
		if v := strings.TrimSpace(file.values[key]); v != "" {
			return v, key + " in " + file.path
		}
		return "", ""
	}

	fill := func(field *string, key string) {
		if *field == "" {
			*field, _ = lookup(key)
		}
	}
	fill(&cfg.Workspace, EnvWorkspace)
	fill(&cfg.User, EnvUser)
	fill(&cfg.APIKey, EnvAPIKey)
	fill(&cfg.Hostname, EnvHostname)
	fill(&cfg.RegistryURL, EnvRegistry)
	if cfg.Port == 0 {
		if v, source := lookup(EnvPort); v != "" {
			port, perr := strconv.Atoi(v)
			if perr != nil || port < 1 || port > 65535 {
				return cfg, false, configError(fmt.Sprintf("invalid port %q from %s: use a number from 1 to 65535", v, source))
			}
			cfg.Port = port
		}
	}

	for _, key := range []string{EnvDev, EnvDevLegacy} {
		if dev, _ := lookup(key); dev == "1" || strings.EqualFold(dev, "true") {
			applyDeveloperMode(&cfg)
		}
	}

	found = cfg.Workspace != "" || cfg.User != "" || cfg.APIKey != ""
	return cfg, found, nil
}

// DevHostname and DevPort are where developer mode sends calls: the address
// the official Python API uses in that mode and the emulator's default.
const (
	DevHostname = "127.0.0.1"
	DevPort     = 8181
)

// applyDeveloperMode fills the empty host, port and scheme with the developer
// mode's plain HTTP on 127.0.0.1:8181.
func applyDeveloperMode(cfg *Config) {
	if cfg.Hostname == "" {
		cfg.Hostname = DevHostname
	}
	if cfg.Port == 0 {
		cfg.Port = DevPort
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "http"
	}
}

// dotEnv is a parsed .env file. Its path is empty when no file was read.
type dotEnv struct {
	path   string
	values map[string]string
}

func loadDotEnv(credentialsPath, workdir string) (dotEnv, error) {
	path := filepath.Join(workdir, ".env")
	required := false
	if credentialsPath != "" {
		path = credentialsPath
		required = true
		if info, err := os.Stat(path); err == nil && info.IsDir() {
			path = filepath.Join(path, ".env")
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !required {
			return dotEnv{values: map[string]string{}}, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return dotEnv{}, configError(fmt.Sprintf("credentials file %s (from %s) does not exist: fix or unset %s",
				path, EnvCredentialsPath, EnvCredentialsPath))
		}
		return dotEnv{}, configError(fmt.Sprintf("failed to read credentials file %s: %v", path, err))
	}
	values, err := parseDotEnv(data)
	if err != nil {
		return dotEnv{}, configError(fmt.Sprintf("credentials file %s: %v", path, err))
	}
	return dotEnv{path: path, values: values}, nil
}

// parseDotEnv reads KEY=VALUE lines. A value may be quoted with ' (taken
// literally) or " (with \n, \t, \\ and \" escapes). An unquoted value ends at
// " #", so a trailing comment is dropped.
func parseDotEnv(data []byte) (map[string]string, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")) // a UTF-8 byte order mark
	values := map[string]string{}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	scanner.Buffer(make([]byte, 0, 4096), 1<<20)
	n := 0
	for scanner.Scan() {
		n++
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			line = strings.TrimSpace(rest)
		}
		key, raw, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d has no '=': write KEY=VALUE", n)
		}
		key = strings.TrimSpace(key)
		if !validEnvKey(key) {
			return nil, fmt.Errorf("line %d: invalid key %q: use letters, digits and '_'", n, key)
		}
		value, err := parseDotEnvValue(strings.TrimSpace(raw))
		if err != nil {
			// The value may be a secret, so the error names only the key.
			return nil, fmt.Errorf("line %d: value of %s: %v", n, key, err)
		}
		values[key] = value
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	return values, nil
}

func validEnvKey(key string) bool {
	if key == "" {
		return false
	}
	for i, r := range key {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func parseDotEnvValue(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	switch quote := raw[0]; quote {
	case '\'':
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", errors.New("missing closing ' quote")
		}
		if err := onlyComment(raw[end+2:]); err != nil {
			return "", err
		}
		return raw[1 : end+1], nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			c := raw[i]
			switch {
			case c == '\\' && i+1 < len(raw):
				i++
				switch raw[i] {
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(raw[i])
				}
			case c == '"':
				if err := onlyComment(raw[i+1:]); err != nil {
					return "", err
				}
				return b.String(), nil
			default:
				b.WriteByte(c)
			}
		}
		return "", errors.New("missing closing \" quote")
	}
	if i := strings.Index(raw, " #"); i >= 0 {
		raw = raw[:i]
	}
	if i := strings.Index(raw, "\t#"); i >= 0 {
		raw = raw[:i]
	}
	return strings.TrimSpace(raw), nil
}

// onlyComment checks that nothing but white space or a comment follows a
// closing quote.
func onlyComment(rest string) error {
	rest = strings.TrimSpace(rest)
	if rest == "" || strings.HasPrefix(rest, "#") {
		return nil
	}
	return errors.New("unexpected text after the closing quote: quote the whole value")
}

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	registry *url.URL // nil when Hostname is set
}

// validate checks cfg and applies defaults. Every error names the missing
// or invalid value and the flag or variable that sets it.
func validate(cfg Config) (settings, error) {
	cfg.Workspace = strings.TrimSpace(cfg.Workspace)
	cfg.User = strings.TrimSpace(cfg.User)
	cfg.Hostname = strings.TrimSpace(cfg.Hostname)
	cfg.RegistryURL = strings.TrimSpace(cfg.RegistryURL)
	cfg.Scheme = strings.ToLower(strings.TrimSpace(cfg.Scheme))

	switch {
	case cfg.Workspace == "":
		return settings{}, configError("workspace is missing: set --workspace or " + EnvWorkspace)
	case cfg.User == "":
		return settings{}, configError("API user is missing: set --user or " + EnvUser)
	case cfg.APIKey == "":
		return settings{}, configError("API key is missing: set " + EnvAPIKey + " or put it in a .env file")
	case cfg.Hostname == "" && cfg.RegistryURL == "":
		return settings{}, configError("workspace host is unknown: set --hostname or " + EnvHostname +
			", or --registry or " + EnvRegistry + " to look it up")
	}
	if strings.ContainsAny(cfg.APIKey, "\r\n") {
		return settings{}, configError("API key contains a line break: copy the key again without it")
	}
	if strings.ContainsAny(cfg.Workspace+cfg.User+cfg.Device, "\r\n") {
		return settings{}, configError("workspace, user and device must be single lines of text")
	}

	switch cfg.Scheme {
	case "":
		cfg.Scheme = "https"
	case "http", "https":
	default:
		return settings{}, configError(fmt.Sprintf("invalid scheme %q: use https, or http for the emulator", cfg.Scheme))
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return settings{}, configError(fmt.Sprintf("invalid port %d: use --port or %s with a number from 1 to 65535",
			cfg.Port, EnvPort))
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort(cfg.Scheme)
	}
	if cfg.ConnectTimeout < 0 || cfg.ResponseTimeout < 0 {
		return settings{}, configError("timeouts must not be negative: use 0 for the default")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ResponseTimeout == 0 {
		cfg.ResponseTimeout = DefaultResponseTimeout
	}
	if cfg.Device == "" {
		host, _ := os.Hostname()
		cfg.Device = fmt.Sprintf("accsyn-sites %s @ %s %s", Version, runtime.GOOS, host)
	}

	s := settings{Config: cfg}
	if cfg.Hostname != "" {
		host, err := cleanHostname(cfg.Hostname)
		if err != nil {
			return settings{}, err
		}
		s.Hostname = host
		return s, nil
	}
	u, err := url.Parse(cfg.RegistryURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return settings{}, configError(fmt.Sprintf("invalid registry URL %q: use --registry or %s with a URL such as https://host:443",
			cfg.RegistryURL, EnvRegistry))
	}
	s.registry = u
	return s, nil
}

// cleanHostname accepts a host name or an IP address (IPv6 with or without
// brackets) and rejects URLs and host:port forms with a hint.
func cleanHostname(h string) (string, error) {
	if strings.Contains(h, "://") {
		return "", configError(fmt.Sprintf("invalid hostname %q: give only the host name, and the port with --port", h))
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if ip := net.ParseIP(h); ip != nil {
		return h, nil
	}
	if strings.ContainsAny(h, ":/?#@ []") {
		return "", configError(fmt.Sprintf("invalid hostname %q: give only the host name, and the port with --port or %s",
			h, EnvPort))
	}
	return h, nil
}

func defaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

func configError(msg string) *Error {
	return &Error{Kind: KindConfig, Op: "config", Message: msg}
}
