package ui

import (
	"fmt"
	"reflect"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/huh/v2"

	"accsyn-sites/model"
	"accsyn-sites/theme"
)

// maxIdentInput caps what a name or code field takes. It is far above the
// 32 characters the rules allow, so an over-long paste is kept whole and the
// error states its real length.
const maxIdentInput = 256

// formValues are the texts typed into a site dialog. The form fields write
// into them, so a rebuilt form keeps everything typed.
type formValues struct {
	Name        string
	Code        string
	Description string
	Metadata    string
}

// formDialog is the create or edit dialog: a Huh form plus the backend's
// result for the last submit.
type formDialog struct {
	op      changeOp // opCreate or opEdit
	site    model.Site
	label   string // the edited site as named in messages (Model.siteName)
	builtin bool
	values  *formValues
	form    *huh.Form
	// codeInput is the create dialog's code field, whose description
	// shows the code that will be made from the name.
	codeInput *huh.Input
	codeHint  string

	// liveErr is the first validation error of what is typed now;
	// backendErr is the backend's message for the last submit.
	liveErr    string
	backendErr string
	saving     bool
	seq        uint64

	styles *theme.Styles
	width  int
	height int
}

// redrawFormMsg makes a Huh form rebuild its view after a field changed
// outside of its Update.
type redrawFormMsg struct{}

// dialogMaxWidth keeps dialogs readable on wide terminals.
const dialogMaxWidth = 64

// compactDialogHeight is the terminal height below which dialogs drop
// their field descriptions and blank lines.
const compactDialogHeight = 20

func newCreateDialog(m *Model) *formDialog {
	d := &formDialog{op: opCreate, values: &formValues{}}
	d.build(m)
	return d
}

func newEditDialog(m *Model, site model.Site) *formDialog {
	d := &formDialog{
		op:      opEdit,
		site:    site,
		label:   m.siteName(site),
		builtin: site.Builtin(),
		values: &formValues{
			Name:        site.Name,
			Description: site.Description,
			Metadata:    strings.TrimSuffix(model.FormatMetadata(site.Metadata), "\n"),
		},
	}
	d.build(m)
	return d
}

// build makes a fresh Huh form over the dialog's values, sized to the
// terminal. It is called on open, on resize and after each submit, because
// a submitted Huh form stops taking input.
func (d *formDialog) build(m *Model) tea.Cmd {
	d.styles = m.styles
	v := d.values
	var fields []huh.Field

	// On short terminals the static descriptions go, so that the focused
	// field's input line still fits; the live error line states the rules.
	compact := m.height < compactDialogHeight
	if d.op == opCreate || !d.builtin {
		name := huh.NewInput().
			Key("name").
			Title("Name").
			CharLimit(maxIdentInput).
			Value(&v.Name).
			Validate(model.ValidateName)
		if !compact {
			name = name.Description("1 to 32 characters: A-Z a-z 0-9 _ . -")
		}
		fields = append(fields, name)
	}
	if d.op == opCreate {
		// The hint is set from update, in the event loop: Huh evaluates a
		// DescriptionFunc in a command goroutine, which would race with
		// the typing that changes the values it reads.
		d.codeHint = codeHint(v.Name, v.Code)
		d.codeInput = huh.NewInput().
			Key("code").
			Title("Code (optional)").
			Description(d.codeHint).
			CharLimit(maxIdentInput).
			Value(&v.Code).
			Validate(validateOptionalCode)
		fields = append(fields, d.codeInput)
	}
	fields = append(fields, huh.NewInput().
		Key("description").
		Title("Description").
		Value(&v.Description))
	if d.op == opEdit {
		lines := 4
		if compact {
			lines = 2
		}
		fields = append(fields, huh.NewText().
			Key("metadata").
			Title("Metadata (key = value lines; ctrl+j: new line)").
			Lines(lines).
			ExternalEditor(false).
			Value(&v.Metadata).
			Validate(validateMetadata))
	}

	// The form's own error lines stay off: the dialog shows each problem
	// once, in its own error line (see errorText).
	d.form = huh.NewForm(huh.NewGroup(fields...)).
		WithTheme(m.styles.Form()).
		WithShowHelp(false).
		WithShowErrors(false)
	d.resize(m.width, m.height)
	d.validateLive()
	return d.form.Init()
}

