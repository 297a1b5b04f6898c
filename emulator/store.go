package emulator

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"accsyn-sites/model"
)

// storeTimeLayout is the format of times in SQLite: UTC with milliseconds,
// so text order is time order.
const storeTimeLayout = "2006-01-02T15:04:05.000"

// openDatabase opens the SQLite store with one connection. One connection
// serializes every statement, which an in-memory database needs anyway
// (each connection would get its own database), and reads are served from
// the cache so they do not wait on it.
func openDatabase(opts Options) (*sql.DB, error) {
	params := url.Values{}
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "foreign_keys(1)")
	params.Set("_txlock", "immediate")
	var dsn string
	if opts.Memory {
		dsn = "file::memory:?" + params.Encode()
	} else {
		params.Add("_pragma", "journal_mode(WAL)")
		params.Add("_pragma", "synchronous(FULL)")
		dsn = "file:" + filepath.Join(opts.DataDir, DatabaseFile) + "?" + params.Encode()
	}

	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open emulator store: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open emulator store in %s: %w", opts.DataDir, err)
	}

	if !opts.Memory {
		var mode string
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			db.Close()
			return nil, fmt.Errorf("read emulator store journal mode: %w", err)
		}
		if mode != "wal" {
			db.Close()
			return nil, fmt.Errorf("emulator store journal mode is %q, expected wal: the file system of %s may not support WAL", mode, opts.DataDir)
		}
	}
	return db, nil
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sites (
	id          TEXT PRIMARY KEY,
	name        TEXT NOT NULL,
	code        TEXT NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	status      TEXT NOT NULL,
	main        INTEGER NOT NULL DEFAULT 0,
	accsyn      INTEGER NOT NULL DEFAULT 0,
	metadata    TEXT NOT NULL DEFAULT '{}',
	created     TEXT NOT NULL,
	creator     TEXT NOT NULL,
	modified    TEXT NOT NULL,
	modifier    TEXT NOT NULL,
	archived    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS sites_live_code ON sites (lower(code)) WHERE archived = 0;
CREATE UNIQUE INDEX IF NOT EXISTS sites_one_main ON sites (main) WHERE main = 1 AND archived = 0;
CREATE TABLE IF NOT EXISTS servers (
	id           TEXT PRIMARY KEY,
	code         TEXT NOT NULL,
	description  TEXT NOT NULL DEFAULT '',
	site         TEXT NOT NULL,
	status       TEXT NOT NULL,
	last_checkin TEXT NOT NULL DEFAULT '',
	roles        TEXT NOT NULL DEFAULT '',
	os           TEXT NOT NULL DEFAULT '',
	version      TEXT NOT NULL DEFAULT '',
	wan_ip       TEXT NOT NULL DEFAULT '',
	created      TEXT NOT NULL,
	modified     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transfers (
	id             TEXT PRIMARY KEY,
	name           TEXT NOT NULL,
	code           TEXT NOT NULL,
	source         TEXT NOT NULL,
	source_hr      TEXT NOT NULL DEFAULT '',
	destination    TEXT NOT NULL,
	destination_hr TEXT NOT NULL DEFAULT '',
	status         TEXT NOT NULL,
	progress       REAL NOT NULL DEFAULT 0,
	size           INTEGER NOT NULL DEFAULT 0,
	speed          REAL NOT NULL DEFAULT 0,
	created        TEXT NOT NULL,
	finished       TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sessions (
	id      TEXT PRIMARY KEY,
	user    TEXT NOT NULL,
	created TEXT NOT NULL
);
`

func createSchema(db *sql.DB) error {
	if _, err := db.Exec(schema); err != nil {
		return fmt.Errorf("create emulator store schema: %w", err)
	}
	return nil
}

func (e *Emulator) metaValue(key string) (string, error) {
	var value string
	err := e.db.QueryRow("SELECT value FROM meta WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read emulator store: %w", err)
	}
	return value, nil
}

func formatStoreTime(t model.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(storeTimeLayout)
}

func parseStoreTime(s string) (model.Time, error) {
	if s == "" {
		return model.Time{}, nil
	}
	t, err := time.ParseInLocation(storeTimeLayout, s, time.UTC)
	if err != nil {
		return model.Time{}, fmt.Errorf("invalid stored time %q: %w", s, err)
	}
	return model.NewTime(t), nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// inTx runs fn in one immediate transaction while holding the write lock,
// then, only after a successful commit, runs apply to update the cache.
func (e *Emulator) inTx(fn func(tx *sql.Tx) error, apply func()) error {
	e.writeMu.Lock()
	defer e.writeMu.Unlock()
	e.mu.RLock()
	closed := e.closed
	e.mu.RUnlock()
	if closed {
		return errors.New("emulator is closed")
	}
	tx, err := e.db.Begin()
	if err != nil {
		return fmt.Errorf("begin emulator store transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit emulator store transaction: %w", err)
	}
	if apply != nil {
		e.mu.Lock()
		apply()
		e.mu.Unlock()
	}
	return nil
}

func insertSite(tx *sql.Tx, s model.Site) error {
	metadata, err := json.Marshal(nonNilMetadata(s.Metadata))
	if err != nil {
		return fmt.Errorf("encode metadata of site %s: %w", s.Code, err)
	}
	_, err = tx.Exec(`INSERT INTO sites (id, name, code, description, status, main, accsyn, metadata, created, creator, modified, modifier, archived)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
		string(s.ID), s.Name, s.Code, s.Description, s.Status, boolInt(s.Main), boolInt(s.Accsyn), string(metadata),
		formatStoreTime(s.Created), string(s.Creator), formatStoreTime(s.Modified), string(s.Modifier))
	if err != nil {
		return fmt.Errorf("insert site %s: %w", s.Code, err)
	}
	return nil
}

func updateSite(tx *sql.Tx, s model.Site, archived bool) error {
	metadata, err := json.Marshal(nonNilMetadata(s.Metadata))
	if err != nil {
		return fmt.Errorf("encode metadata of site %s: %w", s.Code, err)
	}
	_, err = tx.Exec(`UPDATE sites SET name = ?, code = ?, description = ?, status = ?, main = ?, accsyn = ?, metadata = ?,
		modified = ?, modifier = ?, archived = ? WHERE id = ?`,
		s.Name, s.Code, s.Description, s.Status, boolInt(s.Main), boolInt(s.Accsyn), string(metadata),
		formatStoreTime(s.Modified), string(s.Modifier), boolInt(archived), string(s.ID))
	if err != nil {
		return fmt.Errorf("update site %s: %w", s.Code, err)
	}
	return nil
}

func nonNilMetadata(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func insertServer(tx *sql.Tx, s model.Server) error {
	_, err := tx.Exec(`INSERT INTO servers (id, code, description, site, status, last_checkin, roles, os, version, wan_ip, created, modified)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(s.ID), s.Code, s.Description, string(s.Site), s.Status, formatStoreTime(s.LastCheckin), s.Roles, s.OS,
		s.Version, s.WANIP, formatStoreTime(s.Created), formatStoreTime(s.Modified))
	if err != nil {
		return fmt.Errorf("insert server %s: %w", s.Code, err)
	}
	return nil
}

func insertTransfer(tx *sql.Tx, t model.Transfer) error {
	_, err := tx.Exec(`INSERT INTO transfers (id, name, code, source, source_hr, destination, destination_hr, status, progress, size, speed, created, finished)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(t.ID), t.Name, t.Code, t.Source, t.SourceHR, t.Destination, t.DestinationHR, t.Status, t.Progress,
		t.Size, t.Speed, formatStoreTime(t.Created), formatStoreTime(t.Finished))
	if err != nil {
		return fmt.Errorf("insert transfer %s: %w", t.Name, err)
	}
	return nil
}

// loadCache reads every site, server, transfer and session into memory.
func (e *Emulator) loadCache() error {
	sites, err := e.loadSites()
	if err != nil {
		return err
	}
	servers, err := e.loadServers()
	if err != nil {
		return err
	}
	transfers, err := e.loadTransfers()
	if err != nil {
		return err
	}
	sessions, err := e.loadSessions()
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sites = nil
	e.siteIndex = map[model.ID]int{}
	for _, rec := range sites {
		e.siteIndex[rec.site.ID] = len(e.sites)
		e.sites = append(e.sites, rec)
	}
	e.servers = servers
	e.transfers = transfers
	e.sessions = sessions
	return nil
}

func (e *Emulator) loadSites() ([]*siteRecord, error) {
	rows, err := e.db.Query(`SELECT id, name, code, description, status, main, accsyn, metadata, created, creator, modified, modifier, archived
		FROM sites ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("read sites from the emulator store: %w", err)
	}
	defer rows.Close()
	var out []*siteRecord
	for rows.Next() {
		var (
			s                           model.Site
			id, creator, modifier       string
			metadata, created, modified string
			main, accsyn, archived      int
		)
		if err := rows.Scan(&id, &s.Name, &s.Code, &s.Description, &s.Status, &main, &accsyn, &metadata,
			&created, &creator, &modified, &modifier, &archived); err != nil {
			return nil, fmt.Errorf("read site from the emulator store: %w", err)
		}
		s.ID, s.Creator, s.Modifier = model.ID(id), model.ID(creator), model.ID(modifier)
		s.Main, s.Accsyn = main != 0, accsyn != 0
		if err := json.Unmarshal([]byte(metadata), &s.Metadata); err != nil {
			return nil, fmt.Errorf("read metadata of site %s: %w", s.Code, err)
		}
		if s.Created, err = parseStoreTime(created); err != nil {
			return nil, err
		}
		if s.Modified, err = parseStoreTime(modified); err != nil {
			return nil, err
		}
		out = append(out, newSiteRecord(s, archived != 0))
	}
	return out, rows.Err()
}

func (e *Emulator) loadServers() ([]model.Server, error) {
	rows, err := e.db.Query(`SELECT id, code, description, site, status, last_checkin, roles, os, version, wan_ip, created, modified
		FROM servers ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("read servers from the emulator store: %w", err)
	}
	defer rows.Close()
	var out []model.Server
	for rows.Next() {
		var (
			s                                 model.Server
			id, site, checkin, created, modif string
		)
		if err := rows.Scan(&id, &s.Code, &s.Description, &site, &s.Status, &checkin, &s.Roles, &s.OS, &s.Version,
			&s.WANIP, &created, &modif); err != nil {
			return nil, fmt.Errorf("read server from the emulator store: %w", err)
		}
		s.ID, s.Site = model.ID(id), model.ID(site)
		if s.LastCheckin, err = parseStoreTime(checkin); err != nil {
			return nil, err
		}
		if s.Created, err = parseStoreTime(created); err != nil {
			return nil, err
		}
		if s.Modified, err = parseStoreTime(modif); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (e *Emulator) loadTransfers() ([]model.Transfer, error) {
	rows, err := e.db.Query(`SELECT id, name, code, source, source_hr, destination, destination_hr, status, progress, size, speed, created, finished
		FROM transfers ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("read transfers from the emulator store: %w", err)
	}
	defer rows.Close()
	var out []model.Transfer
	for rows.Next() {
		var (
			t                     model.Transfer
			id, created, finished string
		)
		if err := rows.Scan(&id, &t.Name, &t.Code, &t.Source, &t.SourceHR, &t.Destination, &t.DestinationHR, &t.Status,
			&t.Progress, &t.Size, &t.Speed, &created, &finished); err != nil {
			return nil, fmt.Errorf("read transfer from the emulator store: %w", err)
		}
		t.ID = model.ID(id)
		if t.Created, err = parseStoreTime(created); err != nil {
			return nil, err
		}
		if t.Finished, err = parseStoreTime(finished); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (e *Emulator) loadSessions() (map[string]string, error) {
	rows, err := e.db.Query(`SELECT id, user FROM sessions`)
	if err != nil {
		return nil, fmt.Errorf("read sessions from the emulator store: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, user string
		if err := rows.Scan(&id, &user); err != nil {
			return nil, fmt.Errorf("read session from the emulator store: %w", err)
		}
		out[id] = user
	}
	return out, rows.Err()
}
