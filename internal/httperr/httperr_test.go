package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"bulwark"
)

func TestEveryCodeHasAStatus(t *testing.T) {
	for _, code := range []string{bulwark.EINVALID, bulwark.ENOTFOUND, bulwark.ECONFLICT, bulwark.EUNAUTHORIZED, bulwark.EFORBIDDEN,
		bulwark.ETOOLARGE, bulwark.ERATELIMIT, bulwark.EINTERNAL, bulwark.EUNAVAILABLE, bulwark.ECANCELED, bulwark.EUNSUPPORTED} {
		s, ok := Status(code)
		if !ok || s < 400 || s > 599 {
			t.Errorf("Status(%q) = %d, %v", code, s, ok)
		}
	}
	if _, ok := Status("made-up"); ok {
		t.Error("an unknown code has no status")
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{bulwark.Errorf(bulwark.ENOTFOUND, "x"), http.StatusNotFound},
		{fmt.Errorf("wrapped: %w", bulwark.Errorf(bulwark.ERATELIMIT, "x")), http.StatusTooManyRequests},
		{errors.New("driver: connection refused"), http.StatusInternalServerError},
	} {
		if got := StatusOf(tc.err); got != tc.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
