package emulator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"accsyn-sites/model"
)

// attrKind is the type of an entity attribute, which decides how a query
// compares it and which JSON values create and edit accept.
type attrKind int

const (
	kindString attrKind = iota
	kindID
	kindBool
	kindNumber
	kindDate
	kindObject
)

// attrDef describes one attribute of an entity type.
type attrDef struct {
	name   string
	kind   attrKind
	create bool // accepted by <entity>/create
	update bool // accepted by <entity>/edit
}

// entityType is an entity type the emulator serves, with its attributes in
// the order find returns them.
type entityType struct {
	name  string
	attrs []attrDef
}

func (t *entityType) attr(name string) (attrDef, bool) {
	for _, a := range t.attrs {
		if a.name == name {
			return a, true
		}
	}
	return attrDef{}, false
}

func (t *entityType) attrNames(filter func(attrDef) bool) []string {
	var out []string
	for _, a := range t.attrs {
		if filter == nil || filter(a) {
			out = append(out, a.name)
		}
	}
	return out
}

var siteType = &entityType{name: "site", attrs: []attrDef{
	{name: "id", kind: kindID},
	{name: "name", kind: kindString, create: true, update: true},
	{name: "code", kind: kindString, create: true, update: true},
	{name: "description", kind: kindString, create: true, update: true},
	{name: "status", kind: kindString, update: true},
	{name: "main", kind: kindBool, update: true},
	{name: "accsyn", kind: kindBool},
	{name: "metadata", kind: kindObject, create: true, update: true},
	{name: "created", kind: kindDate},
	{name: "creator", kind: kindString},
	{name: "modified", kind: kindDate},
	{name: "modifier", kind: kindString},
	{name: "archived", kind: kindBool},
}}

var serverType = &entityType{name: "server", attrs: []attrDef{
	{name: "id", kind: kindID},
	{name: "code", kind: kindString},
	{name: "description", kind: kindString},
	{name: "site", kind: kindID},
	{name: "site_hr", kind: kindString},
	{name: "status", kind: kindString},
	{name: "last_checkin", kind: kindDate},
	{name: "roles", kind: kindString},
	{name: "os", kind: kindString},
	{name: "version", kind: kindString},
	{name: "wan_ip", kind: kindString},
	{name: "created", kind: kindDate},
	{name: "modified", kind: kindDate},
}}

var transferType = &entityType{name: "transfer", attrs: []attrDef{
	{name: "id", kind: kindID},
	{name: "name", kind: kindString},
	{name: "code", kind: kindString},
	{name: "source", kind: kindString},
	{name: "source_hr", kind: kindString},
	{name: "destination", kind: kindString},
	{name: "destination_hr", kind: kindString},
	{name: "status", kind: kindString},
	{name: "progress", kind: kindNumber},
	{name: "size", kind: kindNumber},
	{name: "speed", kind: kindNumber},
	{name: "created", kind: kindDate},
	{name: "finished", kind: kindDate},
}}

// entityTypes lists the entity types in the order the entitytypes call
// returns them.
var entityTypes = []*entityType{siteType, serverType, transferType}

func lookupEntityType(name string) (*entityType, bool) {
	for _, t := range entityTypes {
		if strings.EqualFold(t.name, name) {
			return t, true
		}
	}
	return nil, false
}

// entity is one row as find reads it: its JSON as returned, and its
// attribute values prepared for queries (strings lower case, dates as
// time.Time, numbers as float64, metadata as decoded JSON).
type entity struct {
	id      model.ID
	encoded []byte
	fields  map[string]any
}

// siteRecord is a site in the cache. Records are immutable: a change
// replaces the record, so a reader may keep one after releasing the lock.
type siteRecord struct {
	entity
	site     model.Site
	archived bool
}

// siteJSON is a site as the emulator returns it; metadata is always an
// object and archived appears only on deleted sites.
type siteJSON struct {
	ID          model.ID       `json:"id"`
	Name        string         `json:"name"`
	Code        string         `json:"code"`
	Description string         `json:"description"`
	Status      string         `json:"status"`
	Main        bool           `json:"main"`
	Accsyn      bool           `json:"accsyn"`
	Metadata    map[string]any `json:"metadata"`
	Created     model.Time     `json:"created"`
	Creator     model.ID       `json:"creator"`
	Modified    model.Time     `json:"modified"`
	Modifier    model.ID       `json:"modifier"`
	Archived    bool           `json:"archived,omitempty"`
}

