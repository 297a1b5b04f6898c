package emulator

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"accsyn-sites/model"
)

// The query language of find: comparisons "attribute OP value" joined with
// AND and OR (AND binds tighter), grouped with parentheses. Operators are
// = != <> < > <= >= in, not in, contains, not contains, matches and
// not matches. Keywords, attribute names and values are case-insensitive.
// A query may start with "<EntityType> WHERE", as the Python API's find
// argument does.

// QueryError is a query that cannot be parsed or does not fit the entity
// type. Pos is the 1-based character position of the offending token, or
// one past the last character when the query ends too early.
type QueryError struct {
	Pos    int
	Near   string // the offending token; empty at the end of the query
	Reason string
	Syntax bool // a syntax error, as opposed to an unknown attribute or a bad value
}

func (e *QueryError) Error() string {
	kind := "query error"
	if e.Syntax {
		kind = "query syntax error"
	}
	if e.Near == "" {
		return fmt.Sprintf("%s at position %d (end of query): %s", kind, e.Pos, e.Reason)
	}
	return fmt.Sprintf("%s at position %d near %q: %s", kind, e.Pos, e.Near, e.Reason)
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokWord
	tokString
	tokOp
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokenKind
	text string // word or operator as written; a quoted string without its quotes
	raw  string // the token as written, for error messages
	pos  int    // 1-based character position
}

// wordBreaks are the characters that end an unquoted word.
const wordBreaks = "()'\",=<>!"

func tokenize(query string) ([]token, error) {
	runes := []rune(query)
	var out []token
	i := 0
	for i < len(runes) {
		r := runes[i]
		pos := i + 1
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			out = append(out, token{kind: tokLParen, text: "(", raw: "(", pos: pos})
			i++
		case r == ')':
			out = append(out, token{kind: tokRParen, text: ")", raw: ")", pos: pos})
			i++
		case r == ',':
			out = append(out, token{kind: tokComma, text: ",", raw: ",", pos: pos})
			i++
		case r == '\'' || r == '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(runes) {
				if runes[j] == '\\' && j+1 < len(runes) && (runes[j+1] == r || runes[j+1] == '\\') {
					b.WriteRune(runes[j+1])
					j += 2
					continue
				}
				if runes[j] == r {
					closed = true
					break
				}
				b.WriteRune(runes[j])
				j++
			}
			if !closed {
				return nil, &QueryError{Pos: pos, Near: string(runes[i:min(len(runes), i+20)]), Syntax: true,
					Reason: fmt.Sprintf("the quoted value is not closed: add the closing %c", r)}
			}
			out = append(out, token{kind: tokString, text: b.String(), raw: string(runes[i : j+1]), pos: pos})
			i = j + 1
		case r == '=' || r == '<' || r == '>' || r == '!':
			op := string(r)
			if i+1 < len(runes) {
				two := string(runes[i : i+2])
				if two == "!=" || two == "<>" || two == "<=" || two == ">=" {
					op = two
				}
			}
			if op == "!" {
				return nil, &QueryError{Pos: pos, Near: "!", Syntax: true, Reason: "expected != (a lone ! is not an operator)"}
			}
			out = append(out, token{kind: tokOp, text: op, raw: op, pos: pos})
			i += utf8.RuneCountInString(op)
		default:
			j := i
			for j < len(runes) && !unicode.IsSpace(runes[j]) && !strings.ContainsRune(wordBreaks, runes[j]) {
				j++
			}
			word := string(runes[i:j])
			out = append(out, token{kind: tokWord, text: word, raw: word, pos: pos})
			i = j
		}
	}
	out = append(out, token{kind: tokEOF, pos: len(runes) + 1})
	return out, nil
}

// queryNode is a node of a parsed query: *andNode, *orNode or *cmpNode.
type queryNode interface{ isQueryNode() }

type andNode struct{ left, right queryNode }
type orNode struct{ left, right queryNode }

// cmpNode is one comparison. op is one of = != < > <= >= in, not in,
// contains, not contains, matches, not matches (<> is stored as !=).
type cmpNode struct {
	attr    string // lower case
	attrPos int
	op      string
	opPos   int
	values  []queryValue
}

