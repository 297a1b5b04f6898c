package emulator

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"accsyn-sites/model"
)

// siteChanges are the validated attributes of a site/create or site/edit.
type siteChanges struct {
	name, code, description, status *string
	main                            *bool
	metadata                        map[string]any
	hasMetadata                     bool
}

// readSiteData validates the data of site/create (forCreate) or site/edit:
// only the attributes that call accepts, each of the right type.
func readSiteData(data map[string]json.RawMessage, forCreate bool) (siteChanges, error) {
	var ch siteChanges
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	op := "site/edit"
	if forCreate {
		op = "site/create"
	}
	accepted := siteType.attrNames(func(a attrDef) bool {
		if forCreate {
			return a.create
		}
		return a.update
	})
	for _, k := range keys {
		raw := data[k]
		def, known := siteType.attr(k)
		allowed := known && ((forCreate && def.create) || (!forCreate && def.update))
		if !allowed {
			switch {
			case !known:
				return ch, fail(http.StatusBadRequest, "unknown site attribute %q: %s accepts %s", k, op, strings.Join(accepted, ", "))
			case !def.create && !def.update:
				return ch, fail(http.StatusBadRequest, "site attribute %q is set by the backend: leave it out of %s", k, op)
			default:
				return ch, fail(http.StatusBadRequest, "site attribute %q cannot be set by %s: create the site, then set %s with site/edit", k, op, k)
			}
		}

		isNull := string(raw) == "null"
		switch def.kind {
		case kindString:
			if isNull {
				if k == "description" {
					empty := ""
					ch.description = &empty
					continue
				}
				if k == "code" && forCreate {
					continue
				}
				return ch, fail(http.StatusBadRequest, "site attribute %q must be a string, not null", k)
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return ch, fail(http.StatusBadRequest, "site attribute %q must be a string, not %s", k, truncateText(string(raw), 40))
			}
			switch k {
			case "name":
				ch.name = &s
			case "code":
				ch.code = &s
			case "description":
				ch.description = &s
			case "status":
				ch.status = &s
			}
		case kindBool:
			var b bool
			if isNull || json.Unmarshal(raw, &b) != nil {
				return ch, fail(http.StatusBadRequest, "site attribute %q must be true or false, not %s", k, truncateText(string(raw), 40))
			}
			ch.main = &b
		case kindObject:
			ch.hasMetadata = true
			if isNull {
				ch.metadata = map[string]any{}
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return ch, fail(http.StatusBadRequest, "site attribute %q must be a JSON object of key/value pairs, not %s", k, truncateText(string(raw), 40))
			}
			ch.metadata = m
		}
	}

	if ch.name != nil {
		if err := model.ValidateName(*ch.name); err != nil {
			return ch, fail(http.StatusBadRequest, "%v", err)
		}
	}
	if ch.code != nil {
		if err := model.ValidateCode(*ch.code); err != nil {
			return ch, fail(http.StatusBadRequest, "%v", err)
		}
	}
	if ch.status != nil {
		s := strings.ToLower(strings.TrimSpace(*ch.status))
		if s != model.StatusEnabled && s != model.StatusDisabled {
			return ch, fail(http.StatusBadRequest, "site status %q is invalid: use enabled or disabled", *ch.status)
		}
		ch.status = &s
	}
	return ch, nil
}

// liveSiteWithCode returns the site that is not deleted and has the code,
// compared case-insensitively. The caller holds writeMu or mu.
func (e *Emulator) liveSiteWithCode(code string) (*siteRecord, bool) {
	for _, rec := range e.sites {
		if !rec.archived && strings.EqualFold(rec.site.Code, code) {
			return rec, true
		}
	}
	return nil, false
}

func codeTaken(rec *siteRecord) *apiError {
	return fail(http.StatusConflict, "a site with code %q already exists (id %s); choose another code", rec.site.Code, rec.site.ID)
}

