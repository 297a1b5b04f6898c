package sshd

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// authorizedKey is one usable line of an authorized_keys file.
type authorizedKey struct {
	key     gossh.PublicKey
	line    int
	comment string

	// from holds the patterns of a from="..." option. They are matched
	// against the client's IP address only, because the server does no
	// reverse DNS look-ups (as OpenSSH with UseDNS no).
	from []string
	// expires is the expiry-time option; zero means no expiry.
	expires time.Time
	// noPTY is the no-pty option: the key may log in but gets no
	// terminal, so it cannot use the TUI.
	noPTY bool
	// noTouchRequired lets a FIDO key sign without a touch.
	noTouchRequired bool
}

// keyProblem is a line of an authorized_keys file that was skipped.
type keyProblem struct {
	line int
	err  error
}

func (p keyProblem) String() string {
	return fmt.Sprintf("line %d: %v", p.line, p.err)
}

// parseAuthorizedKeys reads an OpenSSH authorized_keys file. Blank lines and
// comments are skipped. A line that does not parse, or whose options this
// server cannot enforce, is skipped and returned as a problem, so one bad
// line does not lock everybody out.
func parseAuthorizedKeys(data []byte) ([]authorizedKey, []keyProblem) {
	var keys []authorizedKey
	var problems []keyProblem
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := bytes.TrimSpace(raw)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		key, comment, options, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			problems = append(problems, keyProblem{n, fmt.Errorf("not a public key (%v)", err)})
			continue
		}
		entry := authorizedKey{key: key, line: n, comment: comment}
		if err := entry.applyOptions(options); err != nil {
			problems = append(problems, keyProblem{n, err})
			continue
		}
		keys = append(keys, entry)
	}
	return keys, problems
}

