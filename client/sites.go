package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"accsyn-sites/model"
)

// FindOptions narrows a site search.
type FindOptions struct {
	// Query is the expression after WHERE, such as `code=hq` or
	// `status=disabled AND name contains lab`. A leading "Site WHERE" is
	// accepted and removed. Empty finds every site.
	Query string
	// Limit is the maximum number of sites returned; 0 means no limit.
	Limit int
	// Skip is the number of matching sites to skip, for paging.
	Skip int
	// Attributes names the attributes to return; empty returns all.
	Attributes []string
	// Archived finds deleted (archived) sites instead of live ones.
	Archived bool
}

// FindSites returns the sites that match opt, in the backend's order. No
// match is an empty list, not an error.
func (c *Client) FindSites(ctx context.Context, opt FindOptions) ([]model.Site, error) {
	return c.findSites(ctx, opt, false)
}

// FindOneSite returns the first site that matches opt, as the Python API's
// find_one does: the find is sent with single_entity_query set. found is
// false, with no error, when nothing matches.
func (c *Client) FindOneSite(ctx context.Context, opt FindOptions) (site model.Site, found bool, err error) {
	sites, err := c.findSites(ctx, opt, true)
	if err != nil || len(sites) == 0 {
		return model.Site{}, false, err
	}
	return sites[0], true, nil
}

func (c *Client) findSites(ctx context.Context, opt FindOptions, single bool) ([]model.Site, error) {
	const op = "site/find"
	if opt.Limit < 0 {
		return nil, invalidInput(op, fmt.Sprintf("limit %d is negative: use 0 for no limit, or a positive number", opt.Limit))
	}
	if opt.Skip < 0 {
		return nil, invalidInput(op, fmt.Sprintf("skip %d is negative: use 0 or a positive number", opt.Skip))
	}
	data := map[string]any{}
	if opt.Limit > 0 {
		data["limit"] = opt.Limit
	}
	if opt.Skip > 0 {
		data["skip"] = opt.Skip
	}
	if len(opt.Attributes) > 0 {
		data["attributes"] = opt.Attributes
	}
	if opt.Archived {
		data["archived"] = true
	}
	if single {
		data["single_entity_query"] = true
	}
	query, err := whereExpression(op, "site", opt.Query)
	if err != nil {
		return nil, err
	}
	result, err := c.do(ctx, call{method: http.MethodGet, uri: op, query: query, data: data})
	if err != nil {
		return nil, err
	}
	return decodeList[model.Site](c, op, result)
}

// GetSite returns the site with the given id, archived or not as the backend
// decides. A missing site is an *Error with KindNotFound.
func (c *Client) GetSite(ctx context.Context, id model.ID) (model.Site, error) {
	const op = "site/find"
	if err := checkID(op, "site", id); err != nil {
		return model.Site{}, err
	}
	result, err := c.do(ctx, call{method: http.MethodGet, uri: op, id: id})
	if err != nil {
		return model.Site{}, err
	}
	sites, err := decodeList[model.Site](c, op, result)
	if err != nil {
		return model.Site{}, err
	}
	for _, s := range sites {
		if s.ID == id {
			return s, nil
		}
	}
	if len(sites) > 0 {
		return model.Site{}, &Error{Kind: KindBadResponse, Op: op,
			Message: fmt.Sprintf("requested site %s, but the backend returned site %s", id, sites[0].ID)}
	}
	return model.Site{}, &Error{Kind: KindNotFound, Op: op,
		Message: fmt.Sprintf("site %s not found: it may have been deleted, refresh the list", id)}
}

// CreateSite creates a site from fields (name is required; code,
// description and metadata are optional) and returns it as stored.
func (c *Client) CreateSite(ctx context.Context, fields map[string]any) (model.Site, error) {
	const op = "site/create"
	if len(fields) == 0 {
		return model.Site{}, invalidInput(op, "no fields given: a new site needs at least a name")
	}
	result, err := c.do(ctx, call{method: http.MethodPost, uri: op, data: fields})
	if err != nil {
		return model.Site{}, err
	}
	return decodeOne[model.Site](c, op, result)
}

// UpdateSite changes the given attributes of a site and returns the site as
// it is after the change.
func (c *Client) UpdateSite(ctx context.Context, id model.ID, changes map[string]any) (model.Site, error) {
	const op = "site/edit"
	if err := checkID(op, "site", id); err != nil {
		return model.Site{}, err
	}
	if len(changes) == 0 {
		return model.Site{}, invalidInput(op, fmt.Sprintf("no changes given for site %s: name at least one attribute", id))
	}
	result, err := c.do(ctx, call{method: http.MethodPut, uri: op, id: id, data: changes})
	if err != nil {
		return model.Site{}, err
	}
	return decodeOne[model.Site](c, op, result)
}

// DeleteSite deletes (archives) a site. The backend refuses the main site,
// built-in sites, and sites with servers or active transfers (KindConflict).
func (c *Client) DeleteSite(ctx context.Context, id model.ID) error {
	const op = "site/delete"
	if err := checkID(op, "site", id); err != nil {
		return err
	}
	result, err := c.do(ctx, call{method: http.MethodDelete, uri: op, id: id})
	if err != nil {
		return err
	}
	var ok bool
	if err := json.Unmarshal(result, &ok); err != nil || !ok {
		return &Error{Kind: KindBadResponse, Op: op,
			Message: "expected true in the response to a delete, got " + c.scrub(snippet(result))}
	}
	return nil
}