func newSiteRecord(s model.Site, archived bool) *siteRecord {
	encoded, err := json.Marshal(siteJSON{
		ID: s.ID, Name: s.Name, Code: s.Code, Description: s.Description, Status: s.Status,
		Main: s.Main, Accsyn: s.Accsyn, Metadata: nonNilMetadata(s.Metadata),
		Created: s.Created, Creator: s.Creator, Modified: s.Modified, Modifier: s.Modifier, Archived: archived,
	})
	if err != nil {
		// Metadata comes from decoded JSON, so it always encodes.
		panic(fmt.Sprintf("encode site %s: %v", s.ID, err))
	}
	fields := map[string]any{
		"id":          strings.ToLower(string(s.ID)),
		"name":        strings.ToLower(s.Name),
		"code":        strings.ToLower(s.Code),
		"description": strings.ToLower(s.Description),
		"status":      strings.ToLower(s.Status),
		"main":        s.Main,
		"accsyn":      s.Accsyn,
		"metadata":    foldObject(s.Metadata),
		"created":     timeField(s.Created),
		"creator":     strings.ToLower(string(s.Creator)),
		"modified":    timeField(s.Modified),
		"modifier":    strings.ToLower(string(s.Modifier)),
		"archived":    archived,
	}
	return &siteRecord{entity: entity{id: s.ID, encoded: encoded, fields: fields}, site: s, archived: archived}
}

func timeField(t model.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Time
}

// checkinOffset returns how long ago a server that is meant to be online
// last checked in: a stable 5 to 54 seconds per server, so every find shows
// a recent check-in as a live daemon would.
func checkinOffset(id model.ID) time.Duration {
	h := fnv.New32a()
	h.Write([]byte(id))
	return time.Duration(5+h.Sum32()%50) * time.Second
}

// offlineAfter is how long accsyn waits without a check-in before it shows a
// server as offline.
const offlineAfter = 15 * time.Minute

// serverView returns the server as find shows it at now: site_hr filled in
// and, for a server that is checked in (online or disabled), a check-in
// within the last minute.
func (e *Emulator) serverView(s model.Server, now time.Time) model.Server {
	if i, ok := e.siteIndex[s.Site]; ok {
		s.SiteHR = fmt.Sprintf("%s(%s)", e.sites[i].site.Code, s.Site)
	}
	if s.Status == model.ServerOnline || s.Status == model.ServerDisabled {
		s.LastCheckin = model.NewTime(now.Add(-checkinOffset(s.ID)).Truncate(time.Second))
	}
	return s
}

func serverEntity(s model.Server) entity {
	encoded, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("encode server %s: %v", s.ID, err))
	}
	return entity{id: s.ID, encoded: encoded, fields: map[string]any{
		"id":           strings.ToLower(string(s.ID)),
		"code":         strings.ToLower(s.Code),
		"description":  strings.ToLower(s.Description),
		"site":         strings.ToLower(string(s.Site)),
		"site_hr":      strings.ToLower(s.SiteHR),
		"status":       strings.ToLower(s.Status),
		"last_checkin": timeField(s.LastCheckin),
		"roles":        strings.ToLower(s.Roles),
		"os":           strings.ToLower(s.OS),
		"version":      strings.ToLower(s.Version),
		"wan_ip":       strings.ToLower(s.WANIP),
		"created":      timeField(s.Created),
		"modified":     timeField(s.Modified),
	}}
}

func transferEntity(t model.Transfer) entity {
	encoded, err := json.Marshal(t)
	if err != nil {
		panic(fmt.Sprintf("encode transfer %s: %v", t.ID, err))
	}
	return entity{id: t.ID, encoded: encoded, fields: map[string]any{
		"id":             strings.ToLower(string(t.ID)),
		"name":           strings.ToLower(t.Name),
		"code":           strings.ToLower(t.Code),
		"source":         strings.ToLower(t.Source),
		"source_hr":      strings.ToLower(t.SourceHR),
		"destination":    strings.ToLower(t.Destination),
		"destination_hr": strings.ToLower(t.DestinationHR),
		"status":         strings.ToLower(t.Status),
		"progress":       t.Progress,
		"size":           float64(t.Size),
		"speed":          t.Speed,
		"created":        timeField(t.Created),
		"finished":       timeField(t.Finished),
	}}
}