type queryValue struct {
	text   string
	quoted bool
	pos    int
	raw    string
}

func (*andNode) isQueryNode() {}
func (*orNode) isQueryNode()  {}
func (*cmpNode) isQueryNode() {}

// parsedQuery is a parsed query: the entity type it names, if it starts with
// "<EntityType> WHERE", and its expression, nil when it matches everything.
type parsedQuery struct {
	entity    string
	entityPos int
	expr      queryNode
}

type parser struct {
	tokens []token
	next   int
}

// parseQuery parses a query. For any input it cannot parse, it returns a
// *QueryError with the position of the offending token. An empty query
// parses to a nil expression, which matches everything.
func parseQuery(query string) (*parsedQuery, error) {
	tokens, err := tokenize(query)
	if err != nil {
		return nil, err
	}

	p := &parser{tokens: tokens}
	out := &parsedQuery{}
	first, second := p.peek(0), p.peek(1)
	if first.kind == tokWord && (second.kind == tokEOF || (second.kind == tokWord && strings.EqualFold(second.text, "where"))) {
		if _, ok := lookupEntityType(first.text); ok || second.kind == tokWord {
			out.entity, out.entityPos = strings.ToLower(first.text), first.pos
			p.next += 2
			if second.kind == tokEOF {
				p.next = 1
				return out, nil
			}
			if p.peek(0).kind == tokEOF {
				return nil, p.errorf(p.peek(0), "expected a comparison after WHERE")
			}
		}
	}

	if p.peek(0).kind == tokEOF {
		return out, nil
	}
	expr, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(0); t.kind != tokEOF {
		if t.kind == tokRParen {
			return nil, p.errorf(t, "this ) has no matching (")
		}
		return nil, p.errorf(t, "expected AND, OR or the end of the query")
	}
	out.expr = expr
	return out, nil
}

func (p *parser) peek(n int) token {
	if p.next+n < len(p.tokens) {
		return p.tokens[p.next+n]
	}
	return p.tokens[len(p.tokens)-1]
}

func (p *parser) take() token {
	t := p.peek(0)
	if p.next < len(p.tokens)-1 {
		p.next++
	}
	return t
}

func (p *parser) errorf(t token, format string, args ...any) *QueryError {
	return &QueryError{Pos: t.pos, Near: t.raw, Syntax: true, Reason: fmt.Sprintf(format, args...)}
}

func (p *parser) isKeyword(n int, word string) bool {
	t := p.peek(n)
	return t.kind == tokWord && strings.EqualFold(t.text, word)
}

