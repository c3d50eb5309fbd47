package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"bulwark"
	"bulwark/internal/auth"
	"bulwark/internal/sqlstore"
)

func newUserCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users (add, list, disable, enable)"}
	var (
		ua            userAdd
		role          string
		passwordStdin bool
	)
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a user to an organization",
		Long: `Add creates a user of one organization with a role: admin (manage users
and tokens), analyst (read and write the organization's data) or viewer (read).
Without --password-stdin a random password is generated and printed once.`,
		Example: "  bulwark user add --org city-ciso --email ana@example.org --role admin\n  echo 's3cret-passphrase' | bulwark user add --org water --email bo@example.org --password-stdin",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ua.role = bulwark.Role(role)
			if !bulwark.ValidRole(ua.role) {
				return usageError{fmt.Sprintf("--role must be admin, analyst or viewer, not %q", role)}
			}
			if ua.org == "" || ua.email == "" {
				return usageError{"--org and --email are required"}
			}
			ua.passwordStdin = passwordStdin
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				return ua.run(ctx, e, db)
			})
		},
	}
	add.Flags().StringVar(&ua.org, "org", "", "organization ID (required)")
	add.Flags().StringVar(&ua.email, "email", "", "e-mail address used to log in (required)")
	add.Flags().StringVar(&ua.name, "name", "", "display name")
	add.Flags().StringVar(&role, "role", string(bulwark.RoleAnalyst), "admin, analyst or viewer")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")

	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				users, err := db.ListUsers(ctx)
				if err != nil {
					return err
				}
				if e.jsonOut {
					out := make([]map[string]any, len(users))
					for i, u := range users {
						out[i] = map[string]any{"id": u.ID, "org": u.Org, "email": u.Email, "name": u.Name, "role": u.Role,
							"disabled": u.Disabled, "created_at": u.CreatedAt.UTC().Format(time.RFC3339)}
					}
					return json.NewEncoder(e.stdout).Encode(out)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tORG\tEMAIL\tROLE\tDISABLED")
				for _, u := range users {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%t\n", u.ID, u.Org, u.Email, u.Role, u.Disabled)
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(list, e)

	setDisabled := func(use string, disabled bool) *cobra.Command {
		return &cobra.Command{
			Use:   use + " EMAIL",
			Short: strings.ToUpper(use[:1]) + use[1:] + " a user (disabling ends their sessions and tokens at once)",
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
					u, err := db.FindUserByEmail(ctx, bulwark.NormalizeEmail(args[0]))
					if err != nil {
						return err
					}
					if err := db.SetUserDisabled(ctx, u.ID, disabled); err != nil {
						return err
					}
					fmt.Fprintf(e.stdout, "user %s %sd\n", u.Email, use)
					return nil
				})
			},
		}
	}
	cmd.AddCommand(add, list, setDisabled("disable", true), setDisabled("enable", false))
	return cmd
}

func newTokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens (create, list, revoke)"}
	var (
		email, name string
		ttl         time.Duration
	)
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create an API token for a user; the secret is printed once",
		Example: "  bulwark token create --user ana@example.org --name ci --ttl 2160h",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" || name == "" {
				return usageError{"--user and --name are required"}
			}
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				u, err := db.FindUserByEmail(ctx, bulwark.NormalizeEmail(email))
				if err != nil {
					return err
				}
				secret, hash, err := auth.NewToken()
				if err != nil {
					return err
				}
				t := bulwark.Token{UserID: u.ID, Name: name, Hash: hash}
				if ttl > 0 {
					t.ExpiresAt = time.Now().Add(ttl).UTC()
				}
				if err := db.CreateToken(ctx, &t); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "token %d (%s) for %s:\n%s\n(shown once: send it as 'Authorization: Bearer <token>')\n", t.ID, name, u.Email, secret)
				return nil
			})
		},
	}
	create.Flags().StringVar(&email, "user", "", "e-mail of the token's user (required)")
	create.Flags().StringVar(&name, "name", "", "what the token is for (required)")
	create.Flags().DurationVar(&ttl, "ttl", 0, "lifetime, e.g. 720h (default: no expiry)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List API tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				toks, err := db.ListTokens(ctx)
				if err != nil {
					return err
				}
				if e.jsonOut {
					out := make([]map[string]any, len(toks))
					for i, t := range toks {
						m := map[string]any{"id": t.ID, "user_id": t.UserID, "name": t.Name, "revoked": t.Revoked,
							"created_at": t.CreatedAt.UTC().Format(time.RFC3339)}
						if !t.ExpiresAt.IsZero() {
							m["expires_at"] = t.ExpiresAt.UTC().Format(time.RFC3339)
						}
						out[i] = m
					}
					return json.NewEncoder(e.stdout).Encode(out)
				}
				tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tNAME\tCREATED\tEXPIRES\tREVOKED")
				for _, t := range toks {
					exp := "never"
					if !t.ExpiresAt.IsZero() {
						exp = t.ExpiresAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%t\n", t.ID, t.UserID, t.Name, t.CreatedAt.UTC().Format(time.RFC3339), exp, t.Revoked)
				}
				return tw.Flush()
			})
		},
	}
	addJSONFlag(list, e)

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageError{fmt.Sprintf("token ID must be a number, not %q", args[0])}
			}
			return e.withStore(func(ctx context.Context, db *sqlstore.DB) error {
				if err := db.RevokeToken(ctx, id); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "token %d revoked\n", id)
				return nil
			})
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// readOrGeneratePassword reads one line from stdin, or makes a random
// password when fromStdin is false.
func readOrGeneratePassword(e *env, fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		return rand.Text(), true, nil
	}
	line, err := bufio.NewReader(e.stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", false, usageError{"--password-stdin: no password on standard input"}
	}
	pw = strings.TrimRight(line, "\r\n")
	if len(pw) < 12 {
		return "", false, bulwark.Errorf(bulwark.EINVALID, "password must be at least 12 characters")
	}
	if len(pw) > 1024 {
		return "", false, bulwark.Errorf(bulwark.EINVALID, "password must be at most 1024 characters")
	}
	return pw, false, nil
}

// userAdd creates one user; init reuses it for the first admin.
type userAdd struct {
	org, email, name string
	role             bulwark.Role
	passwordStdin    bool
}

func (ua *userAdd) run(ctx context.Context, e *env, st bulwark.UserStore) error {
	password, generated, err := readOrGeneratePassword(e, ua.passwordStdin)
	if err != nil {
		return err
	}
	u := bulwark.User{Org: ua.org, Email: bulwark.NormalizeEmail(ua.email), Name: ua.name, Role: ua.role}
	if u.Name == "" {
		u.Name = u.Email
	}
	if u.PasswordHash, err = auth.HashPassword(password); err != nil {
		return err
	}
	if err := st.CreateUser(ctx, &u); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "user %s (%s) added to %s\n", u.Email, u.Role, u.Org)
	if generated {
		fmt.Fprintf(e.stdout, "password: %s\n(shown once; store it in a password manager)\n", password)
	}
	return nil
}

// randomWord is a short random string for demo passwords.
func randomWord() string { return strings.ToLower(rand.Text()[:12]) }
