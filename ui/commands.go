package ui

import (
	"cmp"
	"context"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/log/v2"

	"accsyn-sites/client"
	"accsyn-sites/model"
)

// changeOp names an API call in logs, status lines and result messages.
type changeOp int

const (
	opLoad changeOp = iota
	opCreate
	opEdit
	opEnable
	opDisable
	opMakeMain
	opDelete
)

// String returns the verb of the operation, as used in messages.
func (o changeOp) String() string {
	switch o {
	case opCreate:
		return "create"
	case opEdit:
		return "edit"
	case opEnable:
		return "enable"
	case opDisable:
		return "disable"
	case opMakeMain:
		return "make main"
	case opDelete:
		return "delete"
	}
	return "load"
}

// request is one API call in flight.
type request struct {
	op   changeOp
	id   model.ID
	code string
	// label names the site in messages, as the user knows it (siteName).
	label string
}

// pendingChange is a status change shown on its row before the backend's
// result arrives.
type pendingChange struct {
	seq    uint64
	op     changeOp
	status string
}

// sitesLoadedMsg carries a complete load: the sites, every server and the
// active transfers.
type sitesLoadedMsg struct {
	seq       uint64
	identity  client.Identity
	loggedIn  bool
	sites     []model.Site
	servers   []model.Server
	transfers []model.Transfer
}

// siteSavedMsg reports a created or changed site as the backend returned it.
type siteSavedMsg struct {
	seq  uint64
	op   changeOp
	id   model.ID
	site model.Site
}

// siteDeletedMsg reports a deleted site.
type siteDeletedMsg struct {
	seq   uint64
	id    model.ID
	code  string
	label string
}

// apiFailedMsg reports a failed call of any kind.
type apiFailedMsg struct {
	seq uint64
	op  changeOp
	id  model.ID
	err error
	// identity is set when a load failed after a successful login, so
	// the header still shows who is logged in.
	identity *client.Identity
	// loggedOut is set when a load failed in a way that calls for a new
	// login on the next attempt.
	loggedOut bool
}

// refreshTickMsg fires the automatic refresh.
type refreshTickMsg struct{ gen uint64 }

// activeTransfersQuery selects the transfers that still run or may run.
const activeTransfersQuery = "status not in (done,aborted)"

// nextSeq returns a fresh request sequence number and records the request.
func (m *Model) nextSeq(r request) uint64 {
	m.seq++
	m.requests[m.seq] = r
	return m.seq
}

// startLoad returns the command that logs in when needed and loads sites,
// servers and transfers, plus the spinner when it was not running. It also
// arms the refresh timer again, so the automatic refresh comes one period
// after the last load, whatever started it: a change's reload is not
// followed at once by another full load.
func (m *Model) startLoad() tea.Cmd {
	if m.backend == nil {
		return nil
	}
	seq := m.nextSeq(request{op: opLoad})
	m.loadSeq = seq
	m.loading = true
	backend := m.backend
	identity, loggedIn := m.identity, m.loggedIn
	calls := m.callContexts()
	logger := m.logger
	load := func() tea.Msg {
		if !loggedIn {
			ctx, cancel := calls()
			id, err := backend.Login(ctx)
			cancel()
			if err != nil {
				logLoadFailed(logger, err)
				return apiFailedMsg{seq: seq, op: opLoad, err: err, loggedOut: true}
			}
			identity, loggedIn = id, true
		}
		failed := func(err error) tea.Msg {
			logLoadFailed(logger, err)
			return apiFailedMsg{seq: seq, op: opLoad, err: err, identity: &identity, loggedOut: needsLogin(err)}
		}

		ctx, cancel := calls()
		sites, err := backend.FindSites(ctx, client.FindOptions{})
		cancel()
		if err != nil {
			return failed(err)
		}
		ctx, cancel = calls()
		servers, err := backend.FindServers(ctx, "")
		cancel()
		if err != nil {
			return failed(err)
		}
		ctx, cancel = calls()
		transfers, err := backend.FindTransfers(ctx, activeTransfersQuery)
		cancel()
		if err != nil {
			return failed(err)
		}
		return sitesLoadedMsg{seq: seq, identity: identity, loggedIn: loggedIn,
			sites: sites, servers: servers, transfers: transfers}
	}
	return tea.Batch(load, m.startSpinner(), m.scheduleRefresh())
}

// callContexts returns a function that makes the context of one backend
// call, bounded by the call timeout. Commands use it from their own
// goroutine, so it holds a copy of the timeout, not the model.
func (m *Model) callContexts() func() (context.Context, context.CancelFunc) {
	timeout := m.callTimeout
	return func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), timeout)
	}
}

