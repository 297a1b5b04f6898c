package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// newTestKey returns a fresh ed25519 signer and its authorized_keys line
// without the trailing newline.
func newTestKey(t testing.TB) (gossh.Signer, string) {
	t.Helper()
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(private)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
	return signer, line
}

func TestHostKeyCreatedOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "ssh_host_ed25519_key")

	first, created, err := loadOrCreateHostKey(path)
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	if !created {
		t.Error("first start did not report the key as created")
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("host key mode = %#o, want 0600", mode)
	}
	if got := first.PublicKey().Type(); got != gossh.KeyAlgoED25519 {
		t.Errorf("host key type = %s, want %s", got, gossh.KeyAlgoED25519)
	}

	second, created, err := loadOrCreateHostKey(path)
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	if created {
		t.Error("second start created a new key instead of reusing the file")
	}
	fp1 := gossh.FingerprintSHA256(first.PublicKey())
	fp2 := gossh.FingerprintSHA256(second.PublicKey())
	if fp1 != fp2 {
		t.Errorf("fingerprint changed between starts: %s then %s", fp1, fp2)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".host-key-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestHostKeyRejectsOpenModeAndGarbage(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open_key")
	if _, _, err := loadOrCreateHostKey(open); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := loadOrCreateHostKey(open)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+open) {
		t.Errorf("world-readable key: error = %v, want one naming chmod 600 %s", err, open)
	}

	garbage := filepath.Join(dir, "garbage_key")
	if err := os.WriteFile(garbage, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = loadOrCreateHostKey(garbage)
	if err == nil || !strings.Contains(err.Error(), garbage) || !strings.Contains(err.Error(), "remove the file") {
		t.Errorf("garbage key: error = %v, want one naming the path and the fix", err)
	}

	if _, _, err := loadOrCreateHostKey(""); err == nil {
		t.Error("empty path: no error")
	}
}

func TestParseAuthorizedKeysLines(t *testing.T) {
	_, plain := newTestKey(t)
	_, withOptions := newTestKey(t)
	_, withCommand := newTestKey(t)
	_, noPTY := newTestKey(t)
	data := strings.Join([]string{
		"# a comment",
		"",
		"   ",
		plain + " alice@laptop",
		`from="127.0.0.1,::1",no-port-forwarding,expiry-time="20991231" ` + withOptions,
		`command="/bin/date" ` + withCommand,
		"ssh-ed25519 AAAAnotbase64 broken",
		"no-pty " + noPTY,
	}, "\n")

	keys, problems := parseAuthorizedKeys([]byte(data))
	if len(keys) != 3 {
		t.Fatalf("got %d keys, want 3 (plain, with options, no-pty)", len(keys))
	}
	if keys[0].line != 4 || keys[0].comment != "alice@laptop" {
		t.Errorf("first key: line %d comment %q, want line 4 alice@laptop", keys[0].line, keys[0].comment)
	}
	if got := keys[1].from; len(got) != 2 || got[0] != "127.0.0.1" || got[1] != "::1" {
		t.Errorf("from patterns = %q, want [127.0.0.1 ::1]", got)
	}
	if keys[1].expires.Year() != 2099 {
		t.Errorf("expiry = %v, want 2099-12-31", keys[1].expires)
	}
	if !keys[2].noPTY {
		t.Error("no-pty option not recorded")
	}

	if len(problems) != 2 {
		t.Fatalf("problems = %v, want 2 (command=, broken key)", problems)
	}
	if problems[0].line != 6 || !strings.Contains(problems[0].err.Error(), `"command"`) {
		t.Errorf("problem 1 = %v, want line 6 naming the command option", problems[0])
	}
	if problems[1].line != 7 {
		t.Errorf("problem 2 = %v, want line 7", problems[1])
	}
}