func (p *parser) parseOr() (queryNode, error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword(0, "or") {
		p.take()
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &orNode{left: left, right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (queryNode, error) {
	left, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for p.isKeyword(0, "and") {
		p.take()
		right, err := p.parsePrimary()
		if err != nil {
			return nil, err
		}
		left = &andNode{left: left, right: right}
	}
	return left, nil
}

func (p *parser) parsePrimary() (queryNode, error) {
	t := p.peek(0)
	if t.kind == tokLParen {
		p.take()
		inner, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if closing := p.peek(0); closing.kind != tokRParen {
			if closing.kind == tokEOF {
				return nil, &QueryError{Pos: t.pos, Near: "(", Syntax: true, Reason: "this ( is never closed: add a )"}
			}
			return nil, p.errorf(closing, "expected ) to close the ( at position %d", t.pos)
		}
		p.take()
		return inner, nil
	}
	return p.parseComparison()
}

var attrPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[^.]+)*$`)

func (p *parser) parseComparison() (queryNode, error) {
	t := p.peek(0)
	if t.kind != tokWord {
		return nil, p.errorf(t, "expected a comparison such as code=hq")
	}
	lower := strings.ToLower(t.text)
	if lower == "and" || lower == "or" || lower == "not" || lower == "in" {
		return nil, p.errorf(t, "expected a comparison")
	}
	if !attrPattern.MatchString(t.text) {
		return nil, p.errorf(t, "expected an attribute name such as code or metadata.region")
	}
	p.take()

	cmp := &cmpNode{attr: lower, attrPos: t.pos}
	opTok := p.peek(0)
	cmp.opPos = opTok.pos
	switch {
	case opTok.kind == tokOp:
		p.take()
		cmp.op = opTok.text
		if cmp.op == "<>" {
			cmp.op = "!="
		}
	case p.isKeyword(0, "in"), p.isKeyword(0, "contains"), p.isKeyword(0, "matches"):
		p.take()
		cmp.op = strings.ToLower(opTok.text)
	case p.isKeyword(0, "not"):
		p.take()
		if !p.isKeyword(0, "in") && !p.isKeyword(0, "contains") && !p.isKeyword(0, "matches") {
			return nil, p.errorf(p.peek(0), "expected in, contains or matches after not")
		}
		cmp.op = "not " + strings.ToLower(p.take().text)
	default:
		return nil, p.errorf(opTok, "expected an operator (= != <> < > <= >= in, not in, contains, not contains, matches, not matches) after %s", t.text)
	}

	if cmp.op == "in" || cmp.op == "not in" {
		values, err := p.parseList()
		if err != nil {
			return nil, err
		}
		cmp.values = values
		return cmp, nil
	}
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	cmp.values = []queryValue{v}
	return cmp, nil
}

func (p *parser) parseValue() (queryValue, error) {
	t := p.peek(0)
	switch t.kind {
	case tokWord:
		p.take()
		return queryValue{text: t.text, pos: t.pos, raw: t.raw}, nil
	case tokString:
		p.take()
		return queryValue{text: t.text, quoted: true, pos: t.pos, raw: t.raw}, nil
	}
	return queryValue{}, p.errorf(t, "expected a value (quote it when it has spaces or any of ( ) , = < > !)")
}

// parseList parses the values of in and not in: comma-separated, with or
// without parentheses around them.
func (p *parser) parseList() ([]queryValue, error) {
	open := p.peek(0)
	paren := open.kind == tokLParen
	if paren {
		p.take()
	}
	var values []queryValue
	for {
		v, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		values = append(values, v)
		if p.peek(0).kind != tokComma {
			break
		}
		p.take()
	}
	if paren {
		if t := p.peek(0); t.kind != tokRParen {
			return nil, p.errorf(t, "expected , or ) in the list opened at position %d", open.pos)
		}
		p.take()
	}
	return values, nil
}

// condition is a compiled query, evaluated over an entity's fields.
type condition interface {
	match(fields map[string]any) bool
}

type andCond struct{ left, right condition }
type orCond struct{ left, right condition }

func (c andCond) match(f map[string]any) bool { return c.left.match(f) && c.right.match(f) }
func (c orCond) match(f map[string]any) bool  { return c.left.match(f) || c.right.match(f) }

// operand is a query value prepared for one attribute's type.
type operand struct {
	str      string // lower case; ids without an ObjectId: prefix
	null     bool   // an unquoted null: matches a missing or empty value
	glob     *regexp.Regexp
	isNum    bool
	num      float64
	isBool   bool
	boolean  bool
	isTime   bool
	from, to time.Time // the span the value names: a day, a minute, a second or a millisecond
	re       *regexp.Regexp
}

type cmpCond struct {
	attr   string
	key    string // the metadata key after "metadata.", lower case
	kind   attrKind
	op     string
	values []operand
}

// compileQuery checks a parsed query against an entity type and prepares
// its values. A nil condition matches everything.
func compileQuery(q *parsedQuery, t *entityType) (condition, error) {
	if q.entity != "" && q.entity != t.name {
		return nil, &QueryError{Pos: q.entityPos, Near: q.entity,
			Reason: fmt.Sprintf("this query is sent to %s/find: write %s WHERE ... or leave the entity type out", t.name, cases(t.name))}
	}
	if q.expr == nil {
		return nil, nil
	}
	return compileNode(q.expr, t)
}

func cases(name string) string {
	return strings.ToUpper(name[:1]) + name[1:]
}

func compileNode(n queryNode, t *entityType) (condition, error) {
	switch n := n.(type) {
	case *andNode:
		l, err := compileNode(n.left, t)
		if err != nil {
			return nil, err
		}
		r, err := compileNode(n.right, t)
		if err != nil {
			return nil, err
		}
		return andCond{l, r}, nil
	case *orNode:
		l, err := compileNode(n.left, t)
		if err != nil {
			return nil, err
		}
		r, err := compileNode(n.right, t)
		if err != nil {
			return nil, err
		}
		return orCond{l, r}, nil
	case *cmpNode:
		return compileComparison(n, t)
	}
	panic(fmt.Sprintf("unknown query node %T", n))
}

func compileComparison(n *cmpNode, t *entityType) (condition, error) {
	name, key, hasKey := strings.Cut(n.attr, ".")
	def, ok := t.attr(name)
	if !ok {
		return nil, &QueryError{Pos: n.attrPos, Near: n.attr,
			Reason: fmt.Sprintf("unknown %s attribute: use one of %s", t.name, strings.Join(t.attrNames(nil), ", "))}
	}
	if hasKey && def.kind != kindObject {
		return nil, &QueryError{Pos: n.attrPos, Near: n.attr,
			Reason: fmt.Sprintf("%s has no keys: only an object attribute such as metadata takes .key", name)}
	}
	kind := def.kind
	if hasKey {
		kind = kindObject
	}
	c := &cmpCond{attr: name, key: key, kind: kind, op: n.op}
	for _, v := range n.values {
		o, err := prepareOperand(v, name, kind, n.op)
		if err != nil {
			return nil, err
		}
		c.values = append(c.values, o)
	}
	return c, nil
}

var dateLayouts = []struct {
	layout string
	span   time.Duration
}{
	{"2006-01-02", 24 * time.Hour},
	{"2006-01-02T15:04", time.Minute},
	{"2006-01-02T15:04:05", time.Second},
	{"2006-01-02T15:04:05.000", time.Millisecond},
}

func parseQueryDate(s string) (from, to time.Time, ok bool) {
	s = strings.ToUpper(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSpace(s), "z"), "Z"))
	s = strings.Replace(s, " ", "T", 1)
	for _, l := range dateLayouts {
		if t, err := time.ParseInLocation(l.layout, s, time.UTC); err == nil {
			return t, t.Add(l.span), true
		}
	}
	return time.Time{}, time.Time{}, false
}

func prepareOperand(v queryValue, attr string, kind attrKind, op string) (operand, error) {
	bad := func(format string, args ...any) error {
		return &QueryError{Pos: v.pos, Near: v.raw, Reason: fmt.Sprintf(format, args...)}
	}
	text := strings.ToLower(v.text)
	if kind == kindID {
		text = strings.TrimPrefix(text, "objectid:")
	}
	o := operand{str: text}
	switch op {
	case "matches", "not matches":
		re, err := regexp.Compile("(?i)" + v.text)
		if err != nil {
			return o, bad("invalid regular expression: %v", err)
		}
		o.re = re
		return o, nil
	case "contains", "not contains":
		return o, nil
	}
	if !v.quoted && text == "null" {
		o.null = true
		return o, nil
	}
	equality := op == "=" || op == "!=" || op == "in" || op == "not in"
	if equality && strings.Contains(text, "*") {
		parts := strings.Split(text, "*")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		o.glob = regexp.MustCompile("^(?s)" + strings.Join(parts, ".*") + "$")
		return o, nil
	}
	switch kind {
	case kindBool:
		switch text {
		case "true":
			o.isBool, o.boolean = true, true
		case "false":
			o.isBool = true
		default:
			return o, bad("%s is true or false, not %q", attr, v.text)
		}
		if !equality {
			return o, bad("%s is true or false: compare it with = or !=", attr)
		}
	case kindNumber:
		f, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(f) {
			return o, bad("%s is a number, not %q", attr, v.text)
		}
		o.isNum, o.num = true, f
	case kindDate:
		from, to, ok := parseQueryDate(v.text)
		if !ok {
			return o, bad("%s is a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC), not %q", attr, v.text)
		}
		o.isTime, o.from, o.to = true, from, to
	case kindObject:
		if f, err := strconv.ParseFloat(text, 64); err == nil && !math.IsNaN(f) {
			o.isNum, o.num = true, f
		}
	}
	return o, nil
}

func (c *cmpCond) match(fields map[string]any) bool {
	v := fields[c.attr]
	if obj, ok := v.(*foldedObject); ok {
		if c.key != "" {
			v = obj.values[c.key]
		} else {
			v = obj.text
		}
	}
	switch c.op {
	case "=":
		return equalOperand(v, c.values[0])
	case "!=":
		return !equalOperand(v, c.values[0])
	case "in":
		for _, o := range c.values {
			if equalOperand(v, o) {
				return true
			}
		}
		return false
	case "not in":
		for _, o := range c.values {
			if equalOperand(v, o) {
				return false
			}
		}
		return true
	case "contains":
		return v != nil && strings.Contains(textOf(v), c.values[0].str)
	case "not contains":
		return v == nil || !strings.Contains(textOf(v), c.values[0].str)
	case "matches":
		return v != nil && c.values[0].re.MatchString(textOf(v))
	case "not matches":
		return v == nil || !c.values[0].re.MatchString(textOf(v))
	}
	return orderOperand(v, c.values[0], c.op)
}

// foldedObject is an object attribute such as metadata prepared for
// queries: its keys in lower case with folded values, for metadata.key, and
// its whole lower-case JSON text, for comparisons with the object itself.
type foldedObject struct {
	values map[string]any
	text   any
}

// foldObject prepares an object attribute for queries. When two keys differ
// only in case, the value of the first in sorted order is kept.
func foldObject(m map[string]any) *foldedObject {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values := make(map[string]any, len(m))
	for _, k := range keys {
		lower := strings.ToLower(k)
		if _, taken := values[lower]; !taken {
			values[lower] = foldValue(m[k])
		}
	}
	return &foldedObject{values: values, text: foldValue(nonNilMetadata(m))}
}

// foldValue prepares a decoded JSON value for comparison: strings lower
// case, objects and lists as their lower-case JSON text.
func foldValue(v any) any {
	switch v := v.(type) {
	case string:
		return strings.ToLower(v)
	case nil, bool, float64:
		return v
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return string(v)
		}
		return f
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return strings.ToLower(string(data))
}

// textOf returns the lower-case text a value is compared as.
func textOf(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case time.Time:
		return strings.ToLower(model.FormatTime(v))
	case nil:
		return ""
	}
	return strings.ToLower(fmt.Sprint(v))
}

func equalOperand(v any, o operand) bool {
	if o.null {
		return v == nil || v == ""
	}
	if v == nil {
		return false
	}
	if o.glob != nil {
		return o.glob.MatchString(textOf(v))
	}
	switch v := v.(type) {
	case bool:
		if o.isBool {
			return v == o.boolean
		}
	case float64:
		if o.isNum {
			return v == o.num
		}
	case time.Time:
		if o.isTime {
			return !v.Before(o.from) && v.Before(o.to)
		}
	case string:
		return v == o.str
	}
	return textOf(v) == o.str
}

func orderOperand(v any, o operand, op string) bool {
	if v == nil || o.null {
		return false
	}
	var cmp int
	switch x := v.(type) {
	case float64:
		if !o.isNum {
			cmp = strings.Compare(textOf(x), o.str)
			break
		}
		switch {
		case x < o.num:
			cmp = -1
		case x > o.num:
			cmp = 1
		}
	case time.Time:
		if !o.isTime {
			cmp = strings.Compare(textOf(x), o.str)
			break
		}
		// A date names a span (a whole day for YYYY-MM-DD): earlier than
		// it is before its start, later than it is from its end on.
		switch op {
		case "<":
			return x.Before(o.from)
		case "<=":
			return x.Before(o.to)
		case ">":
			return !x.Before(o.to)
		case ">=":
			return !x.Before(o.from)
		}
	default:
		cmp = strings.Compare(textOf(x), o.str)
	}
	switch op {
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}
