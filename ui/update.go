package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/cursor"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"accsyn-sites/client"
	"accsyn-sites/model"
)

// Update routes one message. It does no I/O: calls are returned as commands.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layoutChanged()
		return m, nil

	case tea.BackgroundColorMsg:
		m.applyStyles(msg.IsDark())
		return m, nil

	case tea.ColorProfileMsg:
		m.profile = msg.Profile
		return m, nil

	case tea.KeyReleaseMsg:
		// Only presses act; a release must never repeat the key.
		return m, nil

	case tea.PasteMsg:
		return m, m.handlePaste(msg)

	case tea.KeyPressMsg:
		return m, m.handleKey(msg)

	case cursor.BlinkMsg:
		// Text cursors do not blink: blinking would wake an idle program
		// twice a second. Dropping the message ends the blink loop with the
		// cursor shown.
		return m, nil

	case spinner.TickMsg:
		if len(m.requests) == 0 {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd

	case refreshTickMsg:
		if msg.gen != m.refreshGen {
			return m, nil
		}
		if len(m.requests) > 0 {
			// A load is in flight, or a change whose result starts a
			// reload, so a refresh now would load everything twice.
			return m, m.scheduleRefresh()
		}
		return m, m.startLoad() // arms the next tick

	case sitesLoadedMsg:
		return m, m.handleLoaded(msg)

	case siteSavedMsg:
		return m, m.handleSaved(msg)

	case siteDeletedMsg:
		return m, m.handleDeleted(msg)

	case apiFailedMsg:
		return m, m.handleFailed(msg)
	}

	// Anything else belongs to the open form (its field updates and focus
	// changes travel as messages).
	if m.dialog != nil {
		return m, m.dialog.update(msg, m)
	}
	return m, nil
}

// handlePaste sends pasted text to the focused input only.
func (m *Model) handlePaste(msg tea.PasteMsg) tea.Cmd {
	switch {
	case m.tooSmall() || m.confirm != nil || m.showHelp:
		return nil
	case m.dialog != nil:
		return m.dialog.update(msg, m)
	case m.filtering:
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		m.setQuery(m.filter.Value())
		return cmd
	}
	return nil
}

// handleKey routes a key press to the top layer: help, confirmation,
// dialog, filter input, then the list screen. While the terminal is too
// small to draw the screen only the quit keys act: the user cannot see what
// any other key would change.
func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.tooSmall() {
		if key.Matches(msg, m.keys.Quit) {
			return tea.Quit
		}
		return nil
	}
	switch {
	case m.showHelp:
		switch msg.String() {
		case "esc", "?", "q", "enter":
			m.showHelp = false
		}
		return nil
	case m.confirm != nil:
		return m.handleConfirmKey(msg)
	case m.dialog != nil:
		if msg.String() == "esc" {
			m.closeDialog()
			return nil
		}
		return m.dialog.update(msg, m)
	case m.filtering:
		return m.handleFilterKey(msg)
	}
	return m.handleListKey(msg)
}

// handleFilterKey edits the filter. Arrows still move the cursor; enter
// keeps the filter and leaves the input; esc clears it.
func (m *Model) handleFilterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		m.filtering = false
		m.filter.Blur()
		m.filter.SetValue("")
		m.setQuery("")
		return nil
	case "enter", "tab":
		m.filtering = false
		m.filter.Blur()
		return nil
	case "up", "down", "pgup", "pgdown":
		m.moveKey(msg)
		return nil
	}
	var cmd tea.Cmd
	m.filter, cmd = m.filter.Update(msg)
	m.setQuery(m.filter.Value())
	return cmd
}

