// Package emulator is an accsyn-compatible backend for offline use, demos and
// tests. It serves the accsyn API v3 calls for sites (read and write),
// servers and transfers (read), entity types and attributes. It has users,
// roles, sessions, the site rules and the query language, over a SQLite
// store in which every acknowledged change is durable.
//
// Choices where accsyn's behaviour is not documented:
//   - Errors carry an HTTP status with the {"message": ...} envelope: 400 bad
//     input, 401 credentials or session, 403 role, 404 no such site, 405
//     wrong method for the uri, 409 a site rule, 413 payload over 1 MiB.
//   - site/create accepts name, code, description and metadata; status and
//     main are set with site/edit.
//   - Login adopts a session_id proposed in its body, as the official Python
//     API sends one, and otherwise makes a random one. Sessions are stored in
//     SQLite, so they survive a restart, and they do not expire.
//   - creator and modifier are user names, "accsyn" for the backend.
//   - A deleted site is found only with archived: true, also by id. Version
//     3.3 of the Python API documents get_entity as finding deleted entities
//     too; here it returns None for them.
//   - Servers stored as online or disabled report a check-in from the last
//     minute on every find, as if their daemons were running.
package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"charm.land/log/v2"

	"accsyn-sites/model"
)

// Seed names accepted in Options.Seed.
const (
	SeedDemo = "demo"
	SeedNone = "none"
)

// DefaultWorkspace is the workspace code used when Options.Workspace is empty.
const DefaultWorkspace = "acme"

// File names inside Options.DataDir.
const (
	DatabaseFile    = "emulator.db"
	CredentialsFile = "credentials.json"
)

// User roles.
const (
	RoleAdmin    = "admin"
	RoleEmployee = "employee"
	RoleStandard = "standard"
)

// Options configures an emulator.
type Options struct {
	// DataDir is the directory for emulator.db and credentials.json. It is
	// required unless Memory is set, and is created when missing.
	DataDir string
	// Memory selects a throwaway in-memory store with API keys that are
	// random per process.
	Memory bool
	// Seed is "demo" or "none"; it only matters when the store is new. Empty
	// means "demo".
	Seed string
	// Workspace is the workspace code; empty means "acme". A data directory
	// keeps the workspace it was created with.
	Workspace string
	// Logger receives one line per request (method, uri, status, duration)
	// and never an API key. Nil discards the log.
	Logger *log.Logger
}

// User is an emulator user with its role and API key.
type User struct {
	Name   string `json:"name"`
	Role   string `json:"role"`
	APIKey string `json:"api_key"`
}

// Emulator is one emulated accsyn workspace over a SQLite store. Its methods
// are safe for concurrent use.
type Emulator struct {
	workspace string
	dataDir   string
	users     []User
	log       *log.Logger
	db        *sql.DB
	now       func() time.Time

	// writeMu serializes every change: a writer holds it across its SQLite
	// transaction and the update of the cache, so the cache never shows a
	// change that is not committed.
	writeMu sync.Mutex
	// mu guards the cache below; readers take it shared.
	mu        sync.RWMutex
	sites     []*siteRecord
	siteIndex map[model.ID]int
	servers   []model.Server
	transfers []model.Transfer
	sessions  map[string]string // session id to user name
	closed    bool
}

// Open opens the store described by opts, creating and seeding it when it is
// new.
func Open(opts Options) (*Emulator, error) {
	seed := strings.ToLower(strings.TrimSpace(opts.Seed))
	if seed == "" {
		seed = SeedDemo
	}
	if seed != SeedDemo && seed != SeedNone {
		return nil, fmt.Errorf("invalid seed %q: use %q or %q", opts.Seed, SeedDemo, SeedNone)
	}
	workspace := strings.ToLower(strings.TrimSpace(opts.Workspace))
	if workspace != "" {
		if err := model.ValidateCode(workspace); err != nil {
			return nil, fmt.Errorf("invalid workspace %q: %s", opts.Workspace, strings.TrimPrefix(err.Error(), "site "))
		}
	}
	if !opts.Memory && strings.TrimSpace(opts.DataDir) == "" {
		return nil, errors.New("emulator data directory is missing: set Options.DataDir, or Memory for a throwaway store")
	}

	logger := opts.Logger
	if logger == nil {
		logger = log.New(io.Discard)
	}
	e := &Emulator{
		dataDir:   opts.DataDir,
		log:       logger,
		now:       time.Now,
		siteIndex: map[model.ID]int{},
		sessions:  map[string]string{},
	}
	if !opts.Memory {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create emulator data directory: %w", err)
		}
	}

	db, err := openDatabase(opts)
	if err != nil {
		return nil, err
	}
	e.db = db
	if err := e.initialize(workspace, seed, opts); err != nil {
		db.Close()
		return nil, err
	}
	return e, nil
}

func (e *Emulator) initialize(workspace, seed string, opts Options) error {
	if err := createSchema(e.db); err != nil {
		return err
	}
	stored, err := e.metaValue("workspace")
	if err != nil {
		return err
	}
	switch {
	case stored == "":
		if workspace == "" {
			workspace = DefaultWorkspace
		}
		e.workspace = workspace
		if err := e.seed(seed); err != nil {
			return fmt.Errorf("seed the emulator store: %w", err)
		}
	case workspace != "" && workspace != stored:
		return fmt.Errorf("the emulator data in %s belongs to workspace %q, not %q: use workspace %q or another data directory",
			opts.DataDir, stored, workspace, stored)
	default:
		e.workspace = stored
	}
	if opts.Memory {
		e.users = newUsers()
	} else {
		users, err := loadOrCreateCredentials(filepath.Join(opts.DataDir, CredentialsFile))
		if err != nil {
			return err
		}
		e.users = users
	}
	return e.loadCache()
}