// isUniqueViolation reports whether err is SQLite refusing a duplicate in a
// unique index, the backstop behind the rule checks.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func (e *Emulator) createSite(c *call) (any, error) {
	ch, err := readSiteData(c.data, true)
	if err != nil {
		return nil, err
	}
	if ch.name == nil {
		return nil, fail(http.StatusBadRequest, "site attribute \"name\" is required: use 1 to %d characters from A-Z a-z 0-9 _ . -", model.MaxNameLength)
	}
	code := model.CodeFromName(*ch.name)
	if ch.code != nil {
		code = *ch.code
	}

	now := model.NewTime(e.now())
	site := model.Site{
		ID: newID(), Name: *ch.name, Code: code, Status: model.StatusEnabled, Metadata: map[string]any{},
		Created: now, Creator: model.ID(c.user.Name), Modified: now, Modifier: model.ID(c.user.Name),
	}
	if ch.description != nil {
		site.Description = *ch.description
	}
	if ch.hasMetadata {
		site.Metadata = ch.metadata
	}

	rec := newSiteRecord(site, false)
	err = e.inTx(func(tx *sql.Tx) error {
		if other, ok := e.liveSiteWithCode(code); ok {
			return codeTaken(other)
		}
		if err := insertSite(tx, site); err != nil {
			if isUniqueViolation(err) {
				return fail(http.StatusConflict, "a site with code %q already exists; choose another code", code)
			}
			return err
		}
		return nil
	}, func() {
		e.siteIndex[site.ID] = len(e.sites)
		e.sites = append(e.sites, rec)
	})
	if err != nil {
		return nil, err
	}
	return joinList([][]byte{rec.encoded}), nil
}

func (e *Emulator) requireSiteID(c *call) error {
	if !c.hasID {
		return fail(http.StatusBadRequest, "%s needs the site's id in the event field \"id\"", c.uri)
	}
	return nil
}

func siteNotFound(id model.ID) *apiError {
	return fail(http.StatusNotFound, "site %q not found: it does not exist or was deleted; find the id with site/find", id)
}

func (e *Emulator) editSite(c *call) (any, error) {
	if err := e.requireSiteID(c); err != nil {
		return nil, err
	}
	ch, err := readSiteData(c.data, false)
	if err != nil {
		return nil, err
	}
	var result *siteRecord
	var apply func()
	err = e.inTx(func(tx *sql.Tx) error {
		rec, ok := e.siteByID(c.id)
		if !ok || rec.archived {
			return siteNotFound(c.id)
		}
		old := rec.site
		site := old
		if ch.name != nil {
			site.Name = *ch.name
		}
		if ch.code != nil {
			site.Code = *ch.code
		}
		if ch.description != nil {
			site.Description = *ch.description
		}
		if ch.status != nil {
			site.Status = *ch.status
		}
		if ch.hasMetadata {
			site.Metadata = ch.metadata
		}
		if old.Builtin() {
			if site.Name != old.Name || site.Code != old.Code {
				return fail(http.StatusConflict, "cannot rename the built-in site %s: its name and code are fixed", old.Code)
			}
			if site.Status == model.StatusDisabled && old.Status != model.StatusDisabled {
				return fail(http.StatusConflict, "cannot disable the built-in site %s", old.Code)
			}
		}
		if !strings.EqualFold(site.Code, old.Code) {
			if other, ok := e.liveSiteWithCode(site.Code); ok {
				return codeTaken(other)
			}
		}
		var oldMain *siteRecord
		if ch.main != nil {
			switch {
			case !*ch.main && old.Main:
				return fail(http.StatusConflict, "site %s is the main site: make another site main first", old.Code)
			case *ch.main && !old.Main:
				site.Main = true
				for _, r := range e.sites {
					if !r.archived && r.site.Main {
						oldMain = r
					}
				}
			}
		}
		changed := site.Name != old.Name || site.Code != old.Code || site.Description != old.Description ||
			site.Status != old.Status || site.Main != old.Main || ch.hasMetadata
		if !changed {
			result = rec
			return nil
		}
		now := model.NewTime(e.now())
		site.Modified, site.Modifier = now, model.ID(c.user.Name)
		var demoted *siteRecord
		if oldMain != nil {
			prev := oldMain.site
			prev.Main = false
			prev.Modified, prev.Modifier = now, model.ID(c.user.Name)
			if err := updateSite(tx, prev, false); err != nil {
				return err
			}
			demoted = newSiteRecord(prev, false)
		}
		if err := updateSite(tx, site, false); err != nil {
			if isUniqueViolation(err) {
				return fail(http.StatusConflict, "a site with code %q already exists; choose another code", site.Code)
			}
			return err
		}
		var heldTransfers []model.Transfer
		if site.Status != old.Status {
			var err error
			if heldTransfers, err = e.holdTransfers(tx, site); err != nil {
				return err
			}
		}
		result = newSiteRecord(site, false)
		apply = func() {
			if demoted != nil {
				e.sites[e.siteIndex[demoted.site.ID]] = demoted
			}
			e.sites[e.siteIndex[site.ID]] = result
			for _, t := range heldTransfers {
				if i, ok := e.transferIndex(t.ID); ok {
					e.transfers[i] = t
				}
			}
		}
		return nil
	}, func() {
		if apply != nil {
			apply()
		}
	})
	if err != nil {
		return nil, err
	}
	return joinList([][]byte{result.encoded}), nil
}

