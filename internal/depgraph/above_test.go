package depgraph

import (
	"slices"
	"testing"

	"bulwark"
)

func TestServicesAbove(t *testing.T) {
	c := &bulwark.City{
		Organizations: []bulwark.Organization{{ID: "o", Name: "O", Purview: bulwark.PurviewCity}},
		Services: []bulwark.Service{
			{ID: "s1", Name: "S1", Owner: "o", DependsOn: []bulwark.Dependency{{On: "sys", Kind: bulwark.Hard}}},
			{ID: "s2", Name: "S2", Owner: "o", DependsOn: []bulwark.Dependency{{On: "s1", Kind: bulwark.Soft}}},
			{ID: "s3", Name: "S3", Owner: "o"},
		},
		Systems: []bulwark.System{{ID: "sys", Name: "Sys", Owner: "o"}},
		Assets:  []bulwark.Asset{{ID: "a", Name: "A", Owner: "o", Count: 1, System: "sys", SystemDependency: bulwark.Hard}},
	}
	g, err := Compile(FromCity(c))
	if err != nil {
		t.Fatal(err)
	}
	a := Analyze(g)
	x, _ := g.Lookup("a")
	var got []string
	for _, s := range a.ServicesAbove(x) {
		got = append(got, g.ID(s))
	}
	if want := []string{"s1", "s2"}; !slices.Equal(got, want) {
		t.Errorf("ServicesAbove(a) = %v, want %v (through the hard system edge and the soft service edge)", got, want)
	}
	y, _ := g.Lookup("s3")
	if got := a.ServicesAbove(y); len(got) != 1 || got[0] != y {
		t.Errorf("a service is above itself: %v", got)
	}
}
