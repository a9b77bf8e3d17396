package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/qry-dev/qry/config"
	"github.com/qry-dev/qry/server/auth"
)

// envName is the environment variable standing for a flag.
func envName(flag string) string {
	return "QRY_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envExempt are flags without a QRY_ variable of their own: QRY_TOKENS holds
// the tokens themselves (a Kubernetes Secret), not the name of a file.
var envExempt = map[string]bool{"tokens": true, "help": true}

// configure fills the flags the command line did not set, from QRY_*
// variables first, then from the qry.yaml settings: a flag beats the
// environment, which beats the file, which beats the default.
func (g *globals) configure(cmd *cobra.Command) error {
	fs := cmd.Flags()
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		v, ok := os.LookupEnv(envName(f.Name))
		if err != nil || f.Changed || envExempt[f.Name] || !ok {
			return
		}
		values := []string{v}
		if f.Value.Type() == "stringArray" {
			values = filepath.SplitList(v)
		}
		for _, v := range values {
			if e := fs.Set(f.Name, v); e != nil {
				err = usage("%s: %w", envName(f.Name), e)
			}
		}
	})
	if err != nil || g.config == "" {
		return err
	}
	if g.file, err = config.Load(g.config); err != nil {
		return err
	}
	var errs config.Errors
	for _, s := range g.file.Settings {
		f := fs.Lookup(s.Flag)
		if f == nil || f.Changed {
			continue // not this command's, or given on the command line
		}
		if e := fs.Set(s.Flag, s.Value); e != nil {
			errs = append(errs, &config.Error{File: g.file.Path, Line: s.Line, Msg: fmt.Sprintf("%s: %v", s.Key, e)})
		}
	}
	if errs != nil {
		return errs
	}
	return nil
}

// logging holds the log flags.
type logging struct {
	format, level string
	sql           bool
}

func (l *logging) flags(fs *pflag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "auto", "log format: text, json, or auto (text on a terminal, JSON otherwise)")
	fs.StringVar(&l.level, "log-level", "", "debug, info, warn or error (default: info for serve, error otherwise; --verbose: debug)")
	fs.BoolVar(&l.sql, "log-sql", false, "put each statement's full text in the query log (default: a hash of it)")
}

// logger builds the logger the flags ask for; defaultLevel applies when
// neither --log-level nor --verbose is given.
func (l *logging) logger(w io.Writer, verbose bool, defaultLevel slog.Level) (*slog.Logger, error) {
	level := defaultLevel
	switch {
	case l.level != "":
		if err := level.UnmarshalText([]byte(l.level)); err != nil {
			return nil, usage("--log-level %q: want debug, info, warn or error", l.level)
		}
	case verbose:
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "auto", "":
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usage("--log-format %q: want text, json or auto", l.format)
}

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Work with qry.yaml"}
	check := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Check a qry.yaml: keys, values, and the files it names",
		Long: `Check a qry.yaml (FILE, else --config or $QRY_CONFIG): unknown keys, values
that do not parse, table declarations, and the paths it names (table paths,
data directories, tokens, TLS files). Every problem is printed with its
line; the exit status is 1 if there is any.`,
		Example: `  qry config check qry.yaml`,
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := g.config
			if len(args) == 1 {
				path = args[0]
			}
			if path == "" {
				return usage("no file: give FILE or --config")
			}
			errs, summary := checkConfig(path)
			for _, e := range errs {
				fmt.Fprintln(cmd.OutOrStdout(), e.Error())
			}
			if len(errs) > 0 {
				return quietError{fmt.Errorf("%s: %d problems", path, len(errs))}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok (%s)\n", path, summary)
			return nil
		},
	}
	cmd.AddCommand(check)
	return cmd
}

// quietError has been reported already; main only sets the exit status.
type quietError struct{ error }

func (e quietError) Unwrap() error { return e.error }

// checkConfig returns every problem of a qry.yaml and, if none, a summary.
func checkConfig(path string) (config.Errors, string) {
	f, err := config.Load(path)
	if err != nil {
		var errs config.Errors
		if errors.As(err, &errs) {
			return errs, ""
		}
		return config.Errors{{File: path, Msg: err.Error()}}, ""
	}
	var errs config.Errors
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &config.Error{File: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	// Values: through the very flags of qry serve, which parse them.
	serve := newServeCmd(&globals{})
	newRoot().AddCommand(serve) // inherit the persistent flags
	fs := serve.Flags()
	fs.AddFlagSet(serve.InheritedFlags())
	settings := map[string]config.Setting{}
	for _, s := range f.Settings {
		settings[s.Flag] = s
		if err := fs.Set(s.Flag, s.Value); err != nil {
			bad(s.Line, "%s: %v", s.Key, err)
		}
	}
	var l logging
	for flag, dst := range map[string]*string{"log-format": &l.format, "log-level": &l.level} {
		if s, ok := settings[flag]; ok {
			*dst = s.Value
			if _, err := l.logger(io.Discard, false, slog.LevelInfo); err != nil {
				bad(s.Line, "%s: %q is not one of the accepted values", s.Key, s.Value)
			}
			*dst = ""
		}
	}
	// Files it names.
	for i, t := range f.Catalog.Tables {
		if _, err := os.Stat(t.Path); err != nil && t.Writable == nil { // a writable table's directory is made
			bad(0, "tables[%d] (%s): path: %v", i, t.Name, err)
		}
	}
	for _, d := range f.Catalog.Data {
		if st, err := os.Stat(d); err != nil {
			bad(0, "data: %v", err)
		} else if !st.IsDir() {
			bad(0, "data: %s is not a directory", d)
		}
	}
	if s, ok := settings["tokens"]; ok {
		if _, err := auth.LoadTokens(s.Value); err != nil {
			bad(s.Line, "%s: %v", s.Key, err)
		}
	}
	cert, hasCert := settings["tls-cert"]
	key, hasKey := settings["tls-key"]
	ca, hasCA := settings["tls-client-ca"]
	switch {
	case hasCert != hasKey:
		bad(max(cert.Line, key.Line), "server.tls: cert and key go together")
	case hasCert:
		if _, err := auth.TLSConfig(cert.Value, key.Value, ca.Value); err != nil {
			bad(cert.Line, "server.tls: %v", err)
		}
	case hasCA:
		bad(ca.Line, "server.tls.client_ca needs cert and key")
	}
	return errs, fmt.Sprintf("%d tables, %d data directories, %d settings", len(f.Catalog.Tables), len(f.Catalog.Data), len(f.Settings))
}
