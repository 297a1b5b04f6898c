package model

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLength is the longest site name or code accsyn accepts, in characters.
const MaxNameLength = 32

// ValidateName checks a site name: 1 to 32 characters from A-Z, a-z, 0-9,
// '_', '.' and '-'. The error names the value, the offending character and
// the rule.
func ValidateName(name string) error {
	return validateIdent("name", name, false)
}

// ValidateCode checks a site code: 1 to 32 characters from a-z, 0-9, '_',
// '.' and '-'.
func ValidateCode(code string) error {
	return validateIdent("code", code, true)
}

// CodeFromName returns the code accsyn makes for a site created without one:
// the name in lower case.
func CodeFromName(name string) string {
	return strings.ToLower(name)
}

func validateIdent(field, value string, lower bool) error {
	if value == "" {
		return fmt.Errorf("site %s is required: use 1 to %d characters", field, MaxNameLength)
	}
	if n := utf8.RuneCountInString(value); n > MaxNameLength {
		return fmt.Errorf("site %s %q is %d characters long: use at most %d", field, value, n, MaxNameLength)
	}
	for i, r := range []rune(value) {
		if allowedIdentRune(r, lower) {
			continue
		}
		allowed := "letters A-Z a-z, digits 0-9, '_', '.' or '-'"
		if lower {
			allowed = "lower-case letters a-z, digits 0-9, '_', '.' or '-'"
			if r >= 'A' && r <= 'Z' {
				return fmt.Errorf("site %s %q has upper-case %q at position %d: codes are lower case, try %q",
					field, value, r, i+1, strings.ToLower(value))
			}
		}
		return fmt.Errorf("site %s %q has %q at position %d: use only %s", field, value, r, i+1, allowed)
	}
	return nil
}

func allowedIdentRune(r rune, lower bool) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
		return true
	case r >= 'A' && r <= 'Z':
		return !lower
	}
	return false
}
