package ui

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"accsyn-sites/model"
)

// statusKind colours the status line.
type statusKind int

const (
	statusInfo statusKind = iota
	statusSuccess
	statusError
)

// statusLine is the footer's result line.
type statusLine struct {
	kind statusKind
	text string
}

func (m *Model) setStatus(kind statusKind, text string) {
	before := m.statusLines()
	m.status = statusLine{kind: kind, text: text}
	if m.statusLines() != before {
		m.layoutChanged()
	}
}

// clearStatus drops the previous result from the status line when a new
// action starts. A failed load stays, because it describes the connection
// rather than an action and the list pane refers to it.
func (m *Model) clearStatus() {
	if m.lastLoadErr != nil {
		m.setStatus(statusError, "Loading sites failed: "+errorText(m.lastLoadErr))
		return
	}
	m.setStatus(statusInfo, "")
}

// siteName names a site in messages as the user knows it: by its name,
// followed by its code when another site has the same name. A site without
// a name is named by its code.
func (m *Model) siteName(site model.Site) string {
	if strings.TrimSpace(site.Name) == "" {
		return safeText(site.Code)
	}
	name := safeText(site.Name)
	for _, other := range m.sites {
		if other.ID != site.ID && strings.EqualFold(other.Name, site.Name) {
			return name + " (" + safeText(site.Code) + ")"
		}
	}
	return name
}

// blocked reports, on the status line, why a change key does nothing.
func (m *Model) blocked() bool {
	if reason := m.changeBlockReason(); reason != "" {
		m.setStatus(statusError, blockSentence(reason))
		return true
	}
	return false
}

// selectedOrSay returns the selected site, or reports on the status line
// that there is none.
func (m *Model) selectedOrSay() (model.Site, bool) {
	site, ok := m.selectedSite()
	if !ok {
		m.setStatus(statusInfo, "No site selected: the list is empty")
	}
	return site, ok
}

func (m *Model) openCreate() tea.Cmd {
	if m.blocked() {
		return nil
	}
	m.dialog = newCreateDialog(m)
	return m.dialog.form.Init()
}

func (m *Model) openEdit() tea.Cmd {
	if m.blocked() {
		return nil
	}
	site, ok := m.selectedOrSay()
	if !ok {
		return nil
	}
	m.dialog = newEditDialog(m, site)
	return m.dialog.form.Init()
}

// shownStatus returns the site's status as the user sees it, counting a
// pending change as done.
func (m *Model) shownStatus(site model.Site) string {
	if p, ok := m.pending[site.ID]; ok {
		return p.status
	}
	if site.Enabled() {
		return model.StatusEnabled
	}
	return model.StatusDisabled
}

// toggleStatus enables or disables the selected site, asking first when
// disabling cuts something off.
func (m *Model) toggleStatus() tea.Cmd {
	if m.blocked() {
		return nil
	}
	site, ok := m.selectedOrSay()
	if !ok {
		return nil
	}
	name := m.siteName(site)
	if p, busy := m.pending[site.ID]; busy {
		m.setStatus(statusInfo, fmt.Sprintf("Already %s %s: waiting for the backend", progressive(p.op), name))
		return nil
	}
	if m.shownStatus(site) == model.StatusDisabled {
		return m.setSiteStatus(site, model.StatusEnabled)
	}
	if site.Builtin() {
		m.setStatus(statusError, name+" is a built-in site: it cannot be disabled")
		return nil
	}

	var consequences []string
	if site.Main {
		consequences = append(consequences, name+" is the main site: new servers register there.")
	}
	if active := m.activeTransfersOf(site.ID); len(active) > 0 {
		consequences = append(consequences, describeCutOff(active))
	}
	if len(consequences) == 0 {
		return m.setSiteStatus(site, model.StatusDisabled)
	}
	m.confirm = &confirmDialog{
		question: "Disable " + name + "?",
		lines:    append(consequences, "Jobs involving "+name+" stop until it is enabled again."),
		yes:      "disable",
		siteID:   site.ID,
		onYes: func(m *Model, site model.Site) tea.Cmd {
			return m.setSiteStatus(site, model.StatusDisabled)
		},
	}
	return nil
}

