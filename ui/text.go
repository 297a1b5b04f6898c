package ui

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// safeText makes text from the backend safe to draw on one line. Control
// characters become visible symbols (ESC is drawn as "␛", so "\x1b[2J" shows
// as "␛[2J" and clears nothing), C1 controls and invalid UTF-8 become
// escaped text, bidirectional overrides are dropped, and tabs and newlines
// become spaces.
func safeText(s string) string {
	if isPlain(s) {
		return s
	}
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		r, size := utf8.DecodeRuneInString(s[i:])
		w = size
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r == 0x7f:
			b.WriteRune('␡')
		case r < 0x20:
			b.WriteRune(0x2400 + r) // Control Pictures block: ␀ ␁ … ␛ …
		case r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\u%04x`, r)
		case isBidiControl(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safeLines sanitises multi-line backend text into lines.
func safeLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = safeText(p)
	}
	return parts
}

// isPlain reports whether s is printable ASCII, the common case, which
// needs no work.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c ||
		unicode.Is(unicode.Cf, r) && r != 0x200d && r != 0xfe0f
}

// width returns the cell width of s, escape sequences excluded.
func width(s string) int {
	if isPlain(s) {
		return len(s)
	}
	return lipgloss.Width(s)
}

// truncate cuts s to at most w cells, ending with "…" when cut. It never
// splits a wide character or an escape sequence.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// fit returns s cut or padded with spaces to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := width(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = width(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// fitRight returns s cut or padded on the left to exactly w cells.
func fitRight(s string, w int) string {
	s = truncate(s, w)
	if pad := w - width(s); pad > 0 {
		s = strings.Repeat(" ", pad) + s
	}
	return s
}

// wrapText wraps plain text to w cells per line.
func wrapText(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Wrap(s, w, " ")
}

// fitFrame makes a frame exactly w cells wide on every line and exactly h
// lines high, so no redraw can leave garbage or scroll the terminal.
func fitFrame(frame string, w, h int) string {
	lines := strings.Split(frame, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	var b strings.Builder
	for i := 0; i < h; i++ {
		line := ""
		if i < len(lines) {
			line = lines[i]
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(fit(line, w))
	}
	return b.String()
}
