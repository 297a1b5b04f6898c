package model

import "strings"

// Server status values.
const (
	ServerOnline          = "online"
	ServerOffline         = "offline"
	ServerDisabled        = "disabled"
	ServerDisabledOffline = "disabled-offline"
)

// Server is an accsyn server (daemon) assigned to a site.
type Server struct {
	ID          ID     `json:"id"`
	Code        string `json:"code"`
	Description string `json:"description"`
	Site        ID     `json:"site"`
	SiteHR      string `json:"site_hr"`
	Status      string `json:"status"`
	LastCheckin Time   `json:"last_checkin"`
	Roles       string `json:"roles"`
	OS          string `json:"os"`
	Version     string `json:"version"`
	WANIP       string `json:"wan_ip"`
	Created     Time   `json:"created"`
	Modified    Time   `json:"modified"`
}

// Online reports whether the server is checked in and enabled.
func (s Server) Online() bool {
	return s.Status == ServerOnline
}

// Transfer status values.
const (
	TransferInit    = "init"
	TransferWaiting = "waiting"
	TransferRunning = "running"
	TransferPaused  = "paused"
	TransferFailed  = "failed"
	TransferAborted = "aborted"
	TransferDone    = "done"
)

// Transfer is an accsyn file transfer job between two endpoints, each written
// as "<entitytype>:<id>" (for example "site:<id>" or "server:<id>").
type Transfer struct {
	ID            ID      `json:"id"`
	Name          string  `json:"name"`
	Code          string  `json:"code"`
	Source        string  `json:"source"`
	SourceHR      string  `json:"source_hr"`
	Destination   string  `json:"destination"`
	DestinationHR string  `json:"destination_hr"`
	Status        string  `json:"status"`
	Progress      float64 `json:"progress"`
	Size          int64   `json:"size"`
	Speed         float64 `json:"speed"`
	Created       Time    `json:"created"`
	Finished      Time    `json:"finished"`
}

// Active reports whether the transfer still runs or may run: every status but
// done and aborted.
func (t Transfer) Active() bool {
	return t.Status != TransferDone && t.Status != TransferAborted
}

// Involves reports whether the transfer's source or destination is the site
// itself ("site:<id>") or one of the servers assigned to it. servers may hold
// servers of any site; only those of siteID count.
func (t Transfer) Involves(siteID ID, servers []Server) bool {
	for _, end := range []string{t.Source, t.Destination} {
		kind, id, ok := strings.Cut(end, ":")
		if !ok {
			continue
		}
		id = StripObjectID(id)
		switch strings.ToLower(kind) {
		case "site":
			if ID(id) == siteID {
				return true
			}
		case "server":
			for _, srv := range servers {
				if srv.Site == siteID && srv.ID == ID(id) {
					return true
				}
			}
		}
	}
	return false
}

// ActiveTransfers returns the active transfers that involve the site.
func ActiveTransfers(siteID ID, transfers []Transfer, servers []Server) []Transfer {
	var out []Transfer
	for _, t := range transfers {
		if t.Active() && t.Involves(siteID, servers) {
			out = append(out, t)
		}
	}
	return out
}

// ServersOf returns the servers assigned to the site.
func ServersOf(siteID ID, servers []Server) []Server {
	var out []Server
	for _, srv := range servers {
		if srv.Site == siteID {
			out = append(out, srv)
		}
	}
	return out
}