// Workspace returns the workspace code the emulator serves.
func (e *Emulator) Workspace() string {
	return e.workspace
}

// Users returns the users that may log in, with their API keys.
func (e *Emulator) Users() []User {
	return append([]User(nil), e.users...)
}

// DataDir returns the data directory, or "" for an in-memory emulator.
func (e *Emulator) DataDir() string {
	return e.dataDir
}

// Close closes the store. Later calls return an error.
func (e *Emulator) Close() error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return errors.New("emulator is already closed")
	}
	e.closed = true
	e.mu.Unlock()
	return e.db.Close()
}

// Banner returns the text the standalone emulator prints at start: the
// workspace, the users with their roles and API keys, and the environment
// lines that point accsyn-sites or the accsyn Python API at baseURL as the
// admin user. Printing keys is the banner's purpose: they are the emulator's
// own local keys, and the request log never shows them.
func (e *Emulator) Banner(baseURL string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "accsyn emulator for workspace %q listening on %s\n", e.workspace, baseURL)
	if e.dataDir != "" {
		fmt.Fprintf(&b, "  data       %s\n", e.dataDir)
	} else {
		b.WriteString("  data       in memory (lost on exit)\n")
	}
	for _, u := range e.users {
		fmt.Fprintf(&b, "  user       %-16s %-9s key %s\n", u.Name, u.Role, u.APIKey)
	}

	admin := e.userByRole(RoleAdmin)
	b.WriteString("\nTo use it as the admin user (accsyn-sites, or the accsyn Python API in developer mode):\n")
	fmt.Fprintf(&b, "  export ACCSYN_WORKSPACE=%s ACCSYN_DOMAIN=%s\n", e.workspace, e.workspace)
	fmt.Fprintf(&b, "  export ACCSYN_API_USER=%s\n", admin.Name)
	fmt.Fprintf(&b, "  export ACCSYN_API_KEY=%s\n", admin.APIKey)
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		fmt.Fprintf(&b, "  export ACCSYN_HOSTNAME=%s ACCSYN_PORT=%s AS_DEV=1 ACCSYN_DEV=1\n", u.Hostname(), u.Port())
	}
	b.WriteString("\nPress Ctrl+C to stop.\n")
	return b.String()
}

func (e *Emulator) userByRole(role string) User {
	for _, u := range e.users {
		if u.Role == role {
			return u
		}
	}
	return User{}
}

// userID returns the stable 24-hex id of a user, derived from its name.
func userID(name string) string {
	sum := sha256.Sum256([]byte("accsyn-emulator-user:" + name))
	return hex.EncodeToString(sum[:12])
}

// newID returns a random 24-hex id like accsyn's object ids.
func newID() model.ID {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return model.ID(hex.EncodeToString(b[:]))
}

// newSecret returns 32 random bytes as hex, for API keys and session ids.
func newSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b[:])
}

func newUsers() []User {
	return []User{
		{Name: "admin@local", Role: RoleAdmin, APIKey: newSecret()},
		{Name: "employee@local", Role: RoleEmployee, APIKey: newSecret()},
		{Name: "standard@local", Role: RoleStandard, APIKey: newSecret()},
	}
}

type credentialsFile struct {
	Users []User `json:"users"`
}

// loadOrCreateCredentials reads the users and keys from path, or creates
// the file (mode 0600) with new random keys when it does not exist.
func loadOrCreateCredentials(path string) ([]User, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		users := newUsers()
		data, err := json.MarshalIndent(credentialsFile{Users: users}, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, append(data, '\n'), 0o600); err != nil {
			return nil, fmt.Errorf("write emulator credentials: %w", err)
		}
		return users, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read emulator credentials: %w", err)
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		// The file holds API keys: take back access that others were given.
		if err := os.Chmod(path, 0o600); err != nil {
			return nil, fmt.Errorf("restrict emulator credentials %s to mode 0600: %w", path, err)
		}
	}
	var file credentialsFile
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("read emulator credentials %s: invalid JSON (%v): delete the file to create new keys", path, err)
	}
	roles := map[string]bool{}
	for _, u := range file.Users {
		if u.Name == "" || u.APIKey == "" {
			return nil, fmt.Errorf("emulator credentials %s list a user without name or api_key: delete the file to create new keys", path)
		}
		if u.Role != RoleAdmin && u.Role != RoleEmployee && u.Role != RoleStandard {
			return nil, fmt.Errorf("emulator credentials %s give user %s the invalid role %q: use admin, employee or standard", path, u.Name, u.Role)
		}
		roles[u.Role] = true
	}
	if !roles[RoleAdmin] {
		return nil, fmt.Errorf("emulator credentials %s have no admin user: delete the file to create new keys", path)
	}
	sort.SliceStable(file.Users, func(i, j int) bool { return roleRank(file.Users[i].Role) < roleRank(file.Users[j].Role) })
	return file.Users, nil
}

func roleRank(role string) int {
	switch role {
	case RoleAdmin:
		return 0
	case RoleEmployee:
		return 1
	}
	return 2
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path, so a crash leaves either the old or the new file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
