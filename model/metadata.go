package model

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// ParseMetadata reads site metadata written as "key = value" lines. Blank
// lines and lines starting with '#' are skipped. A value is kept as a string
// unless it is valid JSON other than a bare word (a number, true, false,
// null, a quoted string, an object or a list), so that "count = 3" stores
// the number 3. The error names the line number and the fix.
func ParseMetadata(text string) (map[string]any, error) {
	out := map[string]any{}
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("metadata line %d %q has no '=': write key = value", n, line)
		}
		key = strings.TrimSpace(key)
		value = strings.TrimSpace(value)
		if key == "" {
			return nil, fmt.Errorf("metadata line %d %q has no key before '=': write key = value", n, line)
		}
		if strings.ContainsAny(key, " \t") {
			return nil, fmt.Errorf("metadata line %d: key %q contains white space: use a single word such as %q",
				n, key, strings.Join(strings.Fields(key), "_"))
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("metadata line %d: key %q is given twice: keep one of the lines", n, key)
		}
		out[key] = parseMetadataValue(value)
	}
	return out, nil
}

func parseMetadataValue(value string) any {
	var v any
	if value != "" && json.Unmarshal([]byte(value), &v) == nil {
		return v
	}
	return value
}

// FormatMetadata writes metadata as sorted "key = value" lines, the form
// ParseMetadata reads back. Strings are written bare unless they would read
// back as another type; other values are written as JSON.
func FormatMetadata(metadata map[string]any) string {
	keys := make([]string, 0, len(metadata))
	for k := range metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, FormatMetadataValue(metadata[k]))
	}
	return b.String()
}

// FormatMetadataValue writes one metadata value as FormatMetadata does.
func FormatMetadataValue(v any) string {
	if s, ok := v.(string); ok {
		parsed, isString := parseMetadataValue(s).(string)
		if isString && parsed == s && strings.TrimSpace(s) == s && !strings.Contains(s, "\n") {
			return s
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(data)
}