// FindServers returns the servers assigned to the site, or every server of
// the workspace when siteID is empty.
func (c *Client) FindServers(ctx context.Context, siteID model.ID) ([]model.Server, error) {
	const op = "server/find"
	query := ""
	if siteID != "" {
		if err := checkID(op, "site", siteID); err != nil {
			return nil, err
		}
		query = "site=" + string(siteID)
	}
	result, err := c.do(ctx, call{method: http.MethodGet, uri: op, query: query})
	if err != nil {
		return nil, err
	}
	return decodeList[model.Server](c, op, result)
}

// FindTransfers returns the transfers matching query (the expression after
// WHERE; a leading "Transfer WHERE" is removed), or all of them when query is
// empty.
func (c *Client) FindTransfers(ctx context.Context, query string) ([]model.Transfer, error) {
	const op = "transfer/find"
	expr, err := whereExpression(op, "transfer", query)
	if err != nil {
		return nil, err
	}
	result, err := c.do(ctx, call{method: http.MethodGet, uri: op, query: expr})
	if err != nil {
		return nil, err
	}
	return decodeList[model.Transfer](c, op, result)
}

// EntityTypes returns the names of the entity types the backend serves.
func (c *Client) EntityTypes(ctx context.Context) ([]string, error) {
	const op = "entitytypes"
	result, err := c.do(ctx, call{method: http.MethodGet, uri: op})
	if err != nil {
		return nil, err
	}
	return decodeNames(c, op, result)
}

// Attributes returns the attribute names of an entity type: the readable
// ones, or with create (or update) set, the ones accepted on create (or on
// edit).
func (c *Client) Attributes(ctx context.Context, entityType string, create, update bool) ([]string, error) {
	const op = "attributes"
	entityType = strings.ToLower(strings.TrimSpace(entityType))
	if entityType == "" {
		return nil, invalidInput(op, "entity type is empty: name one, such as site")
	}
	data := map[string]any{"entitytype": entityType, "create": create, "update": update}
	result, err := c.do(ctx, call{method: http.MethodGet, uri: op, data: data})
	if err != nil {
		return nil, err
	}
	return decodeNames(c, op, result)
}

// whereExpression returns the expression after WHERE, removing a leading
// "<EntityType> WHERE" (any case) and rejecting a different entity type.
func whereExpression(op, entityType, query string) (string, error) {
	query = strings.TrimSpace(query)
	head, rest, _ := strings.Cut(query, " ")
	if !strings.EqualFold(head, entityType) {
		return query, nil
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return "", nil
	}
	keyword, expr, _ := strings.Cut(rest, " ")
	if !strings.EqualFold(keyword, "where") {
		return "", invalidInput(op, fmt.Sprintf("query %q: write the expression alone, such as code=hq, or %s WHERE <expression>",
			query, entityType))
	}
	return strings.TrimSpace(expr), nil
}

// checkID rejects an empty id or one with characters no accsyn id has, so
// that an id never changes the meaning of a query it is put into.
func checkID(op, entityType string, id model.ID) error {
	if id == "" {
		return invalidInput(op, entityType+" id is empty: pick a "+entityType+" first")
	}
	for _, r := range string(id) {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && r != '-' {
			return invalidInput(op, fmt.Sprintf("invalid %s id %q: ids are 24 hexadecimal characters", entityType, snippet([]byte(id))))
		}
	}
	return nil
}

func invalidInput(op, msg string) *Error {
	return &Error{Kind: KindInvalid, Op: op, Message: msg}
}

// decodeList decodes a result that is a list of entities. A null result is
// an empty list.
func decodeList[T any](c *Client, op string, result json.RawMessage) ([]T, error) {
	if len(result) == 0 || string(result) == "null" {
		return []T{}, nil
	}
	var items []T
	if err := json.Unmarshal(result, &items); err != nil {
		return nil, c.shapeError(op, "a list", result, err)
	}
	if items == nil {
		items = []T{}
	}
	return items, nil
}

// decodeOne decodes a result that is a list holding one entity, or the
// entity itself.
func decodeOne[T any](c *Client, op string, result json.RawMessage) (T, error) {
	var zero T
	trimmed := strings.TrimSpace(string(result))
	if strings.HasPrefix(trimmed, "{") {
		var item T
		if err := json.Unmarshal(result, &item); err != nil {
			return zero, c.shapeError(op, "an entity", result, err)
		}
		return item, nil
	}
	items, err := decodeList[T](c, op, result)
	if err != nil {
		return zero, err
	}
	if len(items) == 0 {
		return zero, &Error{Kind: KindBadResponse, Op: op, Message: "the backend returned an empty list instead of the entity"}
	}
	return items[0], nil
}

// decodeNames decodes a list of names, accepting both plain strings and
// objects with a "name" field.
func decodeNames(c *Client, op string, result json.RawMessage) ([]string, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(result, &raw); err != nil {
		return nil, c.shapeError(op, "a list of names", result, err)
	}
	names := make([]string, 0, len(raw))
	for _, item := range raw {
		var name string
		if json.Unmarshal(item, &name) == nil {
			names = append(names, name)
			continue
		}
		var obj struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(item, &obj); err != nil || obj.Name == "" {
			return nil, c.shapeError(op, "a list of names", result, err)
		}
		names = append(names, obj.Name)
	}
	return names, nil
}

func (c *Client) shapeError(op, expected string, result json.RawMessage, err error) *Error {
	return &Error{Kind: KindBadResponse, Op: op, Err: err,
		Message: fmt.Sprintf("expected %s in the response, got %s", expected, c.scrub(snippet(result)))}
}
