package intelfeed_test

// End to end: two Bulwark servers as "bulwark serve --tls-cert --tls-key"
// runs them (internal/app), on loopback. The partner (an ISAC) serves its
// collection over TAXII 2.1 with TLS; the city subscribes through its REST
// API, and its job queue pulls the feed on its own.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark"
	"bulwark/internal/app"
	"bulwark/internal/auth"
	"bulwark/internal/intelfeed"
	"bulwark/internal/sharing"
	"bulwark/internal/stix"
)

// certFor writes a self-signed certificate for 127.0.0.1 and returns the
// files and the PEM.
func certFor(t *testing.T, dir string) (certFile, keyFile, pemText string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "partner"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	pemText = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	os.WriteFile(certFile, []byte(pemText), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, pemText
}

type instance struct {
	m   *app.Main
	url string
}

// serve starts a Bulwark with organizations orgs (the first a city) over
// TLS.
func serve(t *testing.T, orgs ...string) (*instance, string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, pemText := certFor(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	m, err := app.Open(ctx, app.Config{DB: filepath.Join(dir, "b.db"), Addr: "127.0.0.1:0", TLSCert: certFile, TLSKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	sys := bulwark.WithPrincipal(ctx, bulwark.SystemPrincipal())
	tx, err := m.Store.BeginImport(sys)
	if err != nil {
		t.Fatal(err)
	}
	var list []bulwark.Organization
	for i, id := range orgs {
		p := bulwark.PurviewPrivate
		if i == 0 {
			p = bulwark.PurviewCity
		}
		list = append(list, bulwark.Organization{ID: id, Name: id, Purview: p})
	}
	tx.PutOrganizations(sys, list)
	if _, err := tx.Commit(sys); err != nil {
		t.Fatal(err)
	}
	u, err := m.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { m.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; m.Close() })
	return &instance{m: m, url: u}, pemText
}

// user creates a user with a password and an API token.
func (in *instance) user(t *testing.T, org, email string, role bulwark.Role) (u *bulwark.User, password, token string) {
	t.Helper()
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	password = "pw of " + email
	hash, err := auth.HashPasswordParams(password, auth.Params{Memory: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	u = &bulwark.User{Org: org, Email: email, Name: email, Role: role, PasswordHash: hash}
	if err := in.m.Store.CreateUser(sys, u); err != nil {
		t.Fatal(err)
	}
	secret, th, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := in.m.Store.CreateToken(sys, &bulwark.Token{UserID: u.ID, Name: "e2e", Hash: th}); err != nil {
		t.Fatal(err)
	}
	return u, password, secret
}

func ctxOf(u *bulwark.User) context.Context {
	return bulwark.WithPrincipal(context.Background(), bulwark.Principal{UserID: u.ID, Org: u.Org, Role: u.Role, Name: u.Email})
}

func TestE2EScheduledPullBetweenTwoServers(t *testing.T) {
	t.Setenv(intelfeed.AllowLoopbackEnv, "1")
	t.Setenv(intelfeed.KeyEnv, "")

	// The ISAC: a community with the city as a member, and 40 indicators.
	isac, isacPEM := serve(t, "isac", "city-member")
	isacAdmin, _, _ := isac.user(t, "isac", "admin@isac.example", bulwark.RoleAdmin)
	reader, readerPW, _ := isac.user(t, "city-member", "city@isac.example", bulwark.RoleViewer)
	if err := isac.m.Sharing.CreateCommunity(ctxOf(isacAdmin), &bulwark.Community{ID: "members", Name: "Members",
		Members: []bulwark.CommunityMember{{Org: "isac", Owner: true}, {Org: "city-member"}}}); err != nil {
		t.Fatal(err)
	}
	src := &bulwark.Collection{Community: "members", Title: "Indicators"}
	if err := isac.m.Sharing.CreateCollection(ctxOf(isacAdmin), src); err != nil {
		t.Fatal(err)
	}
	var objs []*stix.Object
	ts := stix.FormatTimestamp(time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond))
	for i := range 40 {
		marking := stix.Green.ID()
		if i%4 == 0 {
			marking = stix.Amber.ID()
		}
		o, err := stix.ParseObject([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--%08d-9dad-41d1-80b4-00c04fd430c8","created":%q,"modified":%q,`+
			`"name":"C2 %d","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":%q,"object_marking_refs":[%q]}`, i, ts, ts, i, i, ts, marking)), stix.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	if st, err := isac.m.Sharing.AddObjects(ctxOf(isacAdmin), src.ID, objs, sharing.AddOptions{}); err != nil || len(st.Failures) > 0 {
		t.Fatalf("seed the ISAC: %v %+v", err, st)
	}

	// The city: a collection its CISO office writes and water reads.
	city, _ := serve(t, "city", "water")
	cityAdmin, _, cityToken := city.user(t, "city", "ciso@city.example", bulwark.RoleAdmin)
	waterUser, _, _ := city.user(t, "water", "ops@water.example", bulwark.RoleAnalyst)
	if err := city.m.Sharing.CreateCommunity(ctxOf(cityAdmin), &bulwark.Community{ID: "metro", Name: "Metro",
		Members: []bulwark.CommunityMember{{Org: "city", Owner: true}, {Org: "water"}}}); err != nil {
		t.Fatal(err)
	}
	dst := &bulwark.Collection{Community: "metro", Title: "Partner intel", Access: []bulwark.CollectionAccess{
		{Org: "city", CanRead: true, CanWrite: true}, {Org: "water", CanRead: true}}}
	if err := city.m.Sharing.CreateCollection(ctxOf(cityAdmin), dst); err != nil {
		t.Fatal(err)
	}

	// Subscribe through the city's REST API, over TLS.
	body, _ := json.Marshal(map[string]any{"name": "ISAC indicators", "server_url": isac.url + "/taxii2/", "collection": src.ID, "target": dst.ID,
		"auth": "basic", "username": reader.Email, "password": readerPW, "ca_cert": isacPEM, "interval_seconds": 3600})
	cityPool := x509.NewCertPool()
	cityPool.AppendCertsFromPEM([]byte(mustCityPEM(t, city)))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig(cityPool)}, Timeout: 30 * time.Second}
	req, _ := http.NewRequest("POST", city.url+"/api/v1/intel/feeds", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cityToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated || strings.Contains(string(rb), readerPW) {
		t.Fatalf("create: %d %s", res.StatusCode, rb)
	}
	var f struct{ ID string }
	json.Unmarshal(rb, &f)

	// The city's job queue pulls it on its own (a new feed is due at once).
	sys := bulwark.WithPrincipal(context.Background(), bulwark.SystemPrincipal())
	deadline := time.Now().Add(60 * time.Second)
	var got *bulwark.IntelFeed
	for {
		got, err = city.m.Store.FindIntelFeed(sys, f.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.LastSuccess.IsZero() || got.Failures > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.LastSuccess.IsZero() || got.Imported != 40 || got.Failures != 0 {
		t.Fatalf("scheduled pull: %+v", got.IntelFeedState)
	}
	// What landed, as whom: the city sees all 40; water (a reader of the
	// collection) the 30 GREEN ones — the ISAC's AMBER stays in the city.
	count := func(u *bulwark.User) int {
		p, err := city.m.Sharing.Manifest(ctxOf(u), dst.ID, sharing.Query{Limit: 1000}, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(p.Items)
	}
	if n := count(cityAdmin); n != 40 {
		t.Errorf("the city sees %d objects, want 40", n)
	}
	if n := count(waterUser); n != 30 {
		t.Errorf("water sees %d objects, want 30 (the GREEN ones)", n)
	}
}

func tlsConfig(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
}

func mustCityPEM(t *testing.T, in *instance) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(filepath.Dir(in.m.Config.DB), "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
