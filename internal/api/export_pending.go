package api

import (
	"context"
	"io"

	"bulwark"
)

var cityExport = func(ctx context.Context, st bulwark.CityStore, w io.Writer) error {
	return bulwark.Errorf(bulwark.EUNSUPPORTED, "export is not available yet")
}
