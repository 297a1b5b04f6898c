package theme

import (
	"testing"

	"accsyn-sites/model"
)

func TestNewPicksPaletteByBackground(t *testing.T) {
	dark, light := New(true), New(false)
	if !dark.IsDark || light.IsDark {
		t.Fatalf("IsDark: dark %v, light %v", dark.IsDark, light.IsDark)
	}
	if dark.Palette.Text == light.Palette.Text {
		t.Fatalf("dark and light text colours are the same: %v", dark.Palette.Text)
	}
	if dark.Palette.Online == dark.Palette.Offline || dark.Palette.Disabled == dark.Palette.DisabledOffline {
		t.Fatalf("state colours are not distinct")
	}
}

func TestStateSymbolsAreDistinct(t *testing.T) {
	seen := map[string]model.SiteState{}
	for _, st := range []model.SiteState{model.StateOnline, model.StateOffline, model.StateDisabled, model.StateDisabledOffline} {
		sym := StateSymbol(st)
		if prev, dup := seen[sym]; dup {
			t.Fatalf("states %v and %v share the symbol %q", prev, st, sym)
		}
		seen[sym] = st
	}
}

func TestStateDotKeepsSymbol(t *testing.T) {
	s := New(true)
	for _, st := range []model.SiteState{model.StateOnline, model.StateOffline, model.StateDisabled, model.StateDisabledOffline} {
		dot := s.StateDot(st)
		if len(dot) <= len(StateSymbol(st)) {
			t.Fatalf("dot %q for %v has no colour", dot, st)
		}
		if got := ServerSymbol(model.ServerOnline); got != "●" {
			t.Fatalf("online server symbol %q", got)
		}
	}
}

func TestFormThemeFollowsPalette(t *testing.T) {
	for _, isDark := range []bool{true, false} {
		s := New(isDark)
		// The Huh theme ignores the background Huh passes in.
		got := s.Form().Theme(!isDark).Focused.Title.GetForeground()
		if got != s.Palette.Accent {
			t.Fatalf("isDark %v: form title colour %v, want the accent %v", isDark, got, s.Palette.Accent)
		}
	}
}
