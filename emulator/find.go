package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// findOptions are the data attributes find takes.
type findOptions struct {
	limit, skip int
	attributes  []string
	archived    bool
	single      bool
}

func readFindOptions(c *call, t *entityType) (findOptions, error) {
	var o findOptions
	var err error
	if o.limit, err = intOption(c.data, "limit"); err != nil {
		return o, err
	}
	if o.skip, err = intOption(c.data, "skip"); err != nil {
		return o, err
	}
	if o.archived, err = boolOption(c.data, "archived"); err != nil {
		return o, err
	}
	if o.single, err = boolOption(c.data, "single_entity_query"); err != nil {
		return o, err
	}
	if raw, ok := c.data["attributes"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &o.attributes); err != nil {
			return o, fail(http.StatusBadRequest, "data attribute \"attributes\" must be a list of attribute names, e.g. [\"name\", \"code\"]")
		}
		for i, name := range o.attributes {
			name = strings.ToLower(strings.TrimSpace(name))
			if _, ok := t.attr(name); !ok {
				return o, fail(http.StatusBadRequest, "data attribute \"attributes\" names the unknown %s attribute %q: use %s",
					t.name, o.attributes[i], strings.Join(t.attrNames(nil), ", "))
			}
			o.attributes[i] = name
		}
	}
	if o.archived && t != siteType {
		return o, fail(http.StatusBadRequest, "data attribute \"archived\" applies to sites only: %ss are not deleted here", t.name)
	}
	return o, nil
}

// find runs <entity>/find: the query, the id, archived, skip, limit,
// single_entity_query and attributes, in that order.
func (e *Emulator) find(c *call, t *entityType) (any, error) {
	opts, err := readFindOptions(c, t)
	if err != nil {
		return nil, err
	}
	q, err := parseQuery(c.query)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}
	cond, err := compileQuery(q, t)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}

	limit := opts.limit
	if opts.single {
		limit = 1
	}
	var matched [][]byte
	skip := opts.skip
	consider := func(en *entity) bool {
		if c.hasID && en.id != c.id {
			return true
		}
		if cond != nil && !cond.match(en.fields) {
			return true
		}
		if skip > 0 {
			skip--
			return true
		}
		matched = append(matched, en.encoded)
		return limit == 0 || len(matched) < limit
	}

	e.mu.RLock()
	switch t {
	case siteType:
		for _, rec := range e.sites {
			if rec.archived != opts.archived {
				continue
			}
			if !consider(&rec.entity) {
				break
			}
		}
	case serverType:
		now := e.now()
		for _, s := range e.servers {
			en := serverEntity(e.serverView(s, now))
			if !consider(&en) {
				break
			}
		}
	case transferType:
		for _, tr := range e.transfers {
			en := transferEntity(tr)
			if !consider(&en) {
				break
			}
		}
	}
	e.mu.RUnlock()

	if opts.attributes != nil {
		return selectAttributes(matched, opts.attributes)
	}
	return joinList(matched), nil
}

func joinList(items [][]byte) rawResult {
	size := 2
	for _, it := range items {
		size += len(it) + 1
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteByte(']')
	return rawResult(b.Bytes())
}

// selectAttributes keeps only the named attributes of each entity, and its id.
func selectAttributes(items [][]byte, names []string) (any, error) {
	out := make([]map[string]json.RawMessage, 0, len(items))
	for _, it := range items {
		var full map[string]json.RawMessage
		if err := json.Unmarshal(it, &full); err != nil {
			return nil, err
		}
		picked := map[string]json.RawMessage{"id": full["id"]}
		for _, n := range names {
			if v, ok := full[n]; ok {
				picked[n] = v
			}
		}
		out = append(out, picked)
	}
	return out, nil
}