// handleListKey runs the list screen's keys.
func (m *Model) handleListKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if key.Matches(msg, k.Filter, k.All, k.Sort, k.Refresh, k.Copy, k.Help, k.New, k.Edit, k.Toggle, k.Main, k.Delete) {
		// A key that acts replaces the previous result, so an old "Saved"
		// or refusal does not look like the result of this key.
		m.clearStatus()
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Escape):
		if m.list.query != "" {
			m.filter.SetValue("")
			m.setQuery("")
		} else if m.focus == focusDetail {
			m.focus = focusList
		}
		return nil
	case key.Matches(msg, k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End):
		m.moveKey(msg)
		return nil
	case key.Matches(msg, k.Focus):
		if m.focus == focusList {
			m.focus = focusDetail
		} else {
			m.focus = focusList
		}
		return nil
	case key.Matches(msg, k.Filter):
		m.filtering = true
		m.focus = focusList
		return m.filter.Focus()
	case key.Matches(msg, k.All):
		m.list.showAll = !m.list.showAll
		m.rebuildRows()
		if m.list.showAll {
			m.setStatus(statusInfo, "Showing built-in sites")
		} else {
			m.setStatus(statusInfo, "Hiding built-in sites")
		}
		return nil
	case key.Matches(msg, k.Sort):
		m.list.sortBy = (m.list.sortBy + 1) % sortOrderCount
		m.resort()
		m.setStatus(statusInfo, "Sorted by "+m.list.sortBy.String())
		return nil
	case key.Matches(msg, k.Refresh):
		m.setStatus(refreshingStatus.kind, refreshingStatus.text)
		if m.loading {
			// The load in flight is as fresh as a new one, so its end is
			// reported instead of starting another.
			m.manualSeq = m.loadSeq
			return nil
		}
		cmd := m.startLoad()
		m.manualSeq = m.loadSeq
		return cmd
	case key.Matches(msg, k.Copy):
		return m.copyID()
	case key.Matches(msg, k.Help):
		m.showHelp = true
		return nil
	case key.Matches(msg, k.New):
		return m.openCreate()
	case key.Matches(msg, k.Edit):
		return m.openEdit()
	case key.Matches(msg, k.Toggle):
		return m.toggleStatus()
	case key.Matches(msg, k.Main):
		return m.askMakeMain()
	case key.Matches(msg, k.Delete):
		return m.askDelete()
	}
	return nil
}

// moveKey moves the list cursor, or scrolls the detail pane when it has
// focus.
func (m *Model) moveKey(msg tea.KeyPressMsg) {
	k := m.keys
	if m.focus == focusDetail && !m.filtering {
		page := max(1, m.detailHeight()-1)
		switch {
		case key.Matches(msg, k.Up):
			m.detail.scroll(-1)
		case key.Matches(msg, k.Down):
			m.detail.scroll(1)
		case key.Matches(msg, k.PageUp):
			m.detail.scroll(-page)
		case key.Matches(msg, k.PageDown):
			m.detail.scroll(page)
		case key.Matches(msg, k.Home):
			m.detail.offset = 0
		case key.Matches(msg, k.End):
			m.detail.scroll(len(m.detail.lines))
		}
		m.detail.clamp(m.detailHeight())
		return
	}

	before := m.list.selectedID
	page := max(1, m.listHeight()-1)
	switch {
	case key.Matches(msg, k.Up):
		m.list.move(m.sites, -1)
	case key.Matches(msg, k.Down):
		m.list.move(m.sites, 1)
	case key.Matches(msg, k.PageUp):
		m.list.move(m.sites, -page)
	case key.Matches(msg, k.PageDown):
		m.list.move(m.sites, page)
	case key.Matches(msg, k.Home):
		m.list.move(m.sites, -len(m.list.rows))
	case key.Matches(msg, k.End):
		m.list.move(m.sites, len(m.list.rows))
	}
	m.list.scrollTo(m.listHeight())
	if m.list.selectedID != before {
		m.rebuildDetail(true)
	}
}

// setQuery applies a new filter text.
func (m *Model) setQuery(q string) {
	if q == m.list.query {
		return
	}
	m.list.query = q
	m.rebuildRows()
}

// refreshingStatus is the status line while a refresh requested with "r"
// is in flight.
var refreshingStatus = statusLine{kind: statusInfo, text: "Refreshing…"}

// handleLoaded accepts the newest load and drops older ones.
func (m *Model) handleLoaded(msg sitesLoadedMsg) tea.Cmd {
	delete(m.requests, msg.seq)
	if msg.seq != m.loadSeq {
		return nil
	}
	m.loading = false
	m.identity, m.loggedIn = msg.identity, msg.loggedIn
	m.keys = newKeyMap(m.changeBlockReason())
	m.conn = connConnected
	m.loaded = true
	if m.lastLoadErr != nil && m.status.kind == statusError {
		m.setStatus(statusSuccess, "Connected again")
	}
	m.lastLoadErr = nil
	m.lastRefresh = m.now()
	if m.manualSeq != 0 && msg.seq >= m.manualSeq {
		// A newer load may have replaced the one "r" started, for example
		// the reload after a change. Its result is as fresh, but a change's
		// result on the status line is kept.
		m.manualSeq = 0
		if m.status == refreshingStatus {
			m.setStatus(statusSuccess, "Refreshed at "+m.lastRefresh.Format(time.TimeOnly))
		}
	}
	m.setData(msg.sites, msg.servers, msg.transfers)
	return nil
}

