package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"gorm.io/gorm"

	"github.com/securo/webhooks/models"
)

func runAccounts(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New(`usage: securo accounts create --name NAME [--json]`)
	}
	fs := flag.NewFlagSet("securo accounts create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the account's name (unique)")
	asJSON := fs.Bool("json", false, `print {"account": {"id", "name"}, "api_key"}`)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	cfg, err := loadConfig(getenv, false, "./.securo")
	if err != nil {
		return err
	}
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer closeDB(db)
	acct, key, err := models.NewStore(db, nil).CreateAccount(ctx, *name)
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
