package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
)

// runConfig prints the effective configuration of a command (api unless
// named: `securo config worker --http-addr ...`), every setting with its
// value and where it came from; secrets are masked.
func runConfig(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := cmdAPI
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var cfg config
	var err error
	switch cmd {
	case cmdAPI, cmdWorker:
		cfg, err = commandConfig("securo config "+cmd, cmd, args, getenv, stderr, nil, false)
	case cmdDev:
		var dev *devFlags
		cfg, err = commandConfig("securo config dev", cmdDev, args, getenv, stderr, func(fs *flag.FlagSet) func() string {
			dev = addDevFlags(fs)
			return func() string { return *dev.dataDir }
		}, false)
		if err == nil {
			cfg.override("TEMPORAL_ADDRESS", net.JoinHostPort("127.0.0.1", strconv.Itoa(*dev.temporalPort)), "dev (--temporal-port)")
		}
		if err == nil && cfg.SecretBox == nil {
			cfg.override("SECURO_ENCRYPTION_KEY", "(made once, kept in "+filepath.Join(*dev.dataDir, devKeyFile)+")", "dev")
		}
	default:
		return fmt.Errorf("securo config: want api, worker or dev, not %q", cmd)
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "SETTING\tFLAG\tVALUE\tFROM\n")
	for _, r := range cfg.resolved {
		value := r.setting.shown(r.value)
		if r.source == "dev" {
			value = r.value
		}
		if value == "" {
			value = "-"
		}
		fmt.Fprintf(tw, "%s\t--%s\t%s\t%s\n", r.setting.env, r.setting.flag(), value, r.source)
	}
	return tw.Flush()
}
