// Package bulwark holds the domain of Bulwark, a cyber-resilience platform for
// cities: the nouns (organizations, services, systems, assets, dependencies,
// users), the error vocabulary, and the store interfaces that storage
// packages implement. It imports nothing but the standard library, so every
// engine can be tested without a database or an HTTP server.
package bulwark

import (
	"errors"
	"fmt"
)

// Error codes. They are translated to HTTP statuses and CLI exit codes only
// at the edges (internal/api, internal/cli).
const (
	EINVALID      = "invalid"       // the caller sent something malformed
	ENOTFOUND     = "not_found"     // missing, or not visible to the caller
	ECONFLICT     = "conflict"      // violates a uniqueness or state rule
	EUNAUTHORIZED = "unauthorized"  // no valid credentials
	EFORBIDDEN    = "forbidden"     // credentials valid, right missing
	ETOOLARGE     = "too_large"     // input beyond a documented size cap
	ERATELIMIT    = "rate_limited"  // too many attempts
	EINTERNAL     = "internal"      // a bug or an outage; never shown in detail
	EUNAVAILABLE  = "unavailable"   // a dependency (database) is down
	ECANCELED     = "canceled"      // the caller gave up
	EUNSUPPORTED  = "not_supported" // a feature or format Bulwark does not handle
)

// Error is an error whose message is safe to show to the caller. Anything
// that is not an *Error is reported to users as "internal error".
type Error struct {
	Code    string
	Message string
	// Details lists every problem found when there is more than one (for
	// example each line of a city file that failed validation).
	Details []Problem
}

// Problem is one located problem in an input: where, which field, and why.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// String renders the problem as "file:line:col: field: message".
func (p Problem) String() string {
	s := ""
	if p.File != "" {
		s = p.File + ":"
	}
	if p.Line > 0 {
		s += fmt.Sprintf("%d:", p.Line)
		if p.Column > 0 {
			s += fmt.Sprintf("%d:", p.Column)
		}
	}
	if s != "" {
		s += " "
	}
	if p.Field != "" {
		s += p.Field + ": "
	}
	return s + p.Message
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return e.Message
	}
	msg := e.Message
	for _, p := range e.Details {
		msg += "\n  " + p.String()
	}
	return msg
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the safe message of the first *Error in err's chain,
// or "internal error" so that internals never reach a user.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorDetails returns the located problems of the first *Error in err's chain.
func ErrorDetails(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
