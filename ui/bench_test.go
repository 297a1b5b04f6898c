package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"accsyn-sites/client"
	"accsyn-sites/model"
)

// benchCheckin is the last check-in of every generated server.
var benchCheckin = time.Date(2026, 12, 4, 11, 58, 0, 0, time.UTC)

// benchModel returns a model at 120x40 holding n generated sites, loaded
// the way a backend result arrives: as a sitesLoadedMsg.
func benchModel(b *testing.B, n int) *Model {
	b.Helper()
	m := New(Options{Workspace: "acme"})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	sites := make([]model.Site, n)
	servers := make([]model.Server, 0, n/10)
	for i := range sites {
		id := model.ID(fmt.Sprintf("%024x", i+1))
		sites[i] = model.Site{
			ID: id, Name: fmt.Sprintf("site-%06d", (i*7919)%n), Code: fmt.Sprintf("site-%06d", i),
			Status: model.StatusEnabled, Description: fmt.Sprintf("office number %d", i),
			Metadata: map[string]any{"region": "eu-west", "rack": float64(i % 40)},
		}
		if i%10 == 0 {
			// A check-in makes the frame compute a relative time.
			servers = append(servers, model.Server{ID: model.ID(fmt.Sprintf("s%023x", i)), Code: fmt.Sprintf("srv-%d", i),
				Site: id, Status: model.ServerOnline, LastCheckin: model.NewTime(benchCheckin)})
		}
	}
	sites[0].Main = true
	m.Update(sitesLoadedMsg{seq: m.loadSeq, identity: client.Identity{User: "admin@local", Role: "admin"},
		loggedIn: true, sites: sites, servers: servers})
	if len(m.list.rows) != n {
		b.Fatalf("loaded %d rows, want %d", len(m.list.rows), n)
	}
	return m
}

func BenchmarkView(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("sites=%d", n), func(b *testing.B) {
			m := benchModel(b, n)
			m.list.move(m.sites, n/2)
			m.list.scrollTo(m.listHeight())
			m.rebuildDetail(true)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

func BenchmarkCursorMove(b *testing.B) {
	m := benchModel(b, 10000)
	down, up := keyPress("j"), keyPress("k")
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k := down
		if i%2 == 1 {
			k = up
		}
		i++
		m.Update(k)
		_ = m.View()
	}
}

func BenchmarkFilterKeystroke(b *testing.B) {
	m := benchModel(b, 10000)
	m.Update(keyPress("/"))
	m.Update(keyPress("s"))
	m.Update(keyPress("i"))
	add, remove := keyPress("t"), keyPress("backspace")
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		k := add
		if i%2 == 1 {
			k = remove
		}
		i++
		m.Update(k)
	}
}
