package api

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"

	"bulwark"
	"bulwark/internal/citymodel"
)

// MaxImportBytes caps an import request body and, since gzip bodies are
// accepted, its decompressed size too.
const MaxImportBytes = 64 << 20

// acquire waits for one of the import/export slots: each holds up to 64 MiB
// of spooled input and a store transaction, so they are few.
func (a *API) acquire(r *http.Request) (release func(), err error) {
	select {
	case a.sem <- struct{}{}:
		return func() { <-a.sem }, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// importCity imports a city model: YAML (application/yaml, the default) or
// a CSV asset inventory (text/csv), optionally gzip-compressed. The body is
// spooled to a temporary file so that memory stays bounded; the import is
// all or nothing.
func (a *API) importCity(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	name := "request.yaml"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "malformed Content-Type")
		}
		switch mt {
		case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "application/gzip", "application/octet-stream":
		case "text/csv":
			name = "request.csv"
		default:
			return bulwark.Errorf(bulwark.EUNSUPPORTED, "Content-Type %s is not supported: send application/yaml or text/csv", mt)
		}
	}
	if r.ContentLength > MaxImportBytes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "import body is larger than %d bytes; import large models with the bulwark import command", MaxImportBytes)
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()

	f, err := os.CreateTemp("", "bulwark-import-*")
	if err != nil {
		return fmt.Errorf("spool import: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	n, err := io.Copy(f, io.LimitReader(r.Body, MaxImportBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return bulwark.Errorf(bulwark.ETOOLARGE, "import body is larger than %d bytes", MaxImportBytes)
		}
		return bulwark.Errorf(bulwark.EINVALID, "could not read the request body")
	}
	if n > MaxImportBytes {
		return bulwark.Errorf(bulwark.ETOOLARGE, "import body is larger than %d bytes; import large models with the bulwark import command", MaxImportBytes)
	}
	if n == 0 {
		return bulwark.Errorf(bulwark.EINVALID, "request body is empty; send a city model")
	}
	src := citymodel.Source{Name: name, Open: func() (io.ReadCloser, error) {
		return os.Open(f.Name())
	}}
	opt := citymodel.ImportOptions{MaxBytes: MaxImportBytes}
	if name == "request.csv" {
		// An inventory posted by an organization is that organization's,
		// unless rows say otherwise (and the store refuses foreign owners).
		opt.CSV.Defaults = map[string]string{"owner": principal(r).Org}
	}
	res, err := citymodel.Import(r.Context(), a.st, []citymodel.Source{src}, opt)
	if err != nil {
		return err
	}
	// The inventory changed: reconcile findings with it before answering.
	if _, _, err := a.vs.AfterCityChange(r.Context(), res.Stats); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, importResultDTO{
		Files: res.Files, Organizations: res.Organizations, Services: res.Services, Systems: res.Systems,
		Assets: res.Assets, Dependencies: res.Dependencies,
		Created: res.Stats.Created, Updated: res.Stats.Updated, Unchanged: res.Stats.Unchanged,
	})
	return nil
}

// exportCity writes everything the caller sees as city-model YAML. It is
// written to a temporary file first so that a failure half-way is reported
// as an error instead of a truncated 200.
func (a *API) exportCity(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	release, err := a.acquire(r)
	if err != nil {
		return err
	}
	defer release()
	f, err := os.CreateTemp("", "bulwark-export-*")
	if err != nil {
		return fmt.Errorf("spool export: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := citymodel.Export(r.Context(), a.st, bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("spool export: %w", err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("spool export: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool export: %w", err)
	}
	p := principal(r)
	if err := a.st.AppendAudit(r.Context(), bulwark.AuditEntry{Org: p.Org, Actor: p.Name, Action: "city.export", Outcome: "ok", Detail: fmt.Sprintf("%d bytes", size)}); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/yaml")
	h.Set("Content-Disposition", `attachment; filename="city.yaml"`)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", fmt.Sprint(size))
	io.Copy(w, f)
	return nil
}
