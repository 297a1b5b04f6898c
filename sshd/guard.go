package sshd

import (
	"reflect"
	"runtime/debug"

	tea "charm.land/bubbletea/v2"
)

// guardedModel runs a session's UI and turns a panic in its Init, Update,
// View or commands into a logged error and a clean end of that session. The
// program's own panic catching would also contain it, but it writes the
// stack to the server's stderr without the session's user and key, and it
// kills the program without restoring the client's terminal.
type guardedModel struct {
	inner tea.Model
	sess  *session
	// failed is set after a panic in Init, Update or View. The inner model
	// is not called again, so a View that panics on every frame logs once.
	failed bool
}

// panickedMsg reports a panic recovered in a command.
type panickedMsg struct{}

func (m *guardedModel) Init() (cmd tea.Cmd) {
	defer m.recoverInto(&cmd)
	return m.wrap(m.inner.Init())
}

func (m *guardedModel) Update(msg tea.Msg) (model tea.Model, cmd tea.Cmd) {
	if _, ok := msg.(panickedMsg); ok || m.failed {
		return m, tea.Quit
	}
	// The model must be m even when Update panics.
	model = m
	defer m.recoverInto(&cmd)
	inner, cmd := m.inner.Update(msg)
	m.inner = inner
	return m, m.wrap(cmd)
}

func (m *guardedModel) View() (view tea.View) {
	if m.failed {
		return tea.NewView("")
	}
	defer func() {
		if r := recover(); r != nil {
			m.failed = true
			m.logPanic("View", r)
			// View cannot return a command, so ending the session
			// quits the program from outside.
			m.sess.end(endPanic)
			view = tea.NewView("")
		}
	}()
	return m.inner.View()
}

// recoverInto replaces the command of a panicking Init or Update with Quit.
func (m *guardedModel) recoverInto(cmd *tea.Cmd) {
	if r := recover(); r != nil {
		m.failed = true
		m.logPanic("Update", r)
		m.sess.end(endPanic)
		*cmd = tea.Quit
	}
}

func (m *guardedModel) logPanic(where string, r any) {
	m.sess.log.Error("panic in the UI", "in", where, "panic", r, "stack", string(debug.Stack()))
}

// cmdType is the type of tea.Cmd, used to find the commands inside batch
// and sequence messages.
var cmdType = reflect.TypeFor[tea.Cmd]()

// wrap returns cmd with a recover around it. The commands inside a batch or
// sequence message are wrapped too, because the program runs those itself.
// Sequences have an unexported type, so they are found by reflection as any
// slice of tea.Cmd.
func (m *guardedModel) wrap(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				m.logPanic("command", r)
				m.sess.end(endPanic)
				msg = panickedMsg{}
			}
		}()
		msg = cmd()
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == cmdType {
			for i := range v.Len() {
				inner, _ := v.Index(i).Interface().(tea.Cmd)
				v.Index(i).Set(reflect.ValueOf(m.wrap(inner)))
			}
		}
		return msg
	}
}
