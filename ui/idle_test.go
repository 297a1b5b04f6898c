package ui

import (
	"fmt"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"accsyn-sites/emulator"
)

// messageCounter counts the messages the program delivers, except the test's
// own probes.
type messageCounter struct {
	mu    sync.Mutex
	count int
	last  []string
}

func (c *messageCounter) filter(probe *screenProbe) func(tea.Model, tea.Msg) tea.Msg {
	return func(m tea.Model, msg tea.Msg) tea.Msg {
		if _, ok := msg.(probeMsg); ok {
			return probe.filter(m, msg)
		}
		c.mu.Lock()
		c.count++
		c.last = append(c.last, fmt.Sprintf("%T", msg))
		c.mu.Unlock()
		return msg
	}
}

func (c *messageCounter) snapshot() (int, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count, append([]string(nil), c.last...)
}

// requireQuiet fails if the program receives any message during the
// window that follows a settling period.
func (c *messageCounter) requireQuiet(t *testing.T, what string) {
	t.Helper()
	time.Sleep(time.Second) // the last spinner frame or cursor blink lands here
	before, _ := c.snapshot()
	time.Sleep(1500 * time.Millisecond)
	after, names := c.snapshot()
	if after != before {
		t.Fatalf("%s: %d messages arrived while idle: %v", what, after-before, names[before:])
	}
}

func TestIdleProgramReceivesNothing(t *testing.T) {
	srv := startEmulator(t, "demo")
	m := New(Options{Backend: clientFor(t, srv, emulator.RoleAdmin), Workspace: "acme"})
	probe := newScreenProbe()
	var counter messageCounter
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithFilter(counter.filter(probe))))
	t.Cleanup(func() { _ = tm.Quit() })

	probe.waitFor(t, tm, "● connected")
	counter.requireQuiet(t, "list")

	tm.Send(keyPress("n"))
	probe.waitFor(t, tm, "New site")
	counter.requireQuiet(t, "create dialog")

	tm.Send(keyPress("esc"))
	tm.Send(keyPress("/"))
	probe.waitFor(t, tm, "keep filter")
	counter.requireQuiet(t, "filter input")
}
