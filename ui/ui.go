// Package ui is the Bubble Tea program that lists, shows, creates, edits,
// enables, disables and deletes the sites of an accsyn workspace.
//
// The root Model owns all state and routing. Panes and dialogs are plain
// types drawn by methods returning strings. Every API call is a tea.Cmd built
// by a method on the Model that returns exactly one result message, and
// Update itself does no I/O.
package ui

import (
	"context"
	"io"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/spinner"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/log/v2"
	"github.com/charmbracelet/colorprofile"

	"accsyn-sites/client"
	"accsyn-sites/model"
	"accsyn-sites/theme"
)

// Backend is the set of accsyn calls the UI makes. *client.Client
// implements it.
type Backend interface {
	Login(ctx context.Context) (client.Identity, error)
	FindSites(ctx context.Context, opt client.FindOptions) ([]model.Site, error)
	CreateSite(ctx context.Context, fields map[string]any) (model.Site, error)
	UpdateSite(ctx context.Context, id model.ID, changes map[string]any) (model.Site, error)
	DeleteSite(ctx context.Context, id model.ID) error
	FindServers(ctx context.Context, siteID model.ID) ([]model.Server, error)
	FindTransfers(ctx context.Context, query string) ([]model.Transfer, error)
}

// Options configure one TUI program.
type Options struct {
	// Backend is the accsyn workspace or the emulator the UI talks to.
	Backend Backend
	// Workspace is the workspace code shown in the header.
	Workspace string
	// Emulator makes the header say that the backend is the local emulator
	// and where its data lives (DataDir).
	Emulator bool
	DataDir  string
	// Refresh is the automatic refresh period; 0 turns it off.
	Refresh time.Duration
	// ReadOnly disables the change keys whatever the user's role, and
	// ReadOnlyReason is the reason shown, for example "this SSH server is read-only".
	ReadOnly       bool
	ReadOnlyReason string
	// Logger receives one entry per change (with site code and id) and per
	// error. Nil discards.
	Logger *log.Logger
	// Now returns the current time for relative times such as "2m ago". Nil
	// means time.Now; tests pin it for stable screens.
	Now func() time.Time
	// CallTimeout bounds each backend call (log in, each find, create,
	// update, delete) through the context the call gets. Zero or less means
	// 15 seconds. Give at least the client's own connect plus response
	// timeout, or the client's timeout never takes effect.
	CallTimeout time.Duration
}

// defaultCallTimeout bounds each API call when Options.CallTimeout is not
// set, so a stalled backend turns into an error line instead of a spinner
// that never stops.
const defaultCallTimeout = 15 * time.Second

// focusArea is the pane that receives movement keys.
type focusArea int

const (
	focusList focusArea = iota
	focusDetail
)

// connState is the header's connection state.
type connState int

const (
	connConnecting connState = iota
	connConnected
	connFailed
)

// Model is the root model of the sites TUI. It implements tea.Model.
type Model struct {
	opts        Options
	backend     Backend
	now         func() time.Time
	logger      *log.Logger
	callTimeout time.Duration

	styles  *theme.Styles
	profile colorprofile.Profile
	width   int
	height  int

	// Session with the backend.
	identity client.Identity
	loggedIn bool
	conn     connState
	loaded   bool // at least one list arrived

	// Data of the last accepted load, and what is derived from it in
	// Update so that View only reads.
	sites         []model.Site
	byID          map[model.ID]int
	serversBySite map[model.ID][]model.Server
	active        []model.Transfer // active transfers only
	allServers    []model.Server

	list   siteList
	focus  focusArea
	detail detailPane

	filter    textinput.Model
	filtering bool // the filter input has focus

	dialog   *formDialog
	confirm  *confirmDialog
	showHelp bool
	keys     keyMap
	help     help.Model

	// Requests in flight, by sequence number. Every result carries its
	// sequence number so that a late result cannot overwrite a newer one.
	seq         uint64
	loadSeq     uint64 // latest load requested
	loading     bool
	requests    map[uint64]request
	pending     map[model.ID]pendingChange
	siteSeq     map[model.ID]uint64 // latest change request per site
	spinner     spinner.Model
	spinning    bool
	refreshGen  uint64
	status      statusLine
	lastLoadErr error
	// manualSeq is the load that "r" requested or joined, 0 when none is
	// awaited. The first load that ends at or after it reports the refresh
	// on the status line.
	manualSeq uint64
	// lastRefresh is when the last load succeeded, by Options.Now; the
	// list pane shows it.
	lastRefresh time.Time
}

// New builds the root model. It makes no call until the program runs Init.
func New(opts Options) *Model {
	m := &Model{
		opts:        opts,
		backend:     opts.Backend,
		now:         opts.Now,
		logger:      opts.Logger,
		callTimeout: opts.CallTimeout,
		requests:    map[uint64]request{},
		pending:     map[model.ID]pendingChange{},
		siteSeq:     map[model.ID]uint64{},
		byID:        map[model.ID]int{},
		profile:     colorprofile.TrueColor,
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.callTimeout <= 0 {
		m.callTimeout = defaultCallTimeout
	}
	if m.logger == nil {
		m.logger = log.New(io.Discard)
	}
	m.filter = textinput.New()
	m.filter.Prompt = "/"
	m.filter.Placeholder = "filter name, code, description"
	m.help = help.New()
	m.spinner = spinner.New(spinner.WithSpinner(spinner.MiniDot))
	m.applyStyles(true)
	m.keys = newKeyMap(m.changeBlockReason())
	return m
}

// Init requests the terminal's background colour and starts the first
// load and the refresh timer.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(
		tea.RequestBackgroundColor,
		m.startLoad(), // also arms the refresh timer
	)
}

// applyStyles rebuilds every style for a dark or light background.
func (m *Model) applyStyles(isDark bool) {
	m.styles = theme.New(isDark)
	m.help.Styles = m.styles.Help
	m.spinner.Style = m.styles.Spinner

	fs := textinput.DefaultStyles(isDark)
	fs.Cursor.Blink = false // a blinking cursor would wake the program while idle
	fs.Focused.Prompt = m.styles.Section
	fs.Blurred.Prompt = m.styles.Dim
	fs.Focused.Text = m.styles.Value
	fs.Blurred.Text = m.styles.Value
	m.filter.SetStyles(fs)

	if m.dialog != nil {
		m.dialog.restyle(m.styles)
	}
	// The detail lines are rendered ahead of time, in the old colours.
	m.rebuildDetail(false)
}