// needsLogin reports whether a failed call should be followed by a new
// login: the backend was gone or rejected the session.
func needsLogin(err error) bool {
	switch client.KindOf(err) {
	case client.KindUnreachable, client.KindTimeout, client.KindAuth:
		return true
	}
	return false
}

// createSite returns the command that creates a site.
func (m *Model) createSite(fields map[string]any, code, label string) (uint64, tea.Cmd) {
	seq := m.nextSeq(request{op: opCreate, code: code, label: label})
	backend := m.backend
	calls := m.callContexts()
	logger := m.logger
	call := func() tea.Msg {
		ctx, cancel := calls()
		defer cancel()
		site, err := backend.CreateSite(ctx, fields)
		if err != nil {
			logChangeFailed(logger, opCreate, code, "", err)
			return apiFailedMsg{seq: seq, op: opCreate, err: err}
		}
		logChanged(logger, opCreate, site.Code, site.ID)
		return siteSavedMsg{seq: seq, op: opCreate, id: site.ID, site: site}
	}
	return seq, tea.Batch(call, m.startSpinner())
}

// updateSite returns the command that sends changes to one site.
func (m *Model) updateSite(op changeOp, site model.Site, changes map[string]any) (uint64, tea.Cmd) {
	seq := m.nextSeq(request{op: op, id: site.ID, code: site.Code, label: m.siteName(site)})
	m.siteSeq[site.ID] = seq
	backend := m.backend
	calls := m.callContexts()
	logger := m.logger
	id, code := site.ID, site.Code
	call := func() tea.Msg {
		ctx, cancel := calls()
		defer cancel()
		saved, err := backend.UpdateSite(ctx, id, changes)
		if err != nil {
			logChangeFailed(logger, op, code, id, err)
			return apiFailedMsg{seq: seq, op: op, id: id, err: err}
		}
		logChanged(logger, op, cmp.Or(saved.Code, code), id)
		return siteSavedMsg{seq: seq, op: op, id: id, site: saved}
	}
	return seq, tea.Batch(call, m.startSpinner())
}

// deleteSite returns the command that deletes one site.
func (m *Model) deleteSite(site model.Site) (uint64, tea.Cmd) {
	label := m.siteName(site)
	seq := m.nextSeq(request{op: opDelete, id: site.ID, code: site.Code, label: label})
	m.siteSeq[site.ID] = seq
	backend := m.backend
	calls := m.callContexts()
	logger := m.logger
	id, code := site.ID, site.Code
	call := func() tea.Msg {
		ctx, cancel := calls()
		defer cancel()
		if err := backend.DeleteSite(ctx, id); err != nil {
			logChangeFailed(logger, opDelete, code, id, err)
			return apiFailedMsg{seq: seq, op: opDelete, id: id, err: err}
		}
		logChanged(logger, opDelete, code, id)
		return siteDeletedMsg{seq: seq, id: id, code: code, label: label}
	}
	return seq, tea.Batch(call, m.startSpinner())
}

// The log functions below run inside the commands, after the backend's
// response, because Update does no I/O and a log file is I/O. The charm
// logger serialises writes, so commands running at the same time may share it.

// changedLogText is the log message of each successful change.
var changedLogText = map[changeOp]string{
	opCreate:   "site created",
	opEdit:     "site edited",
	opEnable:   "site enabled",
	opDisable:  "site disabled",
	opMakeMain: "site made main",
	opDelete:   "site deleted",
}

// logChanged logs a change the backend accepted.
func logChanged(logger *log.Logger, op changeOp, code string, id model.ID) {
	logger.Info(changedLogText[op], "code", code, "id", id)
}

// logChangeFailed logs a change that the backend rejected or that failed
// before a response arrived.
// The error text comes from the client, which keeps the API key out of it.
func logChangeFailed(logger *log.Logger, op changeOp, code string, id model.ID, err error) {
	logger.Error("site change failed", "op", op.String(), "code", code, "id", id, "err", errorText(err))
}

// logLoadFailed logs a failed load of the site list.
func logLoadFailed(logger *log.Logger, err error) {
	logger.Error("loading sites failed", "err", errorText(err))
}

// startSpinner starts the spinner's tick loop unless it runs already. The
// loop stops by itself once no call is in flight (see the spinner case in
// Update), so an idle program is not woken.
func (m *Model) startSpinner() tea.Cmd {
	if m.spinning {
		return nil
	}
	m.spinning = true
	return m.spinner.Tick
}

// scheduleRefresh arms the automatic refresh timer. A generation number
// makes sure only one timer is live.
func (m *Model) scheduleRefresh() tea.Cmd {
	if m.opts.Refresh <= 0 {
		return nil
	}
	m.refreshGen++
	gen := m.refreshGen
	return tea.Tick(m.opts.Refresh, func(time.Time) tea.Msg { return refreshTickMsg{gen: gen} })
}
