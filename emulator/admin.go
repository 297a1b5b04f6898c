package emulator

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"accsyn-sites/model"
)

// These helpers change servers and transfers directly, for tests and demos:
// accsyn has no API calls for them that this project uses.

var serverStatuses = []string{model.ServerOnline, model.ServerOffline, model.ServerDisabled, model.ServerDisabledOffline}

var transferStatuses = []string{
	model.TransferInit, model.TransferWaiting, model.TransferRunning, model.TransferPaused,
	model.TransferFailed, model.TransferAborted, model.TransferDone,
}

func checkStatus(kind, status string, allowed []string) error {
	for _, s := range allowed {
		if status == s {
			return nil
		}
	}
	return fmt.Errorf("invalid %s status %q: use one of %s", kind, status, strings.Join(allowed, ", "))
}

// AddServer stores a new server and returns it as stored. An empty ID,
// Created, Modified or Status is filled in (status "online"); Site must be
// the id of a site that is not deleted; SiteHR is derived from the site.
func (e *Emulator) AddServer(s model.Server) (model.Server, error) {
	now := model.NewTime(e.now())
	s.ID = model.ID(model.StripObjectID(string(s.ID)))
	s.Site = model.ID(model.StripObjectID(string(s.Site)))
	if s.ID == "" {
		s.ID = newID()
	}
	if s.Code == "" {
		return model.Server{}, fmt.Errorf("server code is missing: give the server's hostname as Code")
	}
	if s.Status == "" {
		s.Status = model.ServerOnline
	}
	if err := checkStatus("server", s.Status, serverStatuses); err != nil {
		return model.Server{}, err
	}

	if s.Created.IsZero() {
		s.Created = now
	}
	if s.Modified.IsZero() {
		s.Modified = s.Created
	}
	if s.LastCheckin.IsZero() {
		s.LastCheckin = now
		if s.Status == model.ServerOffline || s.Status == model.ServerDisabledOffline {
			s.LastCheckin = model.NewTime(now.Add(-2 * time.Hour))
		}
	}
	// The checks run inside the transaction, under the write lock, so no
	// other change can delete the site between the check and the insert.
	err := e.inTx(func(tx *sql.Tx) error {
		rec, ok := e.siteByID(s.Site)
		if !ok || rec.archived {
			return fmt.Errorf("server %s: site %q not found: give the id of an existing site", s.Code, s.Site)
		}
		if _, dup := e.serverIndex(s.ID); dup {
			return fmt.Errorf("a server with id %s already exists: leave ID empty to get a new one", s.ID)
		}
		s.SiteHR = fmt.Sprintf("%s(%s)", rec.site.Code, s.Site)
		return insertServer(tx, s)
	}, func() {
		e.servers = append(e.servers, s)
	})
	if err != nil {
		return model.Server{}, err
	}
	return s, nil
}

// SetServerStatus changes a server's status. A server set offline gets a
// last check-in older than 15 minutes, the age at which accsyn shows a
// server offline. A server set online is shown with a recent check-in.
func (e *Emulator) SetServerStatus(id model.ID, status string) error {
	id = model.ID(model.StripObjectID(string(id)))
	if err := checkStatus("server", status, serverStatuses); err != nil {
		return err
	}
	var s model.Server
	return e.inTx(func(tx *sql.Tx) error {
		i, ok := e.serverIndex(id)
		if !ok {
			return fmt.Errorf("server %q not found", id)
		}
		s = e.servers[i]
		now := e.now()
		s.Status = status
		s.Modified = model.NewTime(now)
		switch status {
		case model.ServerOnline, model.ServerDisabled:
			s.LastCheckin = model.NewTime(now)
		default:
			if now.Sub(s.LastCheckin.Time) < offlineAfter {
				s.LastCheckin = model.NewTime(now.Add(-offlineAfter - time.Minute))
			}
		}
		_, err := tx.Exec(`UPDATE servers SET status = ?, last_checkin = ?, modified = ? WHERE id = ?`,
			s.Status, formatStoreTime(s.LastCheckin), formatStoreTime(s.Modified), string(s.ID))
		if err != nil {
			return fmt.Errorf("update server %s: %w", s.Code, err)
		}
		return nil
	}, func() {
		if i, ok := e.serverIndex(id); ok {
			e.servers[i] = s
		}
	})
}

