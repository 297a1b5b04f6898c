package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"accsyn-sites/model"
	"accsyn-sites/theme"
)

// detailPane holds the rendered lines of the selected site and the scroll
// position. The lines are built in Update, when the selection, the data or
// the size changes, so drawing a frame only slices them and finishes the
// relative times of the lines shown.
type detailPane struct {
	siteID model.ID
	lines  []detailLine
	offset int
}

// detailLine is one line of the detail pane. Most lines are finished text.
// A line with a time in since ends in how long ago that was ("2m ago").
// That text depends on the clock when the frame is drawn, so the line keeps
// its label and value apart and render joins them with the relative time.
type detailLine struct {
	text  string // the finished line, or the rendered label when since is set
	value string // the value before the relative time
	width int    // cells the value and the relative time may take
	since time.Time
}

// detailValue is one value line of a field, optionally followed by the
// relative time of since.
type detailValue struct {
	text  string
	since time.Time
}

// render returns the line as drawn at now.
func (l detailLine) render(s *theme.Styles, now time.Time) string {
	if l.since.IsZero() {
		return l.text
	}
	return l.text + truncate(l.value+s.Dim.Render(relativeTime(now, l.since)), l.width)
}

func (d *detailPane) scroll(delta int) {
	d.offset += delta
}

func (d *detailPane) clamp(height int) {
	if maxOffset := len(d.lines) - height; d.offset > maxOffset {
		d.offset = maxOffset
	}
	if d.offset < 0 {
		d.offset = 0
	}
}

// labelWidth is the width of the detail pane's label column.
const labelWidth = 13

// rebuildDetail renders the selected site's attributes for the current
// pane width. resetScroll goes back to the top, for a new selection.
func (m *Model) rebuildDetail(resetScroll bool) {
	site, ok := m.selectedSite()
	if resetScroll || site.ID != m.detail.siteID {
		m.detail.offset = 0
	}
	m.detail.siteID = site.ID
	if !ok {
		m.detail.lines = nil
		return
	}
	w := m.detailInnerWidth()
	m.detail.lines = renderDetail(m, site, w)
	m.detail.clamp(m.detailHeight())
}

// renderDetail returns the detail lines of one site, each at most w cells.
func renderDetail(m *Model, site model.Site, w int) []detailLine {
	s := m.styles
	valueWidth := max(1, w-labelWidth)
	var lines []detailLine

	timedField := func(label string, values ...detailValue) {
		if len(values) == 0 {
			values = []detailValue{{text: s.Dim.Render("—")}}
		}
		for i, v := range values {
			l := ""
			if i == 0 {
				l = label
			}
			labelText := s.Label.Render(fit(l, labelWidth))
			if v.since.IsZero() {
				lines = append(lines, detailLine{text: labelText + truncate(v.text, valueWidth)})
				continue
			}
			lines = append(lines, detailLine{text: labelText, value: v.text, width: valueWidth, since: v.since})
		}
	}
	field := func(label string, values ...string) {
		timed := make([]detailValue, len(values))
		for i, v := range values {
			timed[i] = detailValue{text: v}
		}
		timedField(label, timed...)
	}

	field("name", s.Value.Render(safeText(site.Name)))
	field("code", s.Value.Render(safeText(site.Code)))
	field("id", s.Value.Render(safeText(string(site.ID))))

	state := m.stateOf(site)
	status := s.StateDot(state) + " " + s.Value.Render(state.String())
	if p, ok := m.pending[site.ID]; ok {
		status += " " + s.Pending.Render(progressive(p.op)+"…")
	}
	field("status", status)

	main := s.Value.Render("no")
	if site.Main {
		main = s.Badge.Render(" MAIN ") + s.Value.Render(" new servers register here")
	}
	field("main", main)
	if site.Builtin() {
		field("built-in", s.Value.Render("yes: cannot be deleted, renamed or disabled"))
	}

	var desc []string
	for _, l := range safeLines(site.Description) {
		for _, wl := range strings.Split(wrapText(l, valueWidth), "\n") {
			desc = append(desc, s.Value.Render(wl))
		}
	}
	if strings.TrimSpace(site.Description) == "" {
		desc = nil
	}
	field("description", desc...)

	field("created", s.Value.Render(m.whenBy(site.Created.Time, site.Creator)))
	field("modified", s.Value.Render(m.whenBy(site.Modified.Time, site.Modifier)))

	var meta []string
	for _, l := range strings.Split(strings.TrimSuffix(model.FormatMetadata(site.Metadata), "\n"), "\n") {
		if l != "" {
			meta = append(meta, s.Value.Render(safeText(l)))
		}
	}
	field("metadata", meta...)

	timedField("servers", m.serverLines(s, site.ID)...)
	field("transfers", m.transferLines(s, site.ID)...)
	return lines
}

// whenBy formats "2026-02-12 11:25 by admin@local".
func (m *Model) whenBy(t time.Time, who model.ID) string {
	if t.IsZero() {
		return "—"
	}
	text := t.UTC().Format("2006-01-02 15:04")
	if who != "" {
		text += " by " + m.userName(who)
	}
	return text
}

// userName returns the logged-in user's name for its id. Any other creator
// or modifier is shown as the backend sent it, an id or a name.
func (m *Model) userName(id model.ID) string {
	if id == model.ID(m.identity.UserID) && m.identity.User != "" {
		return safeText(m.identity.User)
	}
	return safeText(string(id))
}

// serverLines returns one line per server at the site. The last check-in
// is left to the draw, as a relative time.
func (m *Model) serverLines(s *theme.Styles, id model.ID) []detailValue {
	servers := append([]model.Server{}, m.serversBySite[id]...)
	sort.Slice(servers, func(i, j int) bool { return servers[i].Code < servers[j].Code })
	var out []detailValue
	for _, srv := range servers {
		head := fmt.Sprintf("%s %s  %s  ",
			s.ServerDot(srv.Status), s.Value.Render(safeText(srv.Code)), s.Label.Render(serverStatusText(srv.Status)))
		if srv.LastCheckin.IsZero() {
			out = append(out, detailValue{text: head + s.Dim.Render("never checked in")})
			continue
		}
		out = append(out, detailValue{text: head, since: srv.LastCheckin.Time})
	}
	return out
}

// serverStatusText returns a server status in the words used for site
// states, such as "disabled · offline" for "disabled-offline".
func serverStatusText(status string) string {
	if status == model.ServerDisabledOffline {
		return model.StateDisabledOffline.String()
	}
	return safeText(status)
}

func (m *Model) transferLines(s *theme.Styles, id model.ID) []string {
	active := m.activeTransfersOf(id)
	if len(active) == 0 {
		return []string{s.Dim.Render("none active")}
	}
	out := []string{s.Value.Render(plural(len(active), "active", "active"))}
	for _, t := range active {
		name := t.Name
		if name == "" {
			name = t.Code
		}
		out = append(out, fmt.Sprintf("%s  %s  %s",
			s.Value.Render(safeText(name)), s.Label.Render(safeText(t.Status)),
			s.Value.Render(fmt.Sprintf("%.0f%%", t.Progress))))
	}
	return out
}

// relativeTime formats how long ago t was: "just now", "42s ago", "2m ago",
// "3h ago", "5d ago".
func relativeTime(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in the future"
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}
