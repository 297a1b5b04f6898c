package ui

import (
	"strings"

	"accsyn-sites/model"
)

// setData replaces the loaded data and rebuilds everything derived from it:
// the id index, servers per site, the sort order, the shown rows and the
// detail pane. The cursor stays on the selected site by id.
func (m *Model) setData(sites []model.Site, servers []model.Server, transfers []model.Transfer) {
	m.sites = sites
	m.allServers = servers

	m.byID = make(map[model.ID]int, len(sites))
	for i, s := range sites {
		m.byID[s.ID] = i
	}
	m.serversBySite = make(map[model.ID][]model.Server)
	for _, srv := range servers {
		m.serversBySite[srv.Site] = append(m.serversBySite[srv.Site], srv)
	}
	m.active = m.active[:0:0]
	for _, t := range transfers {
		if t.Active() {
			m.active = append(m.active, t)
		}
	}
	m.resort()
}

// upsertSite puts one site as the backend returned it into the loaded data.
func (m *Model) upsertSite(site model.Site) {
	sites := append([]model.Site{}, m.sites...)
	if i, ok := m.byID[site.ID]; ok {
		sites[i] = site
	} else {
		sites = append(sites, site)
	}
	if site.Main {
		for i := range sites {
			if sites[i].ID != site.ID {
				sites[i].Main = false
			}
		}
	}
	m.setData(sites, m.allServers, m.active)
}

// resort sorts the sites again and rebuilds the rows.
func (m *Model) resort() {
	keys := make([]siteKeys, len(m.sites))
	for i, s := range m.sites {
		keys[i] = siteKeys{
			name:    strings.ToLower(s.Name),
			state:   m.stateOf(s),
			servers: len(m.serversBySite[s.ID]),
		}
	}
	m.list.sortSites(m.sites, keys)
	m.rebuildRows()
}

// rebuildRows applies the built-in toggle and the filter, then puts the
// cursor back on the selected site.
func (m *Model) rebuildRows() {
	m.list.applyFilter(m.sites)
	before := m.list.selectedID
	m.list.restoreCursor(m.sites)
	m.list.scrollTo(m.listHeight())
	m.rebuildDetail(m.list.selectedID != before)
}

// selectedSite returns the site under the cursor as the user sees it.
func (m *Model) selectedSite() (model.Site, bool) {
	if len(m.list.rows) == 0 || m.list.cursor >= len(m.list.rows) {
		return model.Site{}, false
	}
	return m.sites[m.list.rows[m.list.cursor]], true
}

// stateOf returns the state of a site as shown: a pending status change
// counts as done.
func (m *Model) stateOf(s model.Site) model.SiteState {
	if p, ok := m.pending[s.ID]; ok {
		s.Status = p.status
	}
	return model.StateOf(s, m.serversBySite[s.ID])
}

// activeTransfersOf returns the active transfers that involve the site.
func (m *Model) activeTransfersOf(id model.ID) []model.Transfer {
	return model.ActiveTransfers(id, m.active, m.allServers)
}

// shownCounts returns how many sites the list shows and how many exist,
// built-ins included, for the pane title "Sites (5 of 7)".
func (m *Model) shownCounts() (shown, total int) {
	return len(m.list.rows), len(m.sites)
}