// codeHint describes the code field: the code that will be made from the
// name when the field stays empty. A code is previewed only when the name is
// valid and makes a valid code, so the hint never shows a code that cannot
// exist.
func codeHint(name, code string) string {
	if code != "" {
		return "the site's identifier in the API and in paths"
	}
	if name == "" {
		return "empty: made from the name"
	}
	made := model.CodeFromName(name)
	if model.ValidateName(name) != nil || model.ValidateCode(made) != nil {
		return "empty: made from the name once the name is valid"
	}
	return "empty: the code will be " + safeText(made)
}

func validateOptionalCode(code string) error {
	if code == "" {
		return nil
	}
	return model.ValidateCode(code)
}

func validateMetadata(text string) error {
	_, err := model.ParseMetadata(text)
	return err
}

// validateLive checks every field as typed, so the dialog shows the first
// problem at once instead of after enter.
func (d *formDialog) validateLive() {
	v := d.values
	var err error
	if d.op == opCreate || !d.builtin {
		err = model.ValidateName(v.Name)
		if v.Name == "" {
			err = nil // an empty dialog is not yet an error
		}
	}
	if err == nil && d.op == opCreate {
		err = validateOptionalCode(v.Code)
		if err == nil && v.Code == "" && v.Name != "" {
			err = model.ValidateCode(model.CodeFromName(v.Name))
		}
	}
	if err == nil && d.op == opEdit {
		err = validateMetadata(v.Metadata)
	}
	d.liveErr = ""
	if err != nil {
		d.liveErr = safeText(err.Error())
	}
}

// resize fits the form into the terminal.
func (d *formDialog) resize(width, height int) {
	d.width, d.height = width, height
	inner := d.innerWidth()
	// Around the form are the border (2 lines), the title, a blank line,
	// one note line and room for a two-line error. Compact dialogs drop
	// the blank line and the error room.
	chrome := 7
	if height < compactDialogHeight {
		chrome = 4
	}
	formHeight := max(2, height-chrome)
	d.form = d.form.WithWidth(inner)
	// A size message, unlike WithHeight, lets the form take only the
	// height its fields need, up to formHeight. Past that the form scrolls
	// to keep the focused field visible.
	if updated, _ := d.form.Update(tea.WindowSizeMsg{Width: inner, Height: formHeight}); updated != nil {
		if f, ok := updated.(*huh.Form); ok {
			d.form = f
		}
	}
}

func (d *formDialog) innerWidth() int {
	return max(10, min(dialogMaxWidth, d.width-2)-4)
}

// restyle rebuilds the form's theme after the background colour changed.
func (d *formDialog) restyle(s *theme.Styles) {
	d.styles = s
	d.form = d.form.WithTheme(s.Form())
}

// update passes a message to the form and submits when the form completes.
func (d *formDialog) update(msg tea.Msg, m *Model) tea.Cmd {
	if d.saving {
		if _, isKey := msg.(tea.KeyPressMsg); isKey {
			return nil
		}
		if _, isPaste := msg.(tea.PasteMsg); isPaste {
			return nil
		}
	}
	updated, cmd := d.form.Update(msg)
	if f, ok := updated.(*huh.Form); ok {
		d.form = f
	}
	if _, isKey := msg.(tea.KeyPressMsg); isKey {
		cmd = d.moveFocusNow(cmd)
	}
	if hint := codeHint(d.values.Name, d.values.Code); d.codeInput != nil && hint != d.codeHint {
		d.codeHint = hint
		d.codeInput.Description(hint)
		// A message the fields ignore makes the form redraw its fields.
		if updated, _ := d.form.Update(redrawFormMsg{}); updated != nil {
			d.form = updated.(*huh.Form)
		}
	}
	d.validateLive()
	if d.form.State == huh.StateCompleted && !d.saving {
		return tea.Batch(cmd, d.submit(m))
	}
	return cmd
}