func (e *Emulator) deleteSite(c *call) (any, error) {
	if err := e.requireSiteID(c); err != nil {
		return nil, err
	}
	var archived *siteRecord
	err := e.inTx(func(tx *sql.Tx) error {
		rec, ok := e.siteByID(c.id)
		if !ok || rec.archived {
			return siteNotFound(c.id)
		}
		site := rec.site
		if site.Builtin() {
			return fail(http.StatusConflict, "cannot delete the built-in site %s", site.Code)
		}
		if site.Main {
			return fail(http.StatusConflict, "cannot delete site %s: it is the main site; make another site main first", site.Code)
		}
		if reasons := e.deleteBlockers(site); len(reasons) > 0 {
			return fail(http.StatusConflict, "cannot delete site %s: %s", site.Code, strings.Join(reasons, "; "))
		}
		now := model.NewTime(e.now())
		site.Modified, site.Modifier = now, model.ID(c.user.Name)
		if err := updateSite(tx, site, true); err != nil {
			return err
		}
		archived = newSiteRecord(site, true)
		return nil
	}, func() {
		e.sites[e.siteIndex[archived.site.ID]] = archived
	})
	if err != nil {
		return nil, err
	}
	return true, nil
}

// deleteBlockers returns why the site cannot be deleted yet: its servers
// and the active transfers that involve it, each with what to do.
func (e *Emulator) deleteBlockers(site model.Site) []string {
	var reasons []string
	servers := model.ServersOf(site.ID, e.servers)
	if n := len(servers); n > 0 {
		codes := make([]string, n)
		for i, s := range servers {
			codes[i] = s.Code
		}
		if n == 1 {
			reasons = append(reasons, fmt.Sprintf("1 server is assigned (%s); move it to another site first", codes[0]))
		} else {
			reasons = append(reasons, fmt.Sprintf("%d servers are assigned (%s); move them to another site first", n, strings.Join(codes, ", ")))
		}
	}
	active := model.ActiveTransfers(site.ID, e.transfers, e.servers)
	if n := len(active); n > 0 {
		names := make([]string, n)
		for i, t := range active {
			names[i] = fmt.Sprintf("%s, %s %.0f%%", t.Name, t.Status, t.Progress)
		}
		if n == 1 {
			reasons = append(reasons, fmt.Sprintf("1 active transfer involves it (%s); wait for it to finish or abort it first", names[0]))
		} else {
			reasons = append(reasons, fmt.Sprintf("%d active transfers involve it (%s); wait for them to finish or abort them first", n, strings.Join(names, "; ")))
		}
	}
	return reasons
}

// holdTransfers applies a site's new status to the transfers that involve
// it. This is how the emulator models a disabled site cutting off its jobs
// until it is enabled again. Disabling pauses its init, waiting and running
// transfers. Enabling resumes its paused transfers as running, unless
// another site they involve is still disabled. A transfer paused for
// another reason is resumed too, because the emulator keeps no reason.
// It returns the changed transfers for the caller to apply after commit.
// The caller holds e.writeMu.
func (e *Emulator) holdTransfers(tx *sql.Tx, site model.Site) ([]model.Transfer, error) {
	var changed []model.Transfer
	for _, t := range e.transfers {
		if !t.Involves(site.ID, e.servers) {
			continue
		}
		switch {
		case !site.Enabled() && (t.Status == model.TransferInit || t.Status == model.TransferWaiting || t.Status == model.TransferRunning):
			t.Status = model.TransferPaused
		case site.Enabled() && t.Status == model.TransferPaused && !e.involvesDisabledSite(t, site.ID):
			t.Status = model.TransferRunning
		default:
			continue
		}
		if _, err := tx.Exec(`UPDATE transfers SET status = ? WHERE id = ?`, t.Status, string(t.ID)); err != nil {
			return nil, fmt.Errorf("update transfer %s: %w", t.Name, err)
		}
		changed = append(changed, t)
	}
	return changed, nil
}

// involvesDisabledSite reports whether a live site other than except that
// the transfer involves is disabled. The caller holds e.writeMu.
func (e *Emulator) involvesDisabledSite(t model.Transfer, except model.ID) bool {
	for _, r := range e.sites {
		if r.archived || r.site.ID == except || r.site.Enabled() {
			continue
		}
		if t.Involves(r.site.ID, e.servers) {
			return true
		}
	}
	return false
}
