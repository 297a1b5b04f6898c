package model

import "strings"

// Site status values.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// Codes of the built-in sites every workspace has.
const (
	BuiltinAccsyn  = "accsyn"
	BuiltinRoaming = "roaming"
)

// Site is one physical or cloud location where accsyn servers run, with the
// attributes and JSON field names accsyn uses.
type Site struct {
	ID          ID             `json:"id"`
	Name        string         `json:"name"`
	Code        string         `json:"code"`
	Description string         `json:"description"`
	Status      string         `json:"status"`
	Main        bool           `json:"main"`
	Accsyn      bool           `json:"accsyn"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	Created     Time           `json:"created"`
	Creator     ID             `json:"creator"`
	Modified    Time           `json:"modified"`
	Modifier    ID             `json:"modifier"`
}

// Enabled reports whether the site's status is "enabled".
func (s Site) Enabled() bool {
	return s.Status != StatusDisabled
}

// Builtin reports whether the site is one of the built-in sites, which cannot
// be deleted, renamed or disabled and are hidden unless all sites are shown.
func (s Site) Builtin() bool {
	return s.Accsyn || IsBuiltinCode(s.Code)
}

// IsBuiltinCode reports whether code names a built-in site.
func IsBuiltinCode(code string) bool {
	code = strings.ToLower(code)
	return code == BuiltinAccsyn || code == BuiltinRoaming
}

// SiteState is the state of a site shown to an administrator. It combines the
// site's status with whether any of its servers is online.
type SiteState int

// The four site states, in the order accsyn's web admin colours them.
const (
	StateOnline SiteState = iota
	StateOffline
	StateDisabled
	StateDisabledOffline
)

// String returns the state as the words shown next to a site.
func (s SiteState) String() string {
	switch s {
	case StateOnline:
		return "enabled · online"
	case StateOffline:
		return "enabled · offline"
	case StateDisabled:
		return "disabled"
	case StateDisabledOffline:
		return "disabled · offline"
	}
	return "unknown"
}

// StateOf derives the state of site from the servers given. Servers of other
// sites are ignored, so the whole server list may be passed. A site is offline
// when none of its servers is online, which includes a site with no servers.
func StateOf(site Site, servers []Server) SiteState {
	online := false
	for _, srv := range servers {
		if srv.Site == site.ID && srv.Online() {
			online = true
			break
		}
	}
	switch {
	case site.Enabled() && online:
		return StateOnline
	case site.Enabled():
		return StateOffline
	case online:
		return StateDisabled
	default:
		return StateDisabledOffline
	}
}