// AddTransfer stores a new transfer and returns it as stored. An empty ID,
// Created or Status is filled in, the status as "running". An empty Name or
// Code is made from the other. Empty SourceHR and DestinationHR are set to
// the code of the site or server the endpoint refers to.
func (e *Emulator) AddTransfer(t model.Transfer) (model.Transfer, error) {
	now := model.NewTime(e.now())
	t.ID = model.ID(model.StripObjectID(string(t.ID)))
	if t.ID == "" {
		t.ID = newID()
	}
	if t.Status == "" {
		t.Status = model.TransferRunning
	}
	if err := checkStatus("transfer", t.Status, transferStatuses); err != nil {
		return model.Transfer{}, err
	}
	if t.Source == "" || t.Destination == "" {
		return model.Transfer{}, fmt.Errorf("transfer %q needs a source and a destination written as <entitytype>:<id>, for example site:%s", t.Name, newID())
	}
	if t.Progress < 0 || t.Progress > 100 {
		return model.Transfer{}, fmt.Errorf("transfer progress %v is out of range: use 0 to 100", t.Progress)
	}

	if t.Name == "" {
		t.Name = t.Code
	}
	if t.Name == "" {
		t.Name = "transfer-" + string(t.ID[:8])
	}
	if t.Code == "" {
		t.Code = strings.ToLower(t.Name)
	}
	if t.Created.IsZero() {
		t.Created = now
	}
	if t.Finished.IsZero() && (t.Status == model.TransferDone || t.Status == model.TransferAborted) {
		t.Finished = now
	}
	err := e.inTx(func(tx *sql.Tx) error {
		if _, dup := e.transferIndex(t.ID); dup {
			return fmt.Errorf("a transfer with id %s already exists: leave ID empty to get a new one", t.ID)
		}
		if t.SourceHR == "" {
			t.SourceHR = e.endpointName(t.Source)
		}
		if t.DestinationHR == "" {
			t.DestinationHR = e.endpointName(t.Destination)
		}
		return insertTransfer(tx, t)
	}, func() {
		e.transfers = append(e.transfers, t)
	})
	if err != nil {
		return model.Transfer{}, err
	}
	return t, nil
}

// SetTransferStatus changes a transfer's status. Done sets the progress to
// 100; done and aborted set the finished time.
func (e *Emulator) SetTransferStatus(id model.ID, status string) error {
	id = model.ID(model.StripObjectID(string(id)))
	if err := checkStatus("transfer", status, transferStatuses); err != nil {
		return err
	}
	var t model.Transfer
	return e.inTx(func(tx *sql.Tx) error {
		i, ok := e.transferIndex(id)
		if !ok {
			return fmt.Errorf("transfer %q not found", id)
		}
		t = e.transfers[i]
		t.Status = status
		if status == model.TransferDone {
			t.Progress = 100
		}
		if status == model.TransferDone || status == model.TransferAborted {
			t.Finished = model.NewTime(e.now())
		} else {
			t.Finished = model.Time{}
		}
		_, err := tx.Exec(`UPDATE transfers SET status = ?, progress = ?, finished = ? WHERE id = ?`,
			t.Status, t.Progress, formatStoreTime(t.Finished), string(t.ID))
		if err != nil {
			return fmt.Errorf("update transfer %s: %w", t.Name, err)
		}
		return nil
	}, func() {
		if i, ok := e.transferIndex(id); ok {
			e.transfers[i] = t
		}
	})
}

// endpointName returns the human-readable twin of a transfer endpoint
// "<entitytype>:<id>": the site's or server's code, or the endpoint itself.
// The caller holds e.mu or e.writeMu.
func (e *Emulator) endpointName(end string) string {
	kind, id, ok := strings.Cut(end, ":")
	if !ok {
		return end
	}
	id = model.StripObjectID(id)
	switch strings.ToLower(kind) {
	case "site":
		if rec, ok := e.siteByID(model.ID(id)); ok {
			return "site:" + rec.site.Code
		}
	case "server":
		if i, ok := e.serverIndex(model.ID(id)); ok {
			return "server:" + e.servers[i].Code
		}
	}
	return end
}

// siteByID returns the cached site with the id. The caller holds e.mu or e.writeMu.
func (e *Emulator) siteByID(id model.ID) (*siteRecord, bool) {
	i, ok := e.siteIndex[id]
	if !ok {
		return nil, false
	}
	return e.sites[i], true
}

// serverIndex returns the index of the server in e.servers. The caller
// holds e.mu or e.writeMu.
func (e *Emulator) serverIndex(id model.ID) (int, bool) {
	for i, s := range e.servers {
		if s.ID == id {
			return i, true
		}
	}
	return 0, false
}

// transferIndex returns the index of the transfer in e.transfers. The
// caller holds e.mu or e.writeMu.
func (e *Emulator) transferIndex(id model.ID) (int, bool) {
	for i, t := range e.transfers {
		if t.ID == id {
			return i, true
		}
	}
	return 0, false
}
