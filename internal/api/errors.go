package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/httperr"
)

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDTO `json:"error"`
}

type errorDTO struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Details []bulwark.Problem `json:"details,omitempty"`
}

// writeError answers err. Only *bulwark.Error messages reach the caller, and
// not even those for internal and unavailable errors; everything else is
// logged and answered 500 "internal error".
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		err = bulwark.Errorf(bulwark.ECANCELED, "request canceled")
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = bulwark.Errorf(bulwark.ETOOLARGE, "request body is larger than %d bytes", mbe.Limit)
	}
	code := bulwark.ErrorCode(err)
	status, ok := httperr.Status(code)
	if !ok {
		code, status = bulwark.EINTERNAL, http.StatusInternalServerError
	}
	body := errorBody{Error: errorDTO{Code: code, Message: bulwark.ErrorMessage(err), Details: bulwark.ErrorDetails(err)}}
	switch code {
	case bulwark.EINTERNAL:
		body.Error = errorDTO{Code: code, Message: "internal error"}
		a.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	case bulwark.EUNAVAILABLE:
		body.Error = errorDTO{Code: code, Message: "service unavailable; try again later"}
		a.log.Error("unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	case bulwark.EINVALID:
		if len(body.Error.Details) > 0 {
			status = http.StatusUnprocessableEntity
		}
	case bulwark.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="bulwark"`)
	case bulwark.ERATELIMIT:
		if after, ok := auth.RetryAfter(err); ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(after.Seconds())))
		}
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