// Code pointers of huh's commands that move the focus to the next or the
// previous field.
var (
	nextFieldCmd = reflect.ValueOf(tea.Cmd(huh.NextField)).Pointer()
	prevFieldCmd = reflect.ValueOf(tea.Cmd(huh.PrevField)).Pointer()
)

// moveFocusNow applies a focus move that a key requested before the next
// key is read. A Huh field returns a command that moves the focus on enter,
// tab or shift+tab, and Bubble Tea runs commands after the keys already
// read. Without this, keys typed right after enter (a pasted burst, or a
// fast typist) land in the field being left. The move runs
// here only when the command is huh.NextField or huh.PrevField itself:
// those only return a message and do no I/O. Any other command is returned
// to run as usual.
//
// NOTE: a move batched with another command stays asynchronous. Huh v2.0.3
// returns it alone for enter, tab and shift+tab, which the burst tests check.
func (d *formDialog) moveFocusNow(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	if p := reflect.ValueOf(cmd).Pointer(); p != nextFieldCmd && p != prevFieldCmd {
		return cmd
	}
	updated, next := d.form.Update(cmd())
	if f, ok := updated.(*huh.Form); ok {
		d.form = f
	}
	return next
}

// submit sends the dialog's values. The form is rebuilt at once so that it
// stays on screen, with everything typed, until the backend's result arrives.
func (d *formDialog) submit(m *Model) tea.Cmd {
	rebuild := d.build(m)
	if d.liveErr != "" {
		return rebuild
	}
	v := d.values
	d.backendErr = ""

	if d.op == opCreate {
		fields := map[string]any{"name": v.Name}
		code := v.Code
		if code != "" {
			fields["code"] = code
		} else {
			code = model.CodeFromName(v.Name)
		}
		if v.Description != "" {
			fields["description"] = v.Description
		}
		seq, cmd := m.createSite(fields, code, safeText(v.Name))
		d.seq, d.saving = seq, true
		return tea.Batch(rebuild, cmd)
	}

	changes := map[string]any{}
	if !d.builtin && v.Name != d.site.Name {
		changes["name"] = v.Name
	}
	if v.Description != d.site.Description {
		changes["description"] = v.Description
	}
	metadata, _ := model.ParseMetadata(v.Metadata)
	if !reflect.DeepEqual(normalizeMetadata(metadata), normalizeMetadata(d.site.Metadata)) {
		changes["metadata"] = metadata
	}
	if len(changes) == 0 {
		m.dialog = nil
		m.setStatus(statusInfo, "No changes to "+d.label)
		return nil
	}
	seq, cmd := m.updateSite(opEdit, d.site, changes)
	d.seq, d.saving = seq, true
	return tea.Batch(rebuild, cmd)
}

// normalizeMetadata makes nil and empty metadata compare equal, and numbers
// compare by the text they are written as.
func normalizeMetadata(md map[string]any) string {
	if len(md) == 0 {
		return ""
	}
	return model.FormatMetadata(md)
}

// fail keeps the dialog open with the backend's message.
func (d *formDialog) fail(text string) {
	d.saving = false
	d.backendErr = text
}

// errorText returns the one validation message the dialog shows: the
// first problem of what is typed, or else the one the form found when
// enter was pressed (an empty name, which is not an error while typing).
func (d *formDialog) errorText() string {
	if d.liveErr != "" {
		return d.liveErr
	}
	if errs := d.form.Errors(); len(errs) > 0 {
		return safeText(errs[0].Error())
	}
	return ""
}

// title returns the dialog's heading.
func (d *formDialog) title() string {
	if d.op == opCreate {
		return "New site"
	}
	t := "Edit " + d.label
	if d.builtin {
		t += " (built-in: the name cannot be changed)"
	}
	return t
}

