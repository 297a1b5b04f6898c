package ui

import "charm.land/bubbles/v2/key"

// keyMap is the one key map of the list screen. The footer's short help and
// the full help shown by "?" are both generated from it.
type keyMap struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Home     key.Binding
	End      key.Binding
	Focus    key.Binding
	Filter   key.Binding
	New      key.Binding
	Edit     key.Binding
	Toggle   key.Binding
	Main     key.Binding
	Delete   key.Binding
	All      key.Binding
	Sort     key.Binding
	Refresh  key.Binding
	Copy     key.Binding
	Help     key.Binding
	Quit     key.Binding
	Escape   key.Binding

	// blockReason, when not empty, is the reason the change keys do nothing.
	blockReason string
}

// newKeyMap builds the key map. When blockReason is not empty the change
// keys stay bound, so that pressing one can show why it does nothing, and the
// help marks them as disabled.
func newKeyMap(blockReason string) keyMap {
	k := keyMap{
		Up:          key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:        key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:      key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Home:        key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g/home", "first")),
		End:         key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G/end", "last")),
		Focus:       key.NewBinding(key.WithKeys("tab", "enter"), key.WithHelp("tab/enter", "switch pane")),
		Filter:      key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		New:         key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "new")),
		Edit:        key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Toggle:      key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "enable/disable")),
		Main:        key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "make main")),
		Delete:      key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete")),
		All:         key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "show built-ins")),
		Sort:        key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sort")),
		Refresh:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Copy:        key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy id")),
		Help:        key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:        key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Escape:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close / clear filter")),
		blockReason: blockReason,
	}
	if blockReason != "" {
		for _, b := range k.changeBindings() {
			h := b.Help()
			b.SetHelp(h.Key, h.Desc+" (disabled)")
		}
	}
	return k
}

// changeBindings returns the keys that change sites.
func (k *keyMap) changeBindings() []*key.Binding {
	return []*key.Binding{&k.New, &k.Edit, &k.Toggle, &k.Main, &k.Delete}
}

// ShortHelp returns the bindings of the footer line.
func (k keyMap) ShortHelp() []key.Binding {
	move := key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "move"))
	if k.blockReason != "" {
		return []key.Binding{move, k.Filter, k.All, k.Sort, k.Copy, k.Help, k.Quit}
	}
	return []key.Binding{move, k.Filter, k.New, k.Edit, k.Toggle, k.Delete, k.Help, k.Quit}
}

// FullHelp returns the columns of the full help.
func (k keyMap) FullHelp() [][]key.Binding {
	// Two columns, so that the help fits an 80-column terminal.
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End, k.Focus, k.Filter, k.All, k.Sort},
		{k.New, k.Edit, k.Toggle, k.Main, k.Delete, k.Refresh, k.Copy, k.Help, k.Escape, k.Quit},
	}
}
