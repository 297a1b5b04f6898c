package ui

import (
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"accsyn-sites/model"
	"accsyn-sites/theme"
)

// Minimum terminal size. Below it the screen shows that it is too small.
const (
	minWidth  = 40
	minHeight = 10
)

// Layout thresholds: panes sit side by side above stackWidth columns, and
// when stacked, both show only with at least stackMinBody lines for them.
const (
	stackWidth   = 80
	stackMinBody = 12
)

// View draws one frame: exactly width cells by height lines.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "accsyn-sites"
	return v
}

// layoutMode is the arrangement of the two panes on the screen.
type layoutMode int

const (
	layoutSide   layoutMode = iota // list left, detail right
	layoutStack                    // list above detail
	layoutSwitch                   // only the focused pane
)

func (m *Model) layout() layoutMode {
	switch {
	case m.width > stackWidth:
		return layoutSide
	case m.bodyHeight() >= stackMinBody:
		return layoutStack
	}
	return layoutSwitch
}

// statusLines returns the status line's height: two lines for a long
// error, so that the backend's message and the advice after it are read in
// full, otherwise one.
func (m *Model) statusLines() int {
	if m.status.kind == statusError && len(m.requests) == 0 && width(m.status.text)+3 > m.width {
		return 2
	}
	return 1
}

// bodyHeight returns the lines left for the panes under the header and
// above the help and status lines.
func (m *Model) bodyHeight() int {
	return max(0, m.height-2-m.statusLines())
}

// paneSizes returns the outer sizes of the list and detail boxes.
func (m *Model) paneSizes() (listW, listH, detailW, detailH int) {
	body := m.bodyHeight()
	switch m.layout() {
	case layoutSide:
		listW = min(max(m.width*2/5, 34), 60)
		return listW, body, m.width - listW, body
	case layoutStack:
		listH = max(5, body*2/5)
		return m.width, listH, m.width, body - listH
	}
	if m.focus == focusDetail {
		return m.width, 0, m.width, body
	}
	return m.width, body, m.width, 0
}

func (m *Model) filterShown() bool {
	return m.filtering || m.list.query != ""
}

// listHeight returns how many rows the list pane shows.
func (m *Model) listHeight() int {
	_, h, _, _ := m.paneSizes()
	h -= 2
	if m.filterShown() {
		h--
	}
	return max(0, h)
}

// detailHeight returns how many lines the detail pane shows.
func (m *Model) detailHeight() int {
	_, _, _, h := m.paneSizes()
	return max(0, h-2)
}

func (m *Model) detailInnerWidth() int {
	_, _, w, _ := m.paneSizes()
	return max(1, w-4)
}

// layoutChanged refits everything that depends on the terminal size.
func (m *Model) layoutChanged() {
	listW, _, _, _ := m.paneSizes()
	m.filter.SetWidth(max(1, listW-4))
	m.help.SetWidth(max(0, m.width-2))
	m.list.scrollTo(m.listHeight())
	m.rebuildDetail(false)
	if m.dialog != nil {
		m.dialog.resize(m.width, m.height)
	}
}

// render builds the frame as a string.
func (m *Model) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	if m.tooSmall() {
		return m.renderTooSmall()
	}

	// Measure.
	listW, listH, detailW, detailH := m.paneSizes()

	// Draw the panes.
	var body string
	list := m.renderList(listW, listH)
	detail := m.renderDetail(detailW, detailH)
	switch m.layout() {
	case layoutSide:
		body = lipgloss.JoinHorizontal(lipgloss.Top, list, detail)
	case layoutStack:
		body = list + "\n" + detail
	default:
		if listH > 0 {
			body = list
		} else {
			body = detail
		}
	}
	frame := m.renderHeader() + "\n" + body + "\n" + m.renderFooter()
	frame = fitFrame(frame, m.width, m.height)

	// Draw the top dialog over the panes.
	box := m.dialogBox()
	if m.showHelp {
		box = m.renderHelp()
	}
	if box != "" {
		frame = m.overlay(frame, box)
	}
	return frame
}

