package ui

import (
	"sort"
	"strings"

	"github.com/sahilm/fuzzy"

	"accsyn-sites/model"
)

// sortOrder is the order of the site list; "s" cycles through them.
type sortOrder int

const (
	sortName sortOrder = iota
	sortStatus
	sortServers
	sortModified
	sortOrderCount
)

// String returns the name shown in the list title.
func (o sortOrder) String() string {
	switch o {
	case sortStatus:
		return "status"
	case sortServers:
		return "servers"
	case sortModified:
		return "modified"
	}
	return "name"
}

// siteList is the list pane's state: which sites are shown, in which order,
// and where the cursor is. Sorting and filtering happen here, in Update, so
// that drawing a frame costs the same whatever the number of sites.
type siteList struct {
	sortBy  sortOrder
	showAll bool
	query   string

	// order holds indexes into the site slice, sorted; rows holds the
	// subset that is shown (built-ins and the filter applied).
	order []int
	rows  []int

	cursor     int
	offset     int
	selectedID model.ID
}

// siteKeys are the values a site is sorted by, computed once per load.
type siteKeys struct {
	name    string
	state   model.SiteState
	servers int
}

// sortSites orders the indexes of sites by the list's sort order, with the
// name and then the id as tie-breakers so the order is stable across loads.
func (l *siteList) sortSites(sites []model.Site, keys []siteKeys) {
	order := make([]int, len(sites))
	for i := range order {
		order[i] = i
	}
	byName := func(a, b int) bool {
		if keys[a].name != keys[b].name {
			return keys[a].name < keys[b].name
		}
		return sites[a].ID < sites[b].ID
	}
	var less func(a, b int) bool
	switch l.sortBy {
	case sortStatus:
		less = func(a, b int) bool {
			if keys[a].state != keys[b].state {
				return keys[a].state < keys[b].state
			}
			return byName(a, b)
		}
	case sortServers:
		less = func(a, b int) bool {
			if keys[a].servers != keys[b].servers {
				return keys[a].servers > keys[b].servers
			}
			return byName(a, b)
		}
	case sortModified:
		less = func(a, b int) bool {
			ta, tb := sites[a].Modified.Time, sites[b].Modified.Time
			if !ta.Equal(tb) {
				return ta.After(tb)
			}
			return byName(a, b)
		}
	default:
		less = byName
	}
	sort.SliceStable(order, func(i, j int) bool { return less(order[i], order[j]) })
	l.order = order
}

// applyFilter rebuilds the shown rows from the sorted order: built-in sites
// only when showAll, and only sites whose name, code or description matches
// the fuzzy query. The matches keep the sort order.
func (l *siteList) applyFilter(sites []model.Site) {
	candidates := make([]int, 0, len(l.order))
	for _, i := range l.order {
		if !l.showAll && sites[i].Builtin() {
			continue
		}
		candidates = append(candidates, i)
	}
	query := strings.TrimSpace(l.query)
	if query == "" {
		l.rows = candidates
		return
	}
	matched := make([]bool, len(candidates))
	fields := []struct {
		text    func(model.Site) string
		compact bool
	}{
		{func(s model.Site) string { return s.Name }, false},
		{func(s model.Site) string { return s.Code }, false},
		// Descriptions are long prose where a few letters match almost
		// anything in order, so only a compact match counts there.
		{func(s model.Site) string { return s.Description }, true},
	}
	for _, field := range fields {
		src := fieldSource{sites: sites, idx: candidates, field: field.text}
		for _, match := range fuzzy.FindFromNoSort(query, src) {
			if field.compact && !compactMatch(match.MatchedIndexes, len(query)) {
				continue
			}
			matched[match.Index] = true
		}
	}
	rows := make([]int, 0, len(candidates))
	for i, ok := range matched {
		if ok {
			rows = append(rows, candidates[i])
		}
	}
	l.rows = rows
}

// compactMatch reports whether the matched bytes lie within a span of at
// most the query's length plus two, so "renov" finds "renovation"
// but "lon" does not find "closed for renovation".
func compactMatch(indexes []int, queryLen int) bool {
	if len(indexes) == 0 {
		return false
	}
	return indexes[len(indexes)-1]-indexes[0]+1 <= queryLen+2
}

// fieldSource exposes one text field of the candidate sites to fuzzy.
type fieldSource struct {
	sites []model.Site
	idx   []int
	field func(model.Site) string
}

func (f fieldSource) String(i int) string { return f.field(f.sites[f.idx[i]]) }
func (f fieldSource) Len() int            { return len(f.idx) }

// restoreCursor puts the cursor back on the selected site by id. When that
// site is no longer shown the cursor keeps its position, clamped, and the
// site now under it becomes the selection.
func (l *siteList) restoreCursor(sites []model.Site) {
	if l.selectedID != "" {
		for r, i := range l.rows {
			if sites[i].ID == l.selectedID {
				l.cursor = r
				return
			}
		}
	}
	l.clampCursor()
	l.selectedID = ""
	if len(l.rows) > 0 {
		l.selectedID = sites[l.rows[l.cursor]].ID
	}
}

func (l *siteList) clampCursor() {
	if l.cursor >= len(l.rows) {
		l.cursor = len(l.rows) - 1
	}
	if l.cursor < 0 {
		l.cursor = 0
	}
}

// move moves the cursor by delta rows and selects the site under it.
func (l *siteList) move(sites []model.Site, delta int) {
	l.cursor += delta
	l.clampCursor()
	if len(l.rows) > 0 {
		l.selectedID = sites[l.rows[l.cursor]].ID
	}
}

// scrollTo keeps the cursor inside a window of height rows.
func (l *siteList) scrollTo(height int) {
	if height <= 0 {
		l.offset = 0
		return
	}
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+height {
		l.offset = l.cursor - height + 1
	}
	if maxOffset := len(l.rows) - height; l.offset > maxOffset {
		l.offset = max(0, maxOffset)
	}
	if l.offset < 0 {
		l.offset = 0
	}
}
