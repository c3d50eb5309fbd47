package generate

import (
	"testing"

	"bulwark"
)

func generateChecked(t testing.TB, opt Options) (*cityCheck, []*bulwark.City) {
	t.Helper()
	c := newCityCheck()
	var chunks []*bulwark.City
	err := Generate(opt, func(ch *bulwark.City) error {
		c.chunk(ch)
		chunks = append(chunks, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opt, err)
	}
	for _, p := range c.finish() {
		t.Errorf("Generate(%+v): %s", opt, p)
	}
	return c, chunks
}

func TestGenerateValid(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100, 1000, 10000} {
		c, _ := generateChecked(t, Options{Assets: n, Seed: int64(n) + 1})
		if c.assets != n {
			t.Errorf("N=%d: got %d asset entries", n, c.assets)
		}
		t.Logf("N=%d: %d units, %d chunks", n, c.units, c.chunks)
	}
}
