package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envMap returns a getenv function reading only m, so tests never see the
// real environment.
func envMap(m map[string]string) func(string) string {
	return func(key string) string { return m[key] }
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigFromEnvironment(t *testing.T) {
	env := envMap(map[string]string{
		EnvWorkspace: "acme",
		EnvUser:      "admin@local",
		EnvAPIKey:    testKey,
		EnvHostname:  "127.0.0.1",
		EnvPort:      "8181",
		EnvRegistry:  "http://127.0.0.1:9999",
	})
	cfg, found, err := LoadConfig(Config{}, env, t.TempDir())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if !found {
		t.Errorf("found = false with credentials in the environment")
	}
	want := Config{Workspace: "acme", User: "admin@local", APIKey: testKey, Hostname: "127.0.0.1", Port: 8181,
		RegistryURL: "http://127.0.0.1:9999"}
	if cfg != want {
		t.Errorf("cfg = %v, want %v", cfg, want)
	}
}

func TestLoadConfigNothingFound(t *testing.T) {
	cfg, found, err := LoadConfig(Config{}, envMap(nil), t.TempDir())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if found {
		t.Errorf("found = true with no credentials anywhere: %v", cfg)
	}
	if cfg != (Config{}) {
		t.Errorf("cfg = %v, want the zero Config", cfg)
	}
}

func TestLoadConfigHostOnlyIsNotFound(t *testing.T) {
	_, found, err := LoadConfig(Config{Hostname: "127.0.0.1"}, envMap(map[string]string{EnvPort: "8181"}), t.TempDir())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if found {
		t.Errorf("found = true with a host but no workspace, user or key")
	}
}

func TestDotEnvParsing(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".env", "\xEF\xBB\xBF# accsyn credentials\n"+
		"\n"+
		"export ACCSYN_WORKSPACE=acme\n"+
		"ACCSYN_API_USER = \"admin@local\"  # the admin\n"+
		"ACCSYN_API_KEY='k#ey \"with\" quotes'\n"+
		"ACCSYN_HOSTNAME=127.0.0.1 # loopback\n"+
		"export   ACCSYN_PORT=\"8181\"\n"+
		"OTHER=\"line\\nbreak \\\"q\\\"\"\n"+
		"EMPTY=\n")
	values, err := parseDotEnv([]byte(mustRead(t, filepath.Join(dir, ".env"))))
	if err != nil {
		t.Fatalf("parseDotEnv: %v", err)
	}
	want := map[string]string{
		"ACCSYN_WORKSPACE": "acme",
		"ACCSYN_API_USER":  "admin@local",
		"ACCSYN_API_KEY":   `k#ey "with" quotes`,
		"ACCSYN_HOSTNAME":  "127.0.0.1",
		"ACCSYN_PORT":      "8181",
		"OTHER":            "line\nbreak \"q\"",
		"EMPTY":            "",
	}
	for k, v := range want {
		if values[k] != v {
			t.Errorf("%s = %q, want %q", k, values[k], v)
		}
	}
	if len(values) != len(want) {
		t.Errorf("got %d keys, want %d: %v", len(values), len(want), values)
	}

	cfg, found, err := LoadConfig(Config{}, envMap(nil), dir)
	if err != nil || !found {
		t.Fatalf("LoadConfig from ./.env: found %v, err %v", found, err)
	}
	if cfg.Workspace != "acme" || cfg.User != "admin@local" || cfg.APIKey != `k#ey "with" quotes` || cfg.Port != 8181 {
		t.Errorf("cfg from .env = %v", cfg)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestDotEnvErrors(t *testing.T) {
	cases := map[string]string{
		"no equals":        "ACCSYN_WORKSPACE acme\n",
		"bad key":          "1KEY=x\n",
		"unclosed double":  "ACCSYN_API_KEY=\"abc\n",
		"unclosed single":  "ACCSYN_API_KEY='abc\n",
		"text after quote": "ACCSYN_API_KEY='abc' def\n",
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseDotEnv([]byte(content))
			if err == nil {
				t.Fatalf("parseDotEnv(%q) succeeded, want an error", content)
			}
			if !strings.Contains(err.Error(), "line 1") {
				t.Errorf("error %q does not name the line", err)
			}
			if strings.Contains(err.Error(), "abc") {
				t.Errorf("error %q quotes the value, which may be a secret", err)
			}
		})
	}
}

func TestLoadConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, ".env", "ACCSYN_WORKSPACE=from-file\nACCSYN_API_USER=file@local\nACCSYN_API_KEY=file-key\nACCSYN_HOSTNAME=127.0.0.3\nACCSYN_PORT=3333\n")
	env := envMap(map[string]string{EnvWorkspace: "from-env", EnvUser: "env@local", EnvPort: "2222"})
	explicit := Config{Workspace: "explicit"}

	cfg, found, err := LoadConfig(explicit, env, dir)
	if err != nil || !found {
		t.Fatalf("LoadConfig: found %v, err %v", found, err)
	}
	checks := []struct{ field, got, want string }{
		{"workspace (explicit beats env and file)", cfg.Workspace, "explicit"},
		{"user (env beats file)", cfg.User, "env@local"},
		{"key (file fills the gap)", cfg.APIKey, "file-key"},
		{"hostname (file fills the gap)", cfg.Hostname, "127.0.0.3"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if cfg.Port != 2222 {
		t.Errorf("port (env beats file) = %d, want 2222", cfg.Port)
	}
	cfg, _, _ = LoadConfig(Config{Port: 1111}, env, dir)
	if cfg.Port != 1111 {
		t.Errorf("port (explicit beats env) = %d, want 1111", cfg.Port)
	}
}

func TestCredentialsPathVariable(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "accsyn.env", "ACCSYN_WORKSPACE=custom\n")
	writeFile(t, dir, ".env", "ACCSYN_WORKSPACE=dir-default\n")
	workdir := t.TempDir()
	writeFile(t, workdir, ".env", "ACCSYN_WORKSPACE=workdir\n")

	cfg, _, err := LoadConfig(Config{}, envMap(map[string]string{EnvCredentialsPath: file}), workdir)
	if err != nil || cfg.Workspace != "custom" {
		t.Errorf("file path: workspace %q, err %v; want custom", cfg.Workspace, err)
	}
	cfg, _, err = LoadConfig(Config{}, envMap(map[string]string{EnvCredentialsPath: dir}), workdir)
	if err != nil || cfg.Workspace != "dir-default" {
		t.Errorf("directory path: workspace %q, err %v; want dir-default", cfg.Workspace, err)
	}
	missing := filepath.Join(dir, "nope.env")
	_, _, err = LoadConfig(Config{}, envMap(map[string]string{EnvCredentialsPath: missing}), workdir)
	if e := asError(t, err); e.Kind != KindConfig || !strings.Contains(e.Error(), missing) || !strings.Contains(e.Error(), EnvCredentialsPath) {
		t.Errorf("missing credentials file: %v, want KindConfig naming the path and %s", err, EnvCredentialsPath)
	}
}

func TestLoadConfigBadPort(t *testing.T) {
	for _, value := range []string{"http", "0", "70000", "-1"} {
		_, _, err := LoadConfig(Config{}, envMap(map[string]string{EnvPort: value}), t.TempDir())
		e := asError(t, err)
		if e.Kind != KindConfig || !strings.Contains(e.Error(), `"`+value+`"`) || !strings.Contains(e.Error(), EnvPort) {
			t.Errorf("port %q: %v, want KindConfig naming the value and %s", value, err, EnvPort)
		}
	}
}

