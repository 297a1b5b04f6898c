// Package theme holds the colours and Lip Gloss styles of the sites TUI.
//
// Styles are built per program by New, never kept in package variables,
// because every SSH session has its own terminal with its own background
// colour. Colours are image/color values: the Bubble Tea program downsamples
// them to the terminal's colour profile, and NO_COLOR removes them, so every
// state must also be readable from a symbol or a word.
package theme

import (
	"image/color"

	"charm.land/bubbles/v2/help"
	"charm.land/huh/v2"
	"charm.land/lipgloss/v2"

	"accsyn-sites/model"
)

// Palette is the set of semantic colours for one background.
type Palette struct {
	Text        color.Color
	Muted       color.Color
	Subtle      color.Color
	Accent      color.Color
	Border      color.Color
	BorderFocus color.Color
	Selection   color.Color
	BadgeText   color.Color
	Badge       color.Color
	Success     color.Color
	Error       color.Color
	Warning     color.Color

	// Site state colours, as accsyn's web admin uses them.
	Online          color.Color
	Offline         color.Color
	Disabled        color.Color
	DisabledOffline color.Color
}

// DarkPalette returns the colours for a dark terminal background.
func DarkPalette() Palette {
	return Palette{
		Text:            lipgloss.Color("#E4E4E7"),
		Muted:           lipgloss.Color("#9CA3AF"),
		Subtle:          lipgloss.Color("#6B7280"),
		Accent:          lipgloss.Color("#8B8BF5"),
		Border:          lipgloss.Color("#4B5563"),
		BorderFocus:     lipgloss.Color("#8B8BF5"),
		Selection:       lipgloss.Color("#2E3350"),
		BadgeText:       lipgloss.Color("#111827"),
		Badge:           lipgloss.Color("#8B8BF5"),
		Success:         lipgloss.Color("#34D399"),
		Error:           lipgloss.Color("#F87171"),
		Warning:         lipgloss.Color("#FBBF24"),
		Online:          lipgloss.Color("#22C55E"),
		Offline:         lipgloss.Color("#9CA3AF"),
		Disabled:        lipgloss.Color("#EAB308"),
		DisabledOffline: lipgloss.Color("#D9730D"),
	}
}

// LightPalette returns the colours for a light terminal background.
func LightPalette() Palette {
	return Palette{
		Text:            lipgloss.Color("#1F2937"),
		Muted:           lipgloss.Color("#4B5563"),
		Subtle:          lipgloss.Color("#9CA3AF"),
		Accent:          lipgloss.Color("#4F46E5"),
		Border:          lipgloss.Color("#BCC3CD"),
		BorderFocus:     lipgloss.Color("#4F46E5"),
		Selection:       lipgloss.Color("#E0E7FF"),
		BadgeText:       lipgloss.Color("#FFFFFF"),
		Badge:           lipgloss.Color("#4F46E5"),
		Success:         lipgloss.Color("#047857"),
		Error:           lipgloss.Color("#B91C1C"),
		Warning:         lipgloss.Color("#A16207"),
		Online:          lipgloss.Color("#15803D"),
		Offline:         lipgloss.Color("#6B7280"),
		Disabled:        lipgloss.Color("#B58900"),
		DisabledOffline: lipgloss.Color("#B45309"),
	}
}

// Styles are the Lip Gloss styles of one TUI program.
type Styles struct {
	IsDark  bool
	Palette Palette

	// Header line.
	App        lipgloss.Style
	HeaderText lipgloss.Style
	HeaderDim  lipgloss.Style

	// Panes: the border colour shows which pane has focus.
	Pane        lipgloss.Style
	PaneFocused lipgloss.Style
	PaneTitle   lipgloss.Style

	// List rows.
	Row         lipgloss.Style
	RowSelected lipgloss.Style
	// RowSelectedBlurred marks the cursor row while the detail pane has focus.
	RowSelectedBlurred lipgloss.Style
	Badge              lipgloss.Style
	Count              lipgloss.Style
	Pending            lipgloss.Style

	// Detail pane.
	Label   lipgloss.Style
	Value   lipgloss.Style
	Dim     lipgloss.Style
	Section lipgloss.Style

	// Status line and messages.
	Success lipgloss.Style
	Error   lipgloss.Style
	Warning lipgloss.Style
	Spinner lipgloss.Style

	// Dialogs drawn over the panes.
	Dialog      lipgloss.Style
	DialogTitle lipgloss.Style
	DialogHint  lipgloss.Style

	// Help is the style set for the bubbles help model.
	Help help.Styles

	// dots caches the rendered state symbols, drawn on every list row.
	dots [4]string
}

