package model

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestTimeParsesWireFormats(t *testing.T) {
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2026-02-12T11:25:03", time.Date(2026, 2, 12, 11, 25, 3, 0, time.UTC)},
		{"2026-02-12T11:25:03.250", time.Date(2026, 2, 12, 11, 25, 3, 250*int(time.Millisecond), time.UTC)},
		{"2026-02-12T11:25:03Z", time.Date(2026, 2, 12, 11, 25, 3, 0, time.UTC)},
	}
	for _, c := range cases {
		var got Time
		if err := json.Unmarshal([]byte(`"`+c.in+`"`), &got); err != nil {
			t.Fatalf("unmarshal %q: %v", c.in, err)
		}
		if !got.Equal(c.want) {
			t.Errorf("unmarshal %q = %v, want %v", c.in, got.Time, c.want)
		}
	}
}

func TestTimeRejectsOtherFormats(t *testing.T) {
	var got Time
	err := json.Unmarshal([]byte(`"12/02/2026"`), &got)
	if err == nil || !strings.Contains(err.Error(), "12/02/2026") {
		t.Fatalf("error = %v, want one naming the value", err)
	}
}

func TestTimeRoundTrip(t *testing.T) {
	in := NewTime(time.Date(2026, 3, 1, 8, 0, 9, 123*int(time.Millisecond), time.UTC))
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `"2026-03-01T08:00:09.123"` {
		t.Errorf("marshal = %s", data)
	}
	var back Time
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Equal(in.Time) {
		t.Errorf("round trip = %v, want %v", back.Time, in.Time)
	}
	zero, _ := json.Marshal(Time{})
	if string(zero) != "null" {
		t.Errorf("zero time marshals as %s, want null", zero)
	}
}

func TestSiteDecodesAccsynJSON(t *testing.T) {
	raw := `{"id":"ObjectId:698db8b7c1f2a3b4c5d6e7f8","name":"London","code":"london",
		"description":"Soho","status":"disabled","main":false,"accsyn":false,
		"metadata":{"region":"eu-west","racks":3},"created":"2026-02-12T11:25:00",
		"creator":"ObjectId:5f0000000000000000000001","modified":"2026-02-13T09:00:00.500","modifier":"admin@local"}`
	var s Site
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatal(err)
	}
	if s.ID != "698db8b7c1f2a3b4c5d6e7f8" {
		t.Errorf("id = %q, want the prefix stripped", s.ID)
	}
	if s.Creator != "5f0000000000000000000001" {
		t.Errorf("creator = %q", s.Creator)
	}
	if s.Enabled() {
		t.Error("a disabled site reports enabled")
	}
	if s.Metadata["racks"] != float64(3) {
		t.Errorf("metadata racks = %v", s.Metadata["racks"])
	}
	if s.Modified.Nanosecond() != 500*int(time.Millisecond) {
		t.Errorf("modified = %v", s.Modified.Time)
	}
}

func TestBuiltinSites(t *testing.T) {
	for _, s := range []Site{{Code: "accsyn"}, {Code: "ROAMING"}, {Code: "cloud", Accsyn: true}} {
		if !s.Builtin() {
			t.Errorf("%+v is not reported built-in", s)
		}
	}
	if (Site{Code: "london"}).Builtin() {
		t.Error("london reported built-in")
	}
}

func TestStateOf(t *testing.T) {
	servers := []Server{
		{ID: "s1", Site: "a", Status: ServerOnline},
		{ID: "s2", Site: "b", Status: ServerOffline},
		{ID: "s3", Site: "c", Status: ServerOnline},
		{ID: "s4", Site: "d", Status: ServerDisabled},
	}
	cases := []struct {
		site Site
		want SiteState
	}{
		{Site{ID: "a", Status: StatusEnabled}, StateOnline},
		{Site{ID: "b", Status: StatusEnabled}, StateOffline},
		{Site{ID: "e", Status: StatusEnabled}, StateOffline},
		{Site{ID: "c", Status: StatusDisabled}, StateDisabled},
		{Site{ID: "d", Status: StatusDisabled}, StateDisabledOffline},
		{Site{ID: "d", Status: StatusEnabled}, StateOffline},
	}
	for _, c := range cases {
		if got := StateOf(c.site, servers); got != c.want {
			t.Errorf("StateOf(%s %s) = %v, want %v", c.site.ID, c.site.Status, got, c.want)
		}
	}
}

