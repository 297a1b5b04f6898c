package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	gossh "golang.org/x/crypto/ssh"
)

// loadOrCreateHostKey reads the ed25519 host key at path, or creates one
// (mode 0600, parent folder 0700) when the file does not exist. It reports
// whether the key was created. A key readable by group or others is
// rejected, as OpenSSH rejects such private keys.
func loadOrCreateHostKey(path string) (signer gossh.Signer, created bool, err error) {
	if path == "" {
		return nil, false, errors.New("host key path is empty: set Options.HostKey to a file such as <data dir>/ssh_host_ed25519_key")
	}
	signer, err = readHostKey(path)
	if err == nil {
		return signer, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}

	if err := createHostKey(path); err != nil {
		if errors.Is(err, os.ErrExist) {
			// Another process created the key between our read and our
			// create: use that one so both agree on the fingerprint.
			signer, err = readHostKey(path)
			return signer, false, err
		}
		return nil, false, err
	}
	signer, err = readHostKey(path)
	return signer, true, err
}

func readHostKey(path string) (gossh.Signer, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("host key %s has mode %#o, but a private key must be readable by its owner only: run chmod 600 %s",
			path, info.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s is not a valid unencrypted private key (%v): remove the file to create a new one, and tell users that the server's fingerprint changes",
			path, err)
	}
	return signer, nil
}

// createHostKey writes a new ed25519 key to a temporary file and links it
// into place, so a crash never leaves a half-written key and an existing
// key is never replaced.
func createHostKey(path string) error {
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := gossh.MarshalPrivateKey(private, "accsyn-sites host key")
	if err != nil {
		return fmt.Errorf("encode host key: %w", err)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create host key folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".host-key-*")
	if err != nil {
		return fmt.Errorf("create host key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("create host key: %w", err)
	}
	if err := pem.Encode(tmp, block); err != nil {
		tmp.Close()
		return fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return err
		}
		return fmt.Errorf("create host key %s: %w", path, err)
	}
	return nil
}