// describeCutOff describes which active transfers disabling will cut off, for
// example "2 running transfers will be cut off".
func describeCutOff(active []model.Transfer) string {
	byStatus := map[string]int{}
	for _, t := range active {
		byStatus[t.Status]++
	}
	noun := "transfers"
	if len(active) == 1 {
		noun = "transfer"
	}
	if len(byStatus) == 1 {
		return fmt.Sprintf("%d %s %s will be cut off.", len(active), safeText(active[0].Status), noun)
	}
	statuses := make([]string, 0, len(byStatus))
	for s := range byStatus {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	parts := make([]string, 0, len(statuses))
	for _, s := range statuses {
		parts = append(parts, fmt.Sprintf("%d %s", byStatus[s], safeText(s)))
	}
	return fmt.Sprintf("%d active %s (%s) will be cut off.", len(active), noun, strings.Join(parts, ", "))
}

// setSiteStatus sends the explicit new status and shows it on the row at
// once. A refusal puts the row back.
func (m *Model) setSiteStatus(site model.Site, status string) tea.Cmd {
	op := opEnable
	if status == model.StatusDisabled {
		op = opDisable
	}
	seq, cmd := m.updateSite(op, site, map[string]any{"status": status})
	m.pending[site.ID] = pendingChange{seq: seq, op: op, status: status}
	m.rebuildDetail(false)
	m.setStatus(statusInfo, upperFirst(progressive(op))+" "+m.siteName(site)+"…")
	return cmd
}

// progressive returns the -ing form of a status change.
func progressive(op changeOp) string {
	if op == opDisable {
		return "disabling"
	}
	return "enabling"
}

// askMakeMain opens the question before moving the main flag to the
// selected site.
func (m *Model) askMakeMain() tea.Cmd {
	if m.blocked() {
		return nil
	}
	site, ok := m.selectedOrSay()
	if !ok {
		return nil
	}
	name := m.siteName(site)
	if site.Main {
		m.setStatus(statusInfo, name+" is already the main site")
		return nil
	}
	// The emulator accepts a disabled or a built-in site as the main site,
	// so the question warns instead of rejecting the key.
	var warnings []string
	if site.Builtin() {
		warnings = append(warnings, name+" is a built-in site: new servers would register at a built-in site, not at one of your own sites.")
	}
	if m.shownStatus(site) == model.StatusDisabled {
		warnings = append(warnings, name+" is disabled: new servers would register at a disabled site.")
	}
	var lines []string
	for _, s := range m.sites {
		if s.Main {
			lines = append(lines, m.siteName(s)+" stops being the main site.")
			break
		}
	}
	lines = append(lines, "New servers will register at "+name+".")
	m.confirm = &confirmDialog{
		question: "Make " + name + " the main site?",
		warnings: warnings,
		lines:    lines,
		yes:      "make main",
		siteID:   site.ID,
		onYes: func(m *Model, site model.Site) tea.Cmd {
			_, cmd := m.updateSite(opMakeMain, site, map[string]any{"main": true})
			m.setStatus(statusInfo, "Making "+m.siteName(site)+" the main site…")
			return cmd
		},
	}
	return nil
}

// askDelete explains why the selected site cannot be deleted, or opens
// the question before deleting it.
func (m *Model) askDelete() tea.Cmd {
	if m.blocked() {
		return nil
	}
	site, ok := m.selectedOrSay()
	if !ok {
		return nil
	}
	if reason := m.deleteRefusal(site); reason != "" {
		m.setStatus(statusError, reason)
		return nil
	}
	code := safeText(site.Code)
	m.confirm = &confirmDialog{
		question: "Delete " + m.siteName(site) + "?",
		lines:    []string{"The site is archived and leaves the site list. Paths naming site=" + code + " stop working."},
		yes:      "delete",
		siteID:   site.ID,
		onYes: func(m *Model, site model.Site) tea.Cmd {
			if reason := m.deleteRefusal(site); reason != "" {
				m.setStatus(statusError, reason)
				return nil
			}
			_, cmd := m.deleteSite(site)
			m.setStatus(statusInfo, "Deleting "+m.siteName(site)+"…")
			return cmd
		},
	}
	return nil
}

// deleteRefusal returns why the backend would refuse to delete the site,
// by the workspace rules, or "".
func (m *Model) deleteRefusal(site model.Site) string {
	code := m.siteName(site)
	if site.Builtin() {
		return code + " is a built-in site: it cannot be deleted"
	}
	if site.Main {
		return code + " is the main site: make another site main (m) before deleting it"
	}
	if n := len(m.serversBySite[site.ID]); n > 0 {
		return fmt.Sprintf("%s has %s assigned: move %s to another site first", code, plural(n, "server", "servers"), pick(n, "it", "them"))
	}
	if n := len(m.activeTransfersOf(site.ID)); n > 0 {
		return fmt.Sprintf("%s is involved in %s: wait for %s to finish or abort %s first",
			code, plural(n, "active transfer", "active transfers"), pick(n, "it", "them"), pick(n, "it", "them"))
	}
	return ""
}

// copyID copies the selected site's id with OSC 52, which also works over
// SSH.
func (m *Model) copyID() tea.Cmd {
	site, ok := m.selectedOrSay()
	if !ok {
		return nil
	}
	m.setStatus(statusSuccess, fmt.Sprintf("Copied the id of %s to the clipboard: %s", m.siteName(site), safeText(string(site.ID))))
	return tea.SetClipboard(string(site.ID))
}

func plural(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, pick(n, one, many))
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// upperFirst returns s with its first letter in upper case.
func upperFirst(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}