func TestTransferInvolvesSite(t *testing.T) {
	servers := []Server{{ID: "srv1", Site: "london"}, {ID: "srv2", Site: "tokyo"}}
	cases := []struct {
		tr   Transfer
		site ID
		want bool
	}{
		{Transfer{Source: "site:london", Destination: "user:x"}, "london", true},
		{Transfer{Source: "user:x", Destination: "site:ObjectId:london"}, "london", true},
		{Transfer{Source: "server:srv1", Destination: "user:x"}, "london", true},
		{Transfer{Source: "server:srv2", Destination: "user:x"}, "london", false},
		{Transfer{Source: "garbage", Destination: ""}, "london", false},
	}
	for i, c := range cases {
		if got := c.tr.Involves(c.site, servers); got != c.want {
			t.Errorf("case %d: Involves = %v, want %v", i, got, c.want)
		}
	}
}

func TestActiveTransfers(t *testing.T) {
	transfers := []Transfer{
		{ID: "t1", Source: "site:a", Status: TransferRunning},
		{ID: "t2", Source: "site:a", Status: TransferDone},
		{ID: "t3", Source: "site:a", Status: TransferAborted},
		{ID: "t4", Source: "site:a", Status: TransferPaused},
		{ID: "t5", Source: "site:b", Status: TransferRunning},
	}
	got := ActiveTransfers("a", transfers, nil)
	if len(got) != 2 || got[0].ID != "t1" || got[1].ID != "t4" {
		t.Errorf("ActiveTransfers = %+v, want t1 and t4", got)
	}
}

func TestValidateName(t *testing.T) {
	valid := []string{"London", "hq", "aws-eu-west.1", "a_b", strings.Repeat("x", 32)}
	for _, name := range valid {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v", name, err)
		}
	}
	invalid := map[string]string{
		"":                      "required",
		"Lon don":               `' ' at position 4`,
		"Zürich":                `'ü' at position 2`,
		strings.Repeat("x", 33): "33 characters long",
		"a/b":                   `'/' at position 2`,
	}
	for name, want := range invalid {
		err := ValidateName(name)
		if err == nil {
			t.Errorf("ValidateName(%q) accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateName(%q) = %q, want it to contain %q", name, err, want)
		}
	}
}

func TestValidateCode(t *testing.T) {
	if err := ValidateCode("aws-eu-west.1"); err != nil {
		t.Errorf("ValidateCode = %v", err)
	}
	err := ValidateCode("London")
	if err == nil || !strings.Contains(err.Error(), `try "london"`) {
		t.Errorf("ValidateCode(London) = %v, want a lower-case suggestion", err)
	}
	if err := ValidateCode("a b"); err == nil || !strings.Contains(err.Error(), `"a b"`) {
		t.Errorf("ValidateCode(a b) = %v, want one naming the value", err)
	}
}

func TestCodeFromName(t *testing.T) {
	if got := CodeFromName("AWS-EU.West_1"); got != "aws-eu.west_1" {
		t.Errorf("CodeFromName = %q", got)
	}
	if err := ValidateCode(CodeFromName("Stockholm")); err != nil {
		t.Errorf("code made from a valid name is invalid: %v", err)
	}
}

func TestParseMetadata(t *testing.T) {
	got, err := ParseMetadata("# comment\nregion = eu-west\n\nracks=3\nlive = true\nnote = \"42\"\nempty =\n")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"region": "eu-west", "racks": float64(3), "live": true, "note": "42", "empty": ""}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d keys, want %d: %v", len(got), len(want), got)
	}
}

func TestParseMetadataNamesBadLine(t *testing.T) {
	cases := map[string]string{
		"a = 1\nno equals here\n": "line 2",
		"a = 1\n = 2\n":           "line 2 \"= 2\" has no key",
		"my key = 1":              `key "my key" contains white space`,
		"a = 1\nb = 2\na = 3":     `line 3: key "a" is given twice`,
	}
	for text, want := range cases {
		_, err := ParseMetadata(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMetadata(%q) = %v, want it to contain %q", text, err, want)
		}
	}
}

func TestFormatMetadataRoundTrip(t *testing.T) {
	in := map[string]any{"region": "eu-west", "racks": float64(3), "quoted": `"x"`, "numeric": "42",
		"spaced": " padded ", "tags": []any{"a", "b"}, "live": false}
	text := FormatMetadata(in)
	back, err := ParseMetadata(text)
	if err != nil {
		t.Fatalf("ParseMetadata(%q): %v", text, err)
	}
	for k, v := range in {
		got, _ := json.Marshal(back[k])
		want, _ := json.Marshal(v)
		if string(got) != string(want) {
			t.Errorf("%s: round trip = %s, want %s (text %q)", k, got, want, text)
		}
	}
	if !strings.HasPrefix(text, "live = false\nnumeric = \"42\"\n") {
		t.Errorf("FormatMetadata is not sorted or typed: %q", text)
	}
}