// overlay composes a dialog box over the centre of the frame.
func (m *Model) overlay(frame, box string) string {
	bw, bh := lipgloss.Width(box), lipgloss.Height(box)
	x := max(0, (m.width-bw)/2)
	y := max(0, (m.height-bh)/2)
	comp := lipgloss.NewCompositor(
		lipgloss.NewLayer(frame),
		lipgloss.NewLayer(box).X(x).Y(y).Z(1),
	)
	return fitFrame(comp.Render(), m.width, m.height)
}

// tooSmall reports whether the terminal is too small to draw the screen or
// its size is not known yet. Keys other than quit do nothing then.
func (m *Model) tooSmall() bool {
	return m.width < minWidth || m.height < minHeight
}

func (m *Model) renderTooSmall() string {
	msg := fmt.Sprintf("Terminal too small: %dx%d. Make it at least %dx%d. q quits.", m.width, m.height, minWidth, minHeight)
	return fitFrame(m.styles.Warning.Render(wrapText(msg, m.width)), m.width, m.height)
}

// minHeaderPath is the fewest cells the data path is shown in; below that
// the header says only "(emulator)".
const minHeaderPath = 12

// renderHeader draws the app, workspace, user and connection state. When
// the line is short, parts are dropped in this order: the data path (first
// cut from the left), the app name, "(emulator)" and the workspace. The user
// and role and the connection state stay longest. A
// space always separates the state from what is left of it.
func (m *Model) renderHeader() string {
	s := m.styles
	var state string
	switch m.conn {
	case connConnected:
		state = s.Success.Render("● connected")
	case connFailed:
		state = s.Error.Render("✕ error")
	default:
		state = s.HeaderDim.Render("◌ connecting")
	}
	// One leading space, at least one space before the state, one after.
	room := m.width - width(state) - 3

	ws := m.opts.Workspace
	if ws == "" {
		ws = m.identity.Workspace
	}
	var user string
	if m.identity.User != "" {
		user = s.HeaderText.Render(safeText(m.identity.User)) + " " + s.HeaderDim.Render("["+safeText(m.identity.Role)+"]")
	}
	path := safeText(m.opts.DataDir)
	pathShown := m.opts.Emulator && path != ""

	// line joins the parts kept. emulator is what follows the workspace:
	// "" for nothing, otherwise "(emulator)" or "(emulator: path)".
	line := func(app, workspace bool, emulator string) string {
		var parts []string
		if app {
			parts = append(parts, s.App.Render("accsyn-sites"))
		}
		if workspace && ws != "" {
			w := s.HeaderText.Render("workspace " + safeText(ws))
			if emulator != "" {
				w += " " + s.Warning.Render(emulator)
			}
			parts = append(parts, w)
		} else if emulator != "" {
			parts = append(parts, s.Warning.Render("(emulator)"))
		}
		if user != "" {
			parts = append(parts, user)
		}
		return strings.Join(parts, s.HeaderDim.Render(" · "))
	}
	withPath := func(p string) string { return "(emulator: " + p + ")" }

	emu := ""
	if m.opts.Emulator {
		emu = "(emulator)"
	}
	var left string
	switch {
	case pathShown && width(line(true, true, withPath(path))) <= room:
		left = line(true, true, withPath(path))
	case pathShown && room-width(line(true, true, withPath(""))) >= minHeaderPath:
		// Cut the path from the left: its end names the directory.
		keep := room - width(line(true, true, withPath("")))
		left = line(true, true, withPath(ansi.TruncateLeft(path, width(path)-keep+1, "…")))
	case width(line(true, true, emu)) <= room:
		left = line(true, true, emu)
	case width(line(false, true, emu)) <= room:
		left = line(false, true, emu)
	case width(line(false, true, "")) <= room:
		left = line(false, true, "")
	case user != "":
		left = fit(line(false, false, ""), max(0, room))
	default:
		left = fit(line(false, true, ""), max(0, room))
	}
	gap := max(1, m.width-2-width(left)-width(state))
	return " " + left + strings.Repeat(" ", gap) + state + " "
}