// New builds the styles for a terminal with a dark or a light background.
func New(isDark bool) *Styles {
	p := LightPalette()
	if isDark {
		p = DarkPalette()
	}
	s := &Styles{IsDark: isDark, Palette: p}

	s.App = lipgloss.NewStyle().Foreground(p.Accent).Bold(true)
	s.HeaderText = lipgloss.NewStyle().Foreground(p.Text)
	s.HeaderDim = lipgloss.NewStyle().Foreground(p.Muted)

	s.Pane = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(p.Border)
	s.PaneFocused = s.Pane.BorderForeground(p.BorderFocus)
	s.PaneTitle = lipgloss.NewStyle().Foreground(p.Text).Bold(true)

	s.Row = lipgloss.NewStyle().Foreground(p.Text)
	s.RowSelected = lipgloss.NewStyle().Foreground(p.Text).Background(p.Selection).Bold(true)
	s.RowSelectedBlurred = lipgloss.NewStyle().Foreground(p.Text).Bold(true)
	s.Badge = lipgloss.NewStyle().Foreground(p.BadgeText).Background(p.Badge).Bold(true)
	s.Count = lipgloss.NewStyle().Foreground(p.Muted)
	s.Pending = lipgloss.NewStyle().Foreground(p.Warning).Italic(true)

	s.Label = lipgloss.NewStyle().Foreground(p.Muted)
	s.Value = lipgloss.NewStyle().Foreground(p.Text)
	s.Dim = lipgloss.NewStyle().Foreground(p.Subtle)
	s.Section = lipgloss.NewStyle().Foreground(p.Accent).Bold(true)

	s.Success = lipgloss.NewStyle().Foreground(p.Success)
	s.Error = lipgloss.NewStyle().Foreground(p.Error).Bold(true)
	s.Warning = lipgloss.NewStyle().Foreground(p.Warning)
	s.Spinner = lipgloss.NewStyle().Foreground(p.Accent)

	s.Dialog = lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(p.BorderFocus).Padding(0, 1)
	s.DialogTitle = lipgloss.NewStyle().Foreground(p.Accent).Bold(true)
	s.DialogHint = lipgloss.NewStyle().Foreground(p.Muted)

	s.Help = help.Styles{
		ShortKey:       lipgloss.NewStyle().Foreground(p.Text),
		ShortDesc:      lipgloss.NewStyle().Foreground(p.Muted),
		ShortSeparator: lipgloss.NewStyle().Foreground(p.Subtle),
		Ellipsis:       lipgloss.NewStyle().Foreground(p.Subtle),
		FullKey:        lipgloss.NewStyle().Foreground(p.Text).Bold(true),
		FullDesc:       lipgloss.NewStyle().Foreground(p.Muted),
		FullSeparator:  lipgloss.NewStyle().Foreground(p.Subtle),
	}
	for _, state := range []model.SiteState{model.StateOnline, model.StateOffline, model.StateDisabled, model.StateDisabledOffline} {
		s.dots[state] = lipgloss.NewStyle().Foreground(s.StateColor(state)).Render(StateSymbol(state))
	}
	return s
}

// StateColor returns the colour of a site state's dot.
func (s *Styles) StateColor(state model.SiteState) color.Color {
	switch state {
	case model.StateOnline:
		return s.Palette.Online
	case model.StateDisabled:
		return s.Palette.Disabled
	case model.StateDisabledOffline:
		return s.Palette.DisabledOffline
	default:
		return s.Palette.Offline
	}
}

// StateSymbol returns the symbol drawn for a site state. The symbols differ
// in shape as well as colour so that a monochrome screen stays readable.
func StateSymbol(state model.SiteState) string {
	switch state {
	case model.StateOnline:
		return "●"
	case model.StateDisabled:
		return "◐"
	case model.StateDisabledOffline:
		return "✕"
	default:
		return "○"
	}
}

// StateDot renders the coloured symbol of a site state.
func (s *Styles) StateDot(state model.SiteState) string {
	if int(state) >= 0 && int(state) < len(s.dots) && s.dots[state] != "" {
		return s.dots[state]
	}
	return lipgloss.NewStyle().Foreground(s.StateColor(state)).Render(StateSymbol(state))
}

// ServerSymbol returns the symbol drawn for a server status.
func ServerSymbol(status string) string {
	switch status {
	case model.ServerOnline:
		return "●"
	case model.ServerDisabled:
		return "◐"
	case model.ServerDisabledOffline:
		return "✕"
	default:
		return "○"
	}
}

// ServerDot renders the coloured symbol of a server status.
func (s *Styles) ServerDot(status string) string {
	c := s.Palette.Offline
	switch status {
	case model.ServerOnline:
		c = s.Palette.Online
	case model.ServerDisabled:
		c = s.Palette.Disabled
	case model.ServerDisabledOffline:
		c = s.Palette.DisabledOffline
	}
	return lipgloss.NewStyle().Foreground(c).Render(ServerSymbol(status))
}

// Form returns the Huh theme for dialogs, matching this palette. It ignores
// the background that Huh detects itself, because the program has already
// received it.
func (s *Styles) Form() huh.Theme {
	isDark := s.IsDark
	p := s.Palette
	return huh.ThemeFunc(func(bool) *huh.Styles {
		t := huh.ThemeCharm(isDark)
		t.Focused.Base = t.Focused.Base.BorderForeground(p.BorderFocus)
		t.Focused.Card = t.Focused.Base
		t.Focused.Title = t.Focused.Title.Foreground(p.Accent)
		t.Focused.Description = t.Focused.Description.Foreground(p.Muted)
		t.Focused.ErrorIndicator = t.Focused.ErrorIndicator.Foreground(p.Error)
		t.Focused.ErrorMessage = t.Focused.ErrorMessage.Foreground(p.Error)
		t.Focused.TextInput.Text = t.Focused.TextInput.Text.Foreground(p.Text)
		t.Focused.TextInput.Prompt = t.Focused.TextInput.Prompt.Foreground(p.Accent)
		t.Focused.TextInput.Cursor = t.Focused.TextInput.Cursor.Foreground(p.Accent)
		t.Focused.TextInput.Placeholder = t.Focused.TextInput.Placeholder.Foreground(p.Subtle)
		t.Blurred = t.Focused
		t.Blurred.Base = t.Focused.Base.BorderStyle(lipgloss.HiddenBorder())
		t.Blurred.Card = t.Blurred.Base
		t.Blurred.Title = t.Blurred.Title.Foreground(p.Muted).Bold(false)
		t.Blurred.NextIndicator = lipgloss.NewStyle()
		t.Blurred.PrevIndicator = lipgloss.NewStyle()
		t.Group.Title = t.Focused.Title
		t.Group.Description = t.Focused.Description
		return t
	})
}
