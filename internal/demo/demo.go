// Package demo serves the bundled demo city to whatever loads it (the demo
// command, tests) as a city-model source, so that every loader goes through
// the same validating import pipeline.
package demo

import (
	"io"

	"bulwark"
	"bulwark/internal/citymodel"
	"bulwark/internal/generate"
)

// CitySource is the Port Halden demo city as a city-model YAML source,
// encoded on the fly as it is read.
func CitySource() citymodel.Source {
	return citymodel.Source{Name: "demo city", Open: func() (io.ReadCloser, error) {
		pr, pw := io.Pipe()
		go func() {
			enc := citymodel.NewEncoder(pw)
			err := generate.Demo(func(c *bulwark.City) error { return enc.Encode(c) })
			if err == nil {
				err = enc.Close()
			}
			pw.CloseWithError(err)
		}()
		return pr, nil
	}}
}