// shortHelpLine renders the footer's key help. When it is too wide, keys
// are dropped from the middle so that "? help" and "q quit" always show.
func (m *Model) shortHelpLine() string {
	bindings := m.keys.ShortHelp()
	line := m.help.ShortHelpView(bindings)
	for len(bindings) > 3 && (strings.HasSuffix(ansi.Strip(line), "…") || width(line) > m.width-2) {
		keep := len(bindings) - 2
		bindings = append(bindings[:keep-1:keep-1], bindings[keep:]...)
		line = m.help.ShortHelpView(bindings)
	}
	return line
}

// renderFooter draws the key help and the status line.
func (m *Model) renderFooter() string {
	s := m.styles
	var helpLine string
	if m.filtering {
		helpLine = s.Help.ShortKey.Render("enter") + " " + s.Help.ShortDesc.Render("keep filter") +
			s.Help.ShortSeparator.Render(" • ") + s.Help.ShortKey.Render("esc") + " " + s.Help.ShortDesc.Render("clear") +
			s.Help.ShortSeparator.Render(" • ") + s.Help.ShortKey.Render("↑/↓") + " " + s.Help.ShortDesc.Render("move")
	} else {
		helpLine = m.shortHelpLine()
	}

	var status string
	text := m.status.text
	if len(m.requests) > 0 {
		if text == "" || m.status.kind != statusInfo {
			text = "Loading sites…"
			if !m.loading {
				text = "Working…"
			}
		}
		status = s.Spinner.Render(m.spinner.View()) + " " + s.Value.Render(text)
	} else {
		switch m.status.kind {
		case statusError:
			lines := strings.SplitN(wrapText("✕ "+text, max(1, m.width-2)), "\n", 3)
			if len(lines) > 2 {
				lines = lines[:2]
				lines[1] = truncate(lines[1]+" …", max(1, m.width-2))
			}
			for i, l := range lines {
				lines[i] = s.Error.Render(l)
			}
			status = strings.Join(lines, "\n ")
		case statusSuccess:
			status = s.Success.Render("✓ " + text)
		default:
			status = s.HeaderDim.Render(text)
		}
	}
	return " " + helpLine + "\n " + status
}

// paneBox draws a box of exactly w by h cells with a title in the top
// border and an optional note in the bottom border. Each content line is cut
// or padded to the inner width. The focused pane has a heavy border, not
// only another colour, so focus shows on a monochrome screen too.
func paneBox(s *theme.Styles, focused bool, title, note string, lines []string, w, h int, padding int) string {
	if w < 2 || h < 2 {
		return ""
	}
	border := s.Pane
	chars := paneBorder
	if focused {
		border = s.PaneFocused
		chars = paneBorderFocused
	}
	bs := lipgloss.NewStyle().Foreground(border.GetBorderTopForeground())
	inner := w - 2

	titleText := ""
	if title != "" && inner > 4 {
		titleText = " " + truncate(title, inner-3) + " "
	}
	top := bs.Render(chars.topLeft) + s.PaneTitle.Render(titleText) +
		bs.Render(strings.Repeat(chars.horizontal, max(0, inner-width(titleText)))+chars.topRight)

	var b strings.Builder
	b.WriteString(top)
	pad := strings.Repeat(" ", padding)
	side := bs.Render(chars.vertical)
	for i := 0; i < h-2; i++ {
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		b.WriteString("\n")
		b.WriteString(side + pad + fit(line, inner-2*padding) + pad + side)
	}

	// The note sits at the right of the bottom border, when it fits with
	// room to spare for the corner lines.
	noteText := ""
	if note != "" && width(note)+4 <= inner {
		noteText = " " + note + " "
	}
	b.WriteString("\n" + bs.Render(chars.bottomLeft+strings.Repeat(chars.horizontal, inner-width(noteText)-min(1, len(noteText)))))
	if noteText != "" {
		b.WriteString(s.Dim.Render(noteText) + bs.Render(chars.horizontal))
	}
	b.WriteString(bs.Render(chars.bottomRight))
	return b.String()
}

