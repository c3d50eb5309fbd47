package api

import (
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/citymodel"
)

// Password length bounds for new users (NIST SP 800-63B: at least 8, allow
// long passphrases; the upper bound keeps hashing cheap to refuse).
const minPasswordLen, maxPasswordLen = 12, auth.MaxPasswordLen

type createUserRequest struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

type createTokenRequest struct {
	Name      string `json:"name"`
	ExpiresIn string `json:"expires_in,omitempty"` // duration such as 90d; empty: never
}

type createTokenResponse struct {
	Token  tokenDTO `json:"token"`
	Secret string   `json:"secret"` // shown once
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	users, err := a.st.ListUsers(r.Context())
	if err != nil {
		return err
	}
	out := make([]userDTO, 0, len(users))
	for i := range users {
		out = append(out, toUser(&users[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// createUser adds a user to the caller's organization; the organization is
// never taken from the request.
func (a *API) createUser(w http.ResponseWriter, r *http.Request) error {
	var req createUserRequest
	if err := a.decodeBody(w, r, &req); err != nil {
		return err
	}
	var problems []bulwark.Problem
	email := bulwark.NormalizeEmail(req.Email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 254 {
		problems = append(problems, bulwark.Problem{Field: "email", Message: "must be a plain e-mail address such as ana@example.org"})
	}
	if n := utf8.RuneCountInString(strings.TrimSpace(req.Name)); n < 1 || n > 200 || !utf8.ValidString(req.Name) {
		problems = append(problems, bulwark.Problem{Field: "name", Message: "must be 1 to 200 characters"})
	}
	if !bulwark.ValidRole(bulwark.Role(req.Role)) {
		problems = append(problems, bulwark.Problem{Field: "role", Message: "must be admin, analyst or viewer"})
	}
	if n := utf8.RuneCountInString(req.Password); n < minPasswordLen || len(req.Password) > maxPasswordLen {
		problems = append(problems, bulwark.Problem{Field: "password", Message: "must be at least 12 characters (and at most 1024 bytes)"})
	}
	if len(problems) > 0 {
		return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid user", Details: problems}
	}
	hash, err := a.auth.HashPassword(req.Password)
	if err != nil {
		return err
	}
	u := &bulwark.User{Org: principal(r).Org, Email: email, Name: strings.TrimSpace(req.Name), Role: bulwark.Role(req.Role), PasswordHash: hash, CreatedAt: time.Now().UTC()}
	if err := a.st.CreateUser(r.Context(), u); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toUser(u))
	return nil
}

// pathInt64 reads a numeric {id}; anything else is answered like a missing
// object.
func pathInt64(r *http.Request, what string) (int64, error) {
	if len(r.URL.RawQuery) > 0 {
		return 0, bulwark.Errorf(bulwark.EINVALID, "this route takes no query parameters")
	}
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != s {
		return 0, bulwark.Errorf(bulwark.ENOTFOUND, "%s not found", what)
	}
	return id, nil
}

func (a *API) disableUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt64(r, "user")
	if err != nil {
		return err
	}
	if r.ContentLength > 0 {
		return bulwark.Errorf(bulwark.EINVALID, "this route takes no request body")
	}
	if id == principal(r).UserID {
		return bulwark.Errorf(bulwark.ECONFLICT, "you cannot disable your own account")
	}
	if err := a.st.SetUserDisabled(r.Context(), id, true); err != nil {
		return err
	}
	u, err := a.st.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUser(u))
	return nil
}

// visibleTokens returns the tokens the caller may manage: its own, and for
// admins those of every user of the organization (as the store scopes them).
func (a *API) visibleTokens(r *http.Request) ([]bulwark.Token, error) {
	ts, err := a.st.ListTokens(r.Context())
	if err != nil {
		return nil, err
	}
	p := principal(r)
	if p.System || p.Role == bulwark.RoleAdmin {
		return ts, nil
	}
	own := ts[:0]
	for _, t := range ts {
		if t.UserID == p.UserID {
			own = append(own, t)
		}
	}
	return own, nil
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	ts, err := a.visibleTokens(r)
	if err != nil {
		return err
	}
	out := make([]tokenDTO, 0, len(ts))
	for i := range ts {
		out = append(out, toToken(&ts[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

// createToken makes an API token for the caller, with the caller's role.
func (a *API) createToken(w http.ResponseWriter, r *http.Request) error {
	var req createTokenRequest
	if err := a.decodeBody(w, r, &req); err != nil {
		return err
	}
	name := strings.TrimSpace(req.Name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 100 {
		return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid token", Details: []bulwark.Problem{{Field: "name", Message: "must be 1 to 100 characters"}}}
	}
	now := time.Now().UTC()
	t := &bulwark.Token{UserID: principal(r).UserID, Name: name, CreatedAt: now}
	if req.ExpiresIn != "" {
		d, err := citymodel.ParseDuration(req.ExpiresIn)
		if err != nil || d < time.Minute || d > 5*365*24*time.Hour {
			return &bulwark.Error{Code: bulwark.EINVALID, Message: "invalid token", Details: []bulwark.Problem{{Field: "expires_in", Message: "must be a duration from 1m to 1825d, such as 90d"}}}
		}
		t.ExpiresAt = now.Add(d)
	}
	secret, hash, err := auth.NewToken()
	if err != nil {
		return err
	}
	t.Hash = hash
	if err := a.st.CreateToken(r.Context(), t); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createTokenResponse{Token: toToken(t), Secret: secret})
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathInt64(r, "token")
	if err != nil {
		return err
	}
	ts, err := a.visibleTokens(r)
	if err != nil {
		return err
	}
	found := false
	for _, t := range ts {
		found = found || t.ID == id
	}
	if !found {
		return bulwark.Errorf(bulwark.ENOTFOUND, "token not found")
	}
	if err := a.st.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

const defaultAuditLimit, maxAuditLimit = 100, 1000

func (a *API) listAudit(w http.ResponseWriter, r *http.Request) error {
	q, err := queryValues(r, "after", "limit")
	if err != nil {
		return err
	}
	after, limit := int64(0), defaultAuditLimit
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return bulwark.Errorf(bulwark.EINVALID, "after must be a sequence number >= 0")
		}
	}
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > maxAuditLimit {
			return bulwark.Errorf(bulwark.EINVALID, "limit must be an integer from 1 to %d", maxAuditLimit)
		}
	}
	es, err := a.st.ListAudit(r.Context(), after, limit)
	if err != nil {
		return err
	}
	out := pageDTO[auditDTO]{Items: make([]auditDTO, 0, len(es))}
	for i := range es {
		out.Items = append(out.Items, toAudit(&es[i]))
	}
	if len(es) == limit {
		out.Next = strconv.FormatInt(es[len(es)-1].Seq, 10)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type auditVerifyDTO struct {
	Scope    string `json:"scope"` // "system": the whole chain; "organization": the caller's entries
	Verified int    `json:"verified"`
	OK       bool   `json:"ok"`
	Problem  string `json:"problem,omitempty"`
}

// verifyAudit checks the hash chain. The System principal sees the whole log
// and checks the chain link by link; an organization's admin sees only the
// organization's entries, so each entry's hash is checked, and the links
// between entries that are adjacent in the log.
func (a *API) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryValues(r); err != nil {
		return err
	}
	p := principal(r)
	res := auditVerifyDTO{Scope: "organization", OK: true}
	if p.System {
		res.Scope = "system"
	}
	var prev bulwark.AuditEntry
	for after := int64(0); ; {
		es, err := a.st.ListAudit(r.Context(), after, maxAuditLimit)
		if err != nil {
			return err
		}
		for _, e := range es {
			switch {
			case e.ComputeHash() != e.Hash:
				res.Problem = "entry " + strconv.FormatInt(e.Seq, 10) + " was altered (hash mismatch)"
			case e.Seq == prev.Seq+1 && e.Prev != prev.Hash:
				res.Problem = "entry " + strconv.FormatInt(e.Seq, 10) + " does not chain to the entry before it"
			case p.System && e.Seq != prev.Seq+1:
				res.Problem = "entry " + strconv.FormatInt(prev.Seq+1, 10) + " is missing"
			}
			if res.Problem != "" {
				res.OK = false
				writeJSON(w, http.StatusOK, res)
				return nil
			}
			prev = e
			res.Verified++
		}
		if len(es) < maxAuditLimit {
			break
		}
		after = es[len(es)-1].Seq
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
