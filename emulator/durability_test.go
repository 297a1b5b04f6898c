package emulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperDirEnv names the data directory of the emulator that
// TestHelperProcess runs when the test binary is started as a child.
const helperDirEnv = "ACCSYN_EMULATOR_HELPER_DIR"

// TestHelperProcess is not a test: the durability test runs the test
// binary again with helperDirEnv set, and this function then serves an
// emulator on that data directory, prints its URL and waits to be killed.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		return
	}
	s, err := Start(Options{DataDir: dir, Seed: SeedNone}, "127.0.0.1:0")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("url:", s.URL)
	select {}
}

// TestAcknowledgedCreatesSurviveKill creates sites over HTTP in a child
// process, kills it with SIGKILL while creates are in flight, and checks
// that every create the child acknowledged is in the store afterwards.
func TestAcknowledgedCreatesSurviveKill(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	child.Env = append(os.Environ(), helperDirEnv+"="+dir)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()

	lines := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		for scanner.Scan() {
			if line := scanner.Text(); strings.HasPrefix(line, "url: ") || strings.HasPrefix(line, "error: ") {
				lines <- line
				return
			}
		}
		close(lines)
	}()
	var base string
	select {
	case line, ok := <-lines:
		if !ok || !strings.HasPrefix(line, "url: ") {
			t.Fatalf("the emulator child did not start: %q", line)
		}
		base = strings.TrimPrefix(line, "url: ")
	case <-time.After(60 * time.Second):
		t.Fatal("the emulator child printed no URL within 60 s")
	}

	var creds credentialsFile
	data, err := os.ReadFile(filepath.Join(dir, CredentialsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &creds); err != nil {
		t.Fatal(err)
	}
	c := loginURL(t, base, creds.Users[0], DefaultWorkspace)

	var mu sync.Mutex
	var acknowledged []string
	var wg sync.WaitGroup
	const writers = 4
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				code := fmt.Sprintf("w%d-%04d", w, i)
				ok, alive := createQuietly(c, code)
				if !alive {
					return
				}
				if ok {
					mu.Lock()
					acknowledged = append(acknowledged, code)
					mu.Unlock()
				}
			}
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(acknowledged)
		mu.Unlock()
		if n >= 40 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	child.Wait()
	if len(acknowledged) < 40 {
		t.Fatalf("only %d creates were acknowledged before the kill", len(acknowledged))
	}

	e, err := Open(Options{DataDir: dir})
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer e.Close()
	stored := map[string]bool{}
	e.mu.RLock()
	for _, rec := range e.sites {
		stored[rec.site.Code] = true
	}
	e.mu.RUnlock()
	for _, code := range acknowledged {
		if !stored[code] {
			t.Errorf("acknowledged site %s is missing after SIGKILL", code)
		}
	}
	t.Logf("%d acknowledged creates, %d sites stored", len(acknowledged), len(stored))
}

// createQuietly creates a site without failing the test on a dead server:
// it reports whether the create was acknowledged and whether the server
// still responds.
func createQuietly(c *apiClient, code string) (ok, alive bool) {
	ev := c.event("site/create", map[string]any{"data": map[string]any{"name": code}})
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest(http.MethodPost, c.base+eventPath, strings.NewReader(string(body)))
	req.Header.Set("Authorization", authHeader(c.user.Name, c.user.APIKey))
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return false, false
	}
	defer resp.Body.Close()
	var a answer
	if json.NewDecoder(resp.Body).Decode(&a) != nil {
		return false, false
	}
	return resp.StatusCode == http.StatusOK && a.Result != nil, true
}
