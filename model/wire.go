// Package model holds the accsyn domain types that the client, the emulator and
// the terminal UI share: sites, servers, transfers, their states and the naming
// rules for sites.
package model

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// TimeLayout is the date format accsyn uses on the wire, always in UTC.
const TimeLayout = "2006-01-02T15:04:05"

// objectIDPrefix marks ids that accsyn sends as "ObjectId:<hex>".
const objectIDPrefix = "ObjectId:"

// ID is an entity id as accsyn sends it, with any "ObjectId:" prefix removed.
type ID string

// UnmarshalJSON strips the "ObjectId:" prefix that accsyn may put before ids.
func (id *ID) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*id = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("id: expected a string, got %s", truncate(string(data), 40))
	}
	*id = ID(StripObjectID(s))
	return nil
}

// StripObjectID removes the "ObjectId:" prefix accsyn may put before an id.
func StripObjectID(s string) string {
	return strings.TrimPrefix(s, objectIDPrefix)
}

// Time is a UTC timestamp in accsyn's wire format, "YYYY-MM-DDTHH:MM:SS"
// with an optional ".mmm" millisecond part. The zero value marshals as null.
type Time struct {
	time.Time
}

// ParseTime parses an accsyn timestamp; the value is always taken as UTC.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "Z")
	layouts := []string{TimeLayout, TimeLayout + ".999999999"}
	for _, layout := range layouts {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: expected YYYY-MM-DDTHH:MM:SS in UTC, optionally with .mmm", s)
}

// FormatTime formats t in accsyn's wire format, in UTC, to the second.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// NewTime wraps t, truncated to the millisecond accsyn keeps.
func NewTime(t time.Time) Time {
	return Time{t.UTC().Truncate(time.Millisecond)}
}

// MarshalJSON writes the time as "YYYY-MM-DDTHH:MM:SS", with ".mmm" when the
// time has a millisecond part, or null for the zero time.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	s := t.UTC().Format(TimeLayout)
	if ms := t.Nanosecond() / int(time.Millisecond); ms != 0 {
		s += fmt.Sprintf(".%03d", ms)
	}
	return json.Marshal(s)
}

// UnmarshalJSON reads "YYYY-MM-DDTHH:MM:SS[.mmm]"; null and "" leave the zero time.
func (t *Time) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("time: expected a string, got %s", truncate(string(data), 40))
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