// boxChars are the characters of a pane's border.
type boxChars struct {
	topLeft, topRight, bottomLeft, bottomRight, horizontal, vertical string
}

var (
	paneBorder        = boxChars{"╭", "╮", "╰", "╯", "─", "│"}
	paneBorderFocused = boxChars{"┏", "┓", "┗", "┛", "━", "┃"}
)

// paneFocused reports whether the pane has the focus, which no pane has
// under a dialog or the help.
func (m *Model) paneFocused(pane focusArea) bool {
	return m.focus == pane && m.dialog == nil && m.confirm == nil && !m.showHelp
}

// renderList draws the list pane: only the rows that fit are rendered.
func (m *Model) renderList(w, h int) string {
	if h <= 0 {
		return ""
	}
	s := m.styles
	shown, total := m.shownCounts()
	title := fmt.Sprintf("Sites (%d of %d)", shown, total)
	if m.list.sortBy != sortName {
		title += " by " + m.list.sortBy.String()
	}

	inner := w - 2
	var lines []string
	if m.filterShown() {
		lines = append(lines, m.filter.View())
	}
	rows := m.listHeight()
	switch {
	case !m.loaded && len(m.sites) == 0:
		if m.lastLoadErr != nil {
			lines = append(lines, s.Dim.Render(" No sites loaded: see the error below"))
		} else {
			lines = append(lines, s.Dim.Render(" Loading sites…"))
		}
	case len(m.list.rows) == 0 && m.list.query != "":
		lines = append(lines, s.Dim.Render(fmt.Sprintf(" No match for %q (esc clears)", safeText(m.list.query))))
	case len(m.list.rows) == 0:
		lines = append(lines, s.Dim.Render(" No sites to show: n creates one, a shows built-ins"))
	default:
		// Update keeps the offset right for the current size; this only
		// guards the frame drawn before it had a chance to.
		offset := m.list.offset
		if m.list.cursor >= offset+rows {
			offset = m.list.cursor - rows + 1
		}
		end := min(len(m.list.rows), offset+rows)
		for r := max(0, offset); r < end; r++ {
			lines = append(lines, m.renderRow(r, inner))
		}
	}
	note := ""
	if !m.lastRefresh.IsZero() {
		note = "updated " + m.lastRefresh.Format(time.TimeOnly)
	}
	return paneBox(s, m.paneFocused(focusList), title, note, lines, w, h, 0)
}

// renderRow draws one site row, exactly w cells wide.
func (m *Model) renderRow(r, w int) string {
	s := m.styles
	site := m.sites[m.list.rows[r]]
	selected := r == m.list.cursor

	// The marker's shape, not only its colour, shows whether the list has
	// focus, so a monochrome screen shows it too.
	marker := "  "
	switch {
	case selected && m.focus == focusList:
		marker = "▸ "
	case selected:
		marker = "▹ "
	}
	state := m.stateOf(site)
	dot := s.StateDot(state)

	right := plural(len(m.serversBySite[site.ID]), "server", "servers")
	pending, isPending := m.pending[site.ID]
	if isPending {
		right = m.spinner.View() + " " + progressive(pending.op) + "…"
	}
	rightW := 12
	badge := ""
	if site.Main {
		badge = " MAIN "
	}
	nameW := w - 4 - rightW - width(badge) - 1
	if nameW < 8 {
		rightW, nameW = 0, w-4-width(badge)
	}
	name := fit(safeText(site.Name), max(0, nameW))
	rightText := ""
	if rightW > 0 {
		rightText = " " + fitRight(right, rightW)
	}

	rowStyle := s.Row
	if selected {
		rowStyle = s.RowSelected
		if m.focus != focusList {
			rowStyle = s.RowSelectedBlurred
		}
	}
	badgeText := ""
	if badge != "" {
		badgeText = s.Badge.Render(badge)
	}
	rightStyle := s.Count
	if isPending {
		rightStyle = s.Pending
	}
	if selected {
		rightStyle = rowStyle
	}
	if selected {
		// The dot keeps its state colour on the selection background, so
		// the highlight runs across the whole row. Without colours the dot
		// takes the row's style: a colour-only change between cells,
		// downsampled to no colour, becomes a reset that would drop the
		// bold of the rest of the row under a dialog.
		dotStyle := rowStyle
		if m.profile > colorprofile.ASCII {
			dotStyle = rowStyle.Foreground(s.StateColor(state))
		}
		dot = dotStyle.Render(theme.StateSymbol(state))
	}
	line := rowStyle.Render(marker) + dot + rowStyle.Render(" "+name) + badgeText + rightStyle.Render(rightText)
	return fit(line, w)
}

