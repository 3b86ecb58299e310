package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"gorm.io/gorm"

	"github.com/securo/webhooks/models"
)

const accountsUsage = `usage:
  securo accounts create --name NAME [--json]
  securo accounts keys list   --account NAME [--json]
  securo accounts keys create --account NAME [--name LABEL] [--json]
  securo accounts keys revoke --account NAME --id KEY_ID [--json]`

func runAccounts(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch {
	case len(args) >= 1 && args[0] == "create":
		return runAccountsCreate(ctx, args[1:], getenv, stdout, stderr)
	case len(args) >= 2 && args[0] == "keys":
		return runKeys(ctx, args[1], args[2:], getenv, stdout, stderr)
	default:
		return errors.New(accountsUsage)
	}
}

// openAccountStore opens the database for commands that touch only accounts
// and keys, so they need no encryption key.
func openAccountStore(ctx context.Context, getenv func(string) string) (*models.Store, func(), error) {
	cfg, err := loadConfig(getenv, false, "./.securo")
	if err != nil {
		return nil, nil, err
	}
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	return models.NewStore(db, nil), func() { closeDB(db) }, nil
}

func runAccountsCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("securo accounts create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the account's name (unique)")
	asJSON := fs.Bool("json", false, `print {"account": {"id", "name"}, "api_key"}`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	store, done, err := openAccountStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer done()
	acct, key, err := store.CreateAccount(ctx, *name)
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return fmt.Errorf("an account named %q already exists; pick another --name", *name)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		type account struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		return json.NewEncoder(stdout).Encode(struct {
			Account account `json:"account"`
			APIKey  string  `json:"api_key"`
		}{account{acct.ID, acct.Name}, key})
	}
	fmt.Fprintf(stdout, "Created account %s (%s).\nAPI key (shown once, keep it secret): %s\n", acct.Name, acct.ID, key)
	return nil
}

// keyJSON is a key as `accounts keys --json` prints it: never the key
// itself, except once in APIKey when it is created.
type keyJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	APIKey    string     `json:"api_key,omitempty"`
}

func keyOut(k models.APIKey) keyJSON {
	return keyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC(), RevokedAt: k.RevokedAt}
}

func runKeys(ctx context.Context, verb string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("securo accounts keys "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	account := fs.String("account", "", "the account's name")
	asJSON := fs.Bool("json", false, "print JSON")
	var name, id *string
	switch verb {
	case "list":
	case "create":
		name = fs.String("name", "", "what the key is for, for people")
	case "revoke":
		id = fs.String("id", "", "the key's id (key_...), as `keys list` shows it")
	default:
		return errors.New(accountsUsage)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *account == "" {
		return errors.New("--account is required")
	}
	if id != nil && *id == "" {
		return errors.New("--id is required; `securo accounts keys list --account " + *account + "` shows the ids")
	}
	store, done, err := openAccountStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer done()
	acct, err := store.AccountByName(ctx, *account)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("no account named %q", *account)
	}
	if err != nil {
		return err
	}

	switch verb {
	case "create":
		return keysCreate(ctx, store, acct, *name, *asJSON, stdout)
	case "revoke":
		return keysRevoke(ctx, store, acct, *id, *asJSON, stdout)
	default:
		return keysList(ctx, store, acct, *asJSON, stdout)
	}
}

func keysCreate(ctx context.Context, store *models.Store, acct models.Account, name string, asJSON bool, stdout io.Writer) error {
	row, key, err := store.CreateAPIKey(ctx, acct.ID, name)
	if errors.Is(err, models.ErrTooManyAPIKeys) {
		return fmt.Errorf("account %s already has %d live keys; revoke one first", acct.Name, models.MaxLiveAPIKeys)
	}
	if err != nil {
		return err
	}
	if asJSON {
		out := keyOut(row)
		out.APIKey = key
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "Created key %s for account %s.\nAPI key (shown once, keep it secret): %s\n", row.ID, acct.Name, key)
	return nil
}

func keysRevoke(ctx context.Context, store *models.Store, acct models.Account, id string, asJSON bool, stdout io.Writer) error {
	row, err := store.RevokeAPIKey(ctx, acct.ID, id)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return fmt.Errorf("account %s has no key %s", acct.Name, id)
	case errors.Is(err, models.ErrLastAPIKey):
		return fmt.Errorf("key %s is the last live key of account %s; create another first (`securo accounts keys create --account %s`)", id, acct.Name, acct.Name)
	case err != nil:
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(keyOut(row))
	}
	fmt.Fprintf(stdout, "Revoked key %s (%s...) of account %s.\n", row.ID, row.Prefix, acct.Name)
	return nil
}

func keysList(ctx context.Context, store *models.Store, acct models.Account, asJSON bool, stdout io.Writer) error {
	all := []keyJSON{}
	page := models.Page{Limit: 100}
	for {
		rows, next, err := store.ListAPIKeys(ctx, acct.ID, page)
		if err != nil {
			return err
		}
		for _, k := range rows {
			all = append(all, keyOut(k))
		}
		if next == "" {
			break
		}
		page.Cursor = next
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(all)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tCREATED\tREVOKED")
	for _, k := range all {
		revoked := "-"
		if k.RevokedAt != nil {
			revoked = k.RevokedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s...\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, k.CreatedAt.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}