// applyOptions records the options that matter to this server. Options that
// restrict forwarding, commands or environment are already satisfied
// because the server offers none of those. Options that would need a check
// the server does not make cause the key to be skipped, so a restriction is
// never silently dropped.
func (k *authorizedKey) applyOptions(options []string) error {
	for _, option := range options {
		name, value, hasValue := strings.Cut(option, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		value = unquoteOption(value)
		switch name {
		case "restrict", "no-agent-forwarding", "no-port-forwarding", "no-x11-forwarding", "no-user-rc",
			"agent-forwarding", "port-forwarding", "x11-forwarding", "user-rc", "pty",
			"permitopen", "permitlisten", "environment":
			// Nothing to do: the server forwards nothing and runs no
			// shell, so these grant or deny nothing here.
		case "no-pty":
			k.noPTY = true
		case "no-touch-required":
			k.noTouchRequired = true
		case "from":
			if !hasValue || value == "" {
				return errors.New(`from= has no patterns: write from="127.0.0.1,10.0.0.0/8"`)
			}
			patterns := strings.Split(value, ",")
			for i, p := range patterns {
				p = strings.TrimSpace(p)
				patterns[i] = p
				if cidr, ok := strings.CutPrefix(p, "!"); ok {
					p = cidr
				}
				if strings.Contains(p, "/") {
					if _, _, err := net.ParseCIDR(p); err != nil {
						return fmt.Errorf("from= pattern %q is not a valid address/prefix: write it like 10.0.0.0/8", p)
					}
				}
			}
			k.from = patterns
		case "expiry-time":
			t, err := parseExpiryTime(value)
			if err != nil {
				return err
			}
			k.expires = t
		default:
			// command=, cert-authority, principals=, tunnel=,
			// verify-required and anything unknown.
			return fmt.Errorf("option %q is not supported by accsyn-sites, so the key is not used: remove the option or use another key line", name)
		}
	}
	return nil
}

func unquoteOption(value string) string {
	value = strings.TrimSpace(value)
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return strings.ReplaceAll(value, `\"`, `"`)
}

// parseExpiryTime reads the OpenSSH expiry-time format YYYYMMDD[HHMM[SS]],
// in local time unless it ends in Z for UTC.
func parseExpiryTime(value string) (time.Time, error) {
	loc := time.Local
	if v, ok := strings.CutSuffix(value, "Z"); ok {
		value, loc = v, time.UTC
	}
	for _, layout := range []string{"20060102", "200601021504", "20060102150405"} {
		if len(value) == len(layout) {
			if t, err := time.ParseInLocation(layout, value, loc); err == nil {
				return t, nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("expiry-time %q is not YYYYMMDD[HHMM[SS]][Z]: write it like expiry-time=\"20271231\"", value)
}

// allows reports whether the key may log in from ip at now, and if not,
// why.
func (k *authorizedKey) allows(ip net.IP, now time.Time) (bool, string) {
	if !k.expires.IsZero() && !now.Before(k.expires) {
		return false, "key expired at " + k.expires.Format(time.RFC3339)
	}
	if k.from != nil && !matchFrom(k.from, ip) {
		return false, "client address does not match from=\"" + strings.Join(k.from, ",") + "\""
	}
	return true, ""
}

// matchFrom applies an OpenSSH pattern list to an IP address: a negated
// pattern that matches denies, otherwise any matching pattern allows.
// Patterns are shell globs with * and ?, or address/prefix networks.
func matchFrom(patterns []string, ip net.IP) bool {
	if ip == nil {
		return false
	}
	if v4 := ip.To4(); v4 != nil {
		ip = v4
	}
	addr := ip.String()
	allowed := false
	for _, p := range patterns {
		negated := strings.HasPrefix(p, "!")
		p = strings.TrimPrefix(p, "!")
		var match bool
		if strings.Contains(p, "/") {
			_, network, err := net.ParseCIDR(p)
			match = err == nil && network.Contains(ip)
		} else {
			match = matchGlob(strings.ToLower(p), strings.ToLower(addr))
		}
		if match && negated {
			return false
		}
		if match {
			allowed = true
		}
	}
	return allowed
}

// matchGlob matches s against a pattern where * is any run of characters
// and ? is one character; there are no other special characters.
func matchGlob(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if matchGlob(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != pattern[0] {
				return false
			}
		}
		pattern, s = pattern[1:], s[1:]
	}
	return len(s) == 0
}

// keyFile is an authorized_keys file that is read on every login attempt
// and parsed again whenever its content changes, so keys can be added or
// removed without a restart. Comparing content rather than the modification
// time also catches a same-size edit within the file system's time
// resolution.
type keyFile struct {
	path string

	mu   sync.Mutex
	keys []authorizedKey
	sum  [sha256.Size]byte
	// readErr is the reason the last read failed, logged once per change.
	readErr error
}

// loadKeyFile reads the file for the first time. It fails when the file is
// missing or holds no usable key, with the command that makes one.
func loadKeyFile(path string) (*keyFile, []keyProblem, error) {
	if path == "" {
		return nil, nil, errors.New("authorized_keys path is empty: set Options.AuthorizedKeys to an OpenSSH authorized_keys file")
	}
	f := &keyFile{path: path}
	problems, err := f.read()
	if err != nil {
		return nil, problems, err
	}
	return f, problems, nil
}

// howToAddKey is the fix named in every error about a missing or empty
// authorized_keys file.
func howToAddKey(path string) string {
	return fmt.Sprintf("add a public key with: cat ~/.ssh/id_ed25519.pub >> %s (make one first with ssh-keygen -t ed25519 if you have none)", path)
}

// read parses the file and replaces the key set. On failure the key set is
// emptied, so a broken or removed file locks everyone out instead of
// keeping access that an administrator may have just revoked.
func (f *keyFile) read() ([]keyProblem, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		f.keys, f.sum = nil, [sha256.Size]byte{}
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("authorized_keys file %s does not exist: %s", f.path, howToAddKey(f.path))
		}
		return nil, fmt.Errorf("read authorized_keys: %w", err)
	}
	return f.parse(data)
}

func (f *keyFile) parse(data []byte) ([]keyProblem, error) {
	f.sum = sha256.Sum256(data)
	keys, problems := parseAuthorizedKeys(data)
	f.keys = keys
	if len(keys) == 0 {
		return problems, fmt.Errorf("authorized_keys file %s contains no valid public key: %s", f.path, howToAddKey(f.path))
	}
	return problems, nil
}

// refresh reads the file and parses it again when its content changed
// since the last read. It returns the problems and error of that parse, or
// nothing when the content is unchanged or fails the same way as before.
func (f *keyFile) refresh() (reread bool, problems []keyProblem, err error) {
	data, readErr := os.ReadFile(f.path)
	if readErr == nil && f.readErr == nil && sha256.Sum256(data) == f.sum {
		return false, nil, nil
	}
	if readErr == nil {
		problems, err = f.parse(data)
	} else {
		problems, err = f.read()
	}
	changed := (err == nil) != (f.readErr == nil) || (err != nil && err.Error() != f.readErr.Error())
	f.readErr = err
	if err != nil && !changed {
		// Same failure as last time: do not log it again.
		return false, nil, nil
	}
	return true, problems, err
}

// lookup returns the entry for key, reading the file again first when it
// changed. The refresh outcome is returned for logging.
func (f *keyFile) lookup(key gossh.PublicKey) (entry *authorizedKey, reread bool, problems []keyProblem, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	reread, problems, err = f.refresh()
	marshaled := key.Marshal()
	for i := range f.keys {
		if bytes.Equal(f.keys[i].key.Marshal(), marshaled) {
			entry := f.keys[i]
			return &entry, reread, problems, err
		}
	}
	return nil, reread, problems, err
}

// count returns the number of usable keys from the last read.
func (f *keyFile) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.keys)
}