func TestNewNamesMissingValues(t *testing.T) {
	full := Config{Workspace: "acme", User: "admin@local", APIKey: testKey, Hostname: "127.0.0.1"}
	cases := []struct {
		name   string
		edit   func(*Config)
		expect []string
	}{
		{"workspace", func(c *Config) { c.Workspace = " " }, []string{"workspace is missing", "--workspace", EnvWorkspace}},
		{"user", func(c *Config) { c.User = "" }, []string{"user is missing", "--user", EnvUser}},
		{"key", func(c *Config) { c.APIKey = "" }, []string{"key is missing", EnvAPIKey}},
		{"host", func(c *Config) { c.Hostname = "" }, []string{"--hostname", EnvHostname, "--registry", EnvRegistry}},
		{"scheme", func(c *Config) { c.Scheme = "ftp" }, []string{`"ftp"`, "https"}},
		{"port", func(c *Config) { c.Port = 70000 }, []string{"70000", "--port"}},
		{"url as hostname", func(c *Config) { c.Hostname = "https://acme.accsyn.com" }, []string{`"https://acme.accsyn.com"`, "--port"}},
		{"host and port", func(c *Config) { c.Hostname = "acme.example:443" }, []string{`"acme.example:443"`, "--port"}},
		{"registry", func(c *Config) { c.Hostname, c.RegistryURL = "", "master.example" }, []string{`"master.example"`, EnvRegistry}},
		{"negative timeout", func(c *Config) { c.ConnectTimeout = -time.Second }, []string{"negative"}},
		{"key with newline", func(c *Config) { c.APIKey += "\n" }, []string{"line break"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := full
			tc.edit(&cfg)
			c, err := New(cfg)
			if c != nil {
				t.Errorf("New returned a client with an invalid config")
			}
			e := asError(t, err)
			if e.Kind != KindConfig {
				t.Errorf("kind = %v, want config", e.Kind)
			}
			for _, want := range tc.expect {
				if !strings.Contains(e.Error(), want) {
					t.Errorf("error %q does not contain %q", e.Error(), want)
				}
			}
		})
	}
}

func TestNewAppliesDefaults(t *testing.T) {
	base := Config{Workspace: "acme", User: "admin@local", APIKey: testKey, Hostname: "::1"}
	c := mustNew(t, base)
	got := c.Config()
	if got.Scheme != "https" || got.Port != 443 || got.ConnectTimeout != DefaultConnectTimeout || got.ResponseTimeout != DefaultResponseTimeout {
		t.Errorf("defaults = scheme %q port %d timeouts %s/%s", got.Scheme, got.Port, got.ConnectTimeout, got.ResponseTimeout)
	}
	if c.currentEndpoint() != "https://[::1]:443" {
		t.Errorf("endpoint = %q, want https://[::1]:443", c.currentEndpoint())
	}
	base.Scheme, base.Hostname = "HTTP", "[::1]"
	c = mustNew(t, base)
	if c.currentEndpoint() != "http://[::1]:80" {
		t.Errorf("endpoint = %q, want http://[::1]:80", c.currentEndpoint())
	}
}

func TestLoadConfigNilGetenvReadsProcess(t *testing.T) {
	t.Setenv(EnvWorkspace, "from-process")
	t.Setenv(EnvCredentialsPath, "")
	cfg, found, err := LoadConfig(Config{}, nil, t.TempDir())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if !found || cfg.Workspace != "from-process" {
		t.Errorf("nil getenv: workspace %q, found %v; want from-process, true", cfg.Workspace, found)
	}
}

func TestLoadConfigDeveloperMode(t *testing.T) {
	env := envMap(map[string]string{EnvWorkspace: "acme", EnvUser: "admin@local", EnvAPIKey: testKey, EnvDev: "1"})
	cfg, _, err := LoadConfig(Config{}, env, t.TempDir())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Hostname != DevHostname || cfg.Port != DevPort || cfg.Scheme != "http" {
		t.Errorf("developer mode gave %s://%s:%d, want http://127.0.0.1:8181", cfg.Scheme, cfg.Hostname, cfg.Port)
	}
}

func TestDeveloperModeKeepsExplicitHost(t *testing.T) {
	env := envMap(map[string]string{EnvDevLegacy: "true", EnvPort: "9191"})
	cfg, _, err := LoadConfig(Config{Hostname: "::1"}, env, t.TempDir())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Hostname != "::1" || cfg.Port != 9191 || cfg.Scheme != "http" {
		t.Errorf("developer mode gave %s://%s:%d, want http://::1:9191", cfg.Scheme, cfg.Hostname, cfg.Port)
	}
}

func TestDeveloperModeOffByDefault(t *testing.T) {
	env := envMap(map[string]string{EnvDev: "0", EnvWorkspace: "acme"})
	cfg, _, err := LoadConfig(Config{}, env, t.TempDir())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Hostname != "" || cfg.Scheme != "" {
		t.Errorf("ACCSYN_DEV=0 set host %q scheme %q", cfg.Hostname, cfg.Scheme)
	}
}