// handleSaved applies a created or changed site and reloads the list.
func (m *Model) handleSaved(msg siteSavedMsg) tea.Cmd {
	req, known := m.requests[msg.seq]
	delete(m.requests, msg.seq)
	if p, ok := m.pending[msg.id]; ok && p.seq == msg.seq {
		delete(m.pending, msg.id)
	}
	site := msg.site
	// Show the returned site at once, then reload for everything it implies
	// (another site lost the main flag, modified times changed).
	// An older request's result must not replace what a newer change of
	// the same site returned; the reload below brings the final state.
	stale := msg.seq < m.siteSeq[msg.id]
	if site.ID != "" && !stale {
		m.upsertSite(site)
	}

	// The site is named as the backend returned it, as the list now shows
	// it, falling back to the name when the request was made.
	label := ""
	if site.Name != "" || site.Code != "" {
		label = m.siteName(site)
	} else if known {
		label = req.label
	}
	switch msg.op {
	case opCreate:
		m.setStatus(statusSuccess, "Created "+label)
		if m.dialog != nil && m.dialog.seq == msg.seq {
			m.dialog = nil
		}
	case opEdit:
		m.setStatus(statusSuccess, "Saved "+label)
		if m.dialog != nil && m.dialog.seq == msg.seq {
			m.dialog = nil
		}
	case opEnable:
		m.setStatus(statusSuccess, "Enabled "+label)
	case opDisable:
		m.setStatus(statusSuccess, "Disabled "+label)
	case opMakeMain:
		m.setStatus(statusSuccess, label+" is now the main site")
	}

	if site.ID != "" && !stale {
		m.list.selectedID = site.ID
		m.rebuildRows()
		if m.list.selectedID != site.ID && m.list.query != "" {
			// The filter hides the site just saved: clear it so the
			// cursor can land on the site.
			m.filter.SetValue("")
			m.list.selectedID = site.ID
			m.setQuery("")
		}
	}
	return m.startLoad()
}

// handleDeleted drops the site and reloads the list.
func (m *Model) handleDeleted(msg siteDeletedMsg) tea.Cmd {
	delete(m.requests, msg.seq)
	m.setStatus(statusSuccess, "Deleted "+msg.label)
	if i, ok := m.byID[msg.id]; ok {
		sites := append([]model.Site{}, m.sites[:i]...)
		sites = append(sites, m.sites[i+1:]...)
		m.setData(sites, m.allServers, m.active)
	}
	return m.startLoad()
}

// handleFailed shows a failed call where the user looks: in the open dialog
// for its submit, on the status line otherwise.
func (m *Model) handleFailed(msg apiFailedMsg) tea.Cmd {
	req, known := m.requests[msg.seq]
	delete(m.requests, msg.seq)
	text := errorText(msg.err)

	if msg.op == opLoad {
		if msg.seq != m.loadSeq {
			return nil
		}
		m.loading = false
		m.manualSeq = 0
		m.lastLoadErr = msg.err
		if msg.identity != nil {
			m.identity, m.loggedIn = *msg.identity, true
			m.keys = newKeyMap(m.changeBlockReason())
		}
		if msg.loggedOut {
			m.loggedIn = false
		}
		if client.KindOf(msg.err) == client.KindForbidden {
			m.conn = connConnected
		} else {
			m.conn = connFailed
		}
		m.setStatus(statusError, "Loading sites failed: "+text)
		return nil
	}

	label := ""
	if known {
		label = req.label
	}
	if p, ok := m.pending[msg.id]; ok && p.seq == msg.seq {
		delete(m.pending, msg.id)
		m.rebuildDetail(false)
	}
	if m.dialog != nil && m.dialog.seq == msg.seq {
		m.dialog.fail(text)
		return nil
	}
	what := msg.op.String()
	if label != "" {
		what += " " + label
	}
	m.setStatus(statusError, "Could not "+what+": "+text)
	return nil
}

// errorText returns the message shown for a failed call. Client errors
// already name the call and the fix; the text is sanitised because it may
// quote the backend.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	var ce *client.Error
	if errors.As(err, &ce) && ce.Message != "" && ce.Kind == client.KindConflict {
		return safeText(ce.Message)
	}
	return safeText(err.Error())
}

// changeBlockReason returns why the change keys do nothing, or "": one
// sentence without its full stop (blockSentence completes it).
func (m *Model) changeBlockReason() string {
	if m.opts.ReadOnly {
		if reason := strings.TrimSpace(strings.TrimRight(strings.TrimSpace(m.opts.ReadOnlyReason), ".")); reason != "" {
			return safeText(reason)
		}
		return "this session is read-only"
	}
	switch role := strings.ToLower(m.identity.Role); role {
	case "", "admin":
		return ""
	default:
		return fmt.Sprintf("the %s role cannot change sites: ask a workspace admin", safeText(role))
	}
}

// blockSentence returns a block reason as a complete sentence: capital
// first letter and a full stop.
func blockSentence(reason string) string {
	return upperFirst(reason) + "."
}