// view draws the dialog box; the caller places it over the panes.
func (d *formDialog) view(spin string) string {
	s := d.styles
	inner := d.innerWidth()
	var b strings.Builder

	b.WriteString(s.DialogTitle.Render(truncate(d.title(), inner)))
	b.WriteString("\n")
	if d.height >= compactDialogHeight {
		b.WriteString("\n")
	}
	b.WriteString(strings.TrimRight(d.form.View(), "\n"))

	var notes []string
	if text := d.errorText(); text != "" {
		notes = append(notes, s.Error.Render(wrapText("✕ "+text, inner)))
	}
	if d.backendErr != "" {
		notes = append(notes, s.Error.Render(wrapText("✕ "+d.backendErr, inner)))
	}
	switch {
	case d.saving:
		notes = append(notes, s.Spinner.Render(spin)+" "+s.DialogHint.Render("saving…"))
	default:
		notes = append(notes, s.DialogHint.Render(truncate("enter next/save · shift+tab back · esc cancel", inner)))
	}
	b.WriteString("\n")
	b.WriteString(strings.Join(notes, "\n"))

	box := s.Dialog.Width(inner + 4).Render(b.String())
	return fitHeight(box, d.height)
}

// confirmDialog is the question before a destructive or disruptive action. Only "y"
// confirms: enter, "n" and esc cancel, so enter alone never deletes.
type confirmDialog struct {
	question string
	// warnings are shown first, in the warning colour: effects the user may
	// not expect. lines describe what the action does.
	warnings []string
	lines    []string
	yes      string
	siteID   model.ID
	onYes    func(m *Model, site model.Site) tea.Cmd
}

// handleConfirmKey confirms or cancels the open question.
func (m *Model) handleConfirmKey(msg tea.KeyPressMsg) tea.Cmd {
	c := m.confirm
	switch msg.String() {
	case "y", "Y":
		m.confirm = nil
		i, ok := m.byID[c.siteID]
		if !ok {
			m.setStatus(statusError, "The site is no longer in the list: nothing was changed")
			return nil
		}
		return c.onYes(m, m.sites[i])
	case "n", "N", "esc", "enter", "q":
		m.confirm = nil
		m.setStatus(statusInfo, "Cancelled: nothing was changed")
	}
	return nil
}

func (c *confirmDialog) view(s *theme.Styles, width, height int) string {
	inner := max(10, min(dialogMaxWidth, width-2)-4)
	var b strings.Builder
	b.WriteString(s.DialogTitle.Render(wrapText(c.question, inner)))
	b.WriteString("\n")
	for _, l := range c.warnings {
		b.WriteString("\n")
		b.WriteString(s.Warning.Render(wrapText(l, inner)))
	}
	for _, l := range c.lines {
		b.WriteString("\n")
		b.WriteString(s.Value.Render(wrapText(l, inner)))
	}
	b.WriteString("\n\n")
	hint := fmt.Sprintf("y %s · n, enter or esc: cancel", c.yes)
	b.WriteString(s.DialogHint.Render(wrapText(hint, inner)))
	box := s.Dialog.BorderForeground(s.Palette.Warning).Width(inner + 4).Render(b.String())
	return fitHeight(box, height)
}

// closeDialog closes the create or edit dialog. A submit in flight still
// completes and its result shows on the status line.
func (m *Model) closeDialog() {
	switch {
	case m.dialog == nil:
	case m.dialog.saving:
		m.setStatus(statusInfo, "Dialog closed: the save already sent will still finish")
	default:
		m.setStatus(statusInfo, "Cancelled: nothing was changed")
	}
	m.dialog = nil
}

// dialogBox returns the box of the open dialog, if any.
func (m *Model) dialogBox() string {
	switch {
	case m.confirm != nil:
		return m.confirm.view(m.styles, m.width, m.height)
	case m.dialog != nil:
		return m.dialog.view(m.spinner.View())
	}
	return ""
}

// fitHeight cuts a box to at most height lines, keeping its last line (the
// bottom border).
func fitHeight(block string, height int) string {
	lines := strings.Split(block, "\n")
	if height > 1 && len(lines) > height {
		lines = append(lines[:height-1], lines[len(lines)-1])
	} else if height == 1 && len(lines) > 1 {
		lines = lines[:1]
	}
	return strings.Join(lines, "\n")
}
