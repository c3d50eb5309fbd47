// Package httperr holds the one table from Bulwark's error codes to HTTP
// statuses, shared by the REST API and the web pages so that both answer
// the same failure the same way.
package httperr

import (
	"net/http"

	"bulwark"
)

var statusOf = map[string]int{
	bulwark.EINVALID:      http.StatusBadRequest,
	bulwark.ENOTFOUND:     http.StatusNotFound,
	bulwark.ECONFLICT:     http.StatusConflict,
	bulwark.EUNAUTHORIZED: http.StatusUnauthorized,
	bulwark.EFORBIDDEN:    http.StatusForbidden,
	bulwark.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	bulwark.ERATELIMIT:    http.StatusTooManyRequests,
	bulwark.EINTERNAL:     http.StatusInternalServerError,
	bulwark.EUNAVAILABLE:  http.StatusServiceUnavailable,
	bulwark.ECANCELED:     http.StatusRequestTimeout,
	bulwark.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
}

// Status returns the HTTP status for an error code, and false for a code
// it does not know (which callers answer as an internal error).
func Status(code string) (int, bool) {
	s, ok := statusOf[code]
	return s, ok
}

// StatusOf returns the HTTP status for err: 500 for anything that is not a
// *bulwark.Error of a known code.
func StatusOf(err error) int {
	if s, ok := statusOf[bulwark.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}