func TestAuthorizedKeyAllows(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		options []string
		ip      string
		want    bool
	}{
		{"no options", nil, "192.0.2.7", true},
		{"from exact", []string{`from="127.0.0.1"`}, "127.0.0.1", true},
		{"from other", []string{`from="127.0.0.1"`}, "127.0.0.2", false},
		{"from glob", []string{`from="127.0.0.*"`}, "127.0.0.9", true},
		{"from question mark", []string{`from="127.0.0.?"`}, "127.0.0.10", false},
		{"from cidr", []string{`from="10.0.0.0/8"`}, "10.2.3.4", true},
		{"from negated wins", []string{`from="127.0.0.0/8,!127.0.0.5"`}, "127.0.0.5", false},
		{"from ipv6", []string{`from="::1"`}, "::1", true},
		{"from mapped ipv4", []string{`from="127.0.0.1"`}, "::ffff:127.0.0.1", true},
		{"from host name never matches", []string{`from="*.example.com"`}, "127.0.0.1", false},
		{"expired", []string{`expiry-time="20260101"`}, "127.0.0.1", false},
		{"expires later", []string{`expiry-time="202612041300Z"`}, "127.0.0.1", true},
		{"expired utc", []string{`expiry-time="202612041100Z"`}, "127.0.0.1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var k authorizedKey
			if err := k.applyOptions(tc.options); err != nil {
				t.Fatalf("options %q: %v", tc.options, err)
			}
			got, reason := k.allows(net.ParseIP(tc.ip), now)
			if got != tc.want {
				t.Errorf("allows(%s) = %v (%s), want %v", tc.ip, got, reason, tc.want)
			}
			if !got && reason == "" {
				t.Error("a rejection has no reason")
			}
		})
	}
}

func TestAuthorizedKeyBadOptions(t *testing.T) {
	cases := map[string]string{
		`from=""`:                  "from= has no patterns",
		`from="10.0.0.0/99"`:       "10.0.0.0/99",
		`expiry-time="tomorrow"`:   `"tomorrow"`,
		`cert-authority`:           `"cert-authority"`,
		`principals="alice"`:       `"principals"`,
		`verify-required`:          `"verify-required"`,
		`some-future-option="yes"`: `"some-future-option"`,
	}
	for option, want := range cases {
		var k authorizedKey
		err := k.applyOptions([]string{option})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("option %s: error = %v, want one containing %s", option, err, want)
		}
	}
}

func TestKeyFileMissingOrEmpty(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "authorized_keys")
	_, _, err := loadKeyFile(missing)
	if err == nil || !strings.Contains(err.Error(), "cat ~/.ssh/id_ed25519.pub >> "+missing) {
		t.Errorf("missing file: error = %v, want the cat command", err)
	}

	if err := os.WriteFile(missing, []byte("# nothing yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = loadKeyFile(missing)
	if err == nil || !strings.Contains(err.Error(), "no valid public key") || !strings.Contains(err.Error(), "ssh-keygen -t ed25519") {
		t.Errorf("file without keys: error = %v, want no valid public key and ssh-keygen", err)
	}
}

func TestKeyFileReadAgainOnChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authorized_keys")
	alice, aliceLine := newTestKey(t)
	bob, bobLine := newTestKey(t)
	if err := os.WriteFile(path, []byte(aliceLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, err := loadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if entry, _, _, _ := f.lookup(bob.PublicKey()); entry != nil {
		t.Fatal("bob is authorized before being added")
	}

	// Same size and, on a coarse clock, the same modification time: only
	// the content differs.
	if len(bobLine) != len(aliceLine) {
		t.Fatalf("test keys differ in length: %d and %d", len(aliceLine), len(bobLine))
	}
	stat, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(bobLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, stat.ModTime(), stat.ModTime()); err != nil {
		t.Fatal(err)
	}
	entry, reread, _, err := f.lookup(bob.PublicKey())
	if entry == nil || !reread || err != nil {
		t.Errorf("after adding bob: entry %v, reread %v, err %v; want bob found after a reread", entry, reread, err)
	}
	if entry, _, _, _ := f.lookup(alice.PublicKey()); entry != nil {
		t.Error("alice is still authorized after her line was removed")
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	entry, _, _, err = f.lookup(bob.PublicKey())
	if entry != nil || err == nil {
		t.Errorf("after removing the file: entry %v, err %v; want no entry and an error", entry, err)
	}
	_, reread, _, err = f.lookup(bob.PublicKey())
	if reread || err != nil {
		t.Errorf("same failure again: reread %v, err %v; want it reported once", reread, err)
	}
}

func TestFormatDuration(t *testing.T) {
	cases := map[time.Duration]string{
		30 * time.Minute:        "30m",
		2 * time.Hour:           "2h",
		90 * time.Second:        "1m30s",
		1500 * time.Millisecond: "1.5s",
	}
	for d, want := range cases {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