// renderDetail draws the detail pane from the lines built in Update.
// Relative times are computed at draw time, for the shown lines only.
func (m *Model) renderDetail(w, h int) string {
	if h <= 0 {
		return ""
	}
	title := "No site selected"
	if site, ok := m.selectedSite(); ok {
		title = safeText(site.Name)
	}
	inner := h - 2
	var shown []detailLine
	if m.detail.offset < len(m.detail.lines) {
		shown = m.detail.lines[m.detail.offset:]
	}
	if len(shown) > inner {
		shown = shown[:inner]
	}
	// Relative times follow the clock of this frame, not of the last rebuild.
	now := m.now()
	lines := make([]string, len(shown))
	for i, l := range shown {
		lines[i] = l.render(m.styles, now)
	}
	if len(m.detail.lines) > inner && inner > 0 {
		title += fmt.Sprintf(" · %d/%d", m.detail.offset+1, len(m.detail.lines))
	}
	return paneBox(m.styles, m.paneFocused(focusDetail), title, "", lines, w, h, 1)
}

// renderHelp draws the full key help as a dialog.
func (m *Model) renderHelp() string {
	s := m.styles
	inner := max(10, min(76, m.width-2)-4)
	h := m.help
	h.SetWidth(inner)
	var b strings.Builder
	b.WriteString(s.DialogTitle.Render("Keys"))
	b.WriteString("\n\n")
	b.WriteString(h.FullHelpView(m.keys.FullHelp()))
	b.WriteString("\n\n")
	b.WriteString(m.renderLegend(inner))
	if reason := m.keys.blockReason; reason != "" {
		b.WriteString("\n\n")
		b.WriteString(s.Warning.Render(wrapText("Change keys are disabled. "+blockSentence(reason), inner)))
	}
	b.WriteString("\n\n")
	b.WriteString(s.DialogHint.Render("In dialogs: enter next/save, shift+tab back, esc cancel. esc or ? closes this help."))
	box := s.Dialog.Width(inner + 4).Render(wrapBlock(b.String(), inner))
	return fitHeight(box, m.height)
}

// renderLegend explains the state symbols of sites and servers: two
// columns when they fit in w cells, else one.
func (m *Model) renderLegend(w int) string {
	s := m.styles
	const column = 24
	lines := []string{s.Help.FullKey.Render("States of sites and servers")}
	perLine := 1
	if w >= 2*column {
		perLine = 2
	}
	states := []model.SiteState{model.StateOnline, model.StateOffline, model.StateDisabled, model.StateDisabledOffline}
	for i := 0; i < len(states); i += perLine {
		var line string
		for j, state := range states[i:min(i+perLine, len(states))] {
			entry := s.StateDot(state) + " " + s.Help.FullDesc.Render(state.String())
			if j < perLine-1 {
				entry = fit(entry, column)
			}
			line += entry
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// wrapBlock wraps each line of an already styled block to w cells.
func wrapBlock(block string, w int) string {
	lines := strings.Split(block, "\n")
	for i, l := range lines {
		if width(l) > w {
			lines[i] = wrapText(l, w)
		}
	}
	return strings.Join(lines, "\n")
}
