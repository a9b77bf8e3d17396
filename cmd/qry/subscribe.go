package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/qry-dev/qry/client"
	"github.com/qry-dev/qry/render"
)

func newSubscribeCmd(g *globals) *cobra.Command {
	var server string
	var from uint64
	cmd := &cobra.Command{
		Use:   "subscribe SQL",
		Short: "Print a writable table's new rows as they are written",
		Long: `Subscribe to a SELECT on a qry server and print its new results as writers
commit them, one JSON object per line, until interrupted.

SELECT ... FROM a writable table [WHERE ...] prints each new row that
matches, once. Any other SELECT over writable tables (an aggregate, say) is
run again at each tick and printed when its result changed.

When it ends, it says on stderr up to which sequence number it printed:
--from that number resumes with the rows after it, none missed, none twice.`,
		Example: `  qry subscribe --server grpc://127.0.0.1:31337 "SELECT * FROM clicks WHERE amount > 100"
  qry subscribe --server grpc://127.0.0.1:31337 --from 48213 "SELECT user, amount FROM clicks"
  qry subscribe --server grpc://127.0.0.1:31337 "SELECT user, count(*) FROM clicks GROUP BY user"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if server == "" {
				return usage("subscribe needs --server: subscriptions are served by qry serve")
			}
			ctx := cmd.Context()
			c, err := client.Dial(ctx, server, g.remote)
			if err != nil {
				return err
			}
			defer c.Close()
			var fromp *uint64
			if cmd.Flags().Changed("from") {
				fromp = &from
			}
			sub, err := c.Subscribe(ctx, args[0], fromp)
			if err != nil {
				return err
			}
			defer sub.Close()
			out := bufio.NewWriter(os.Stdout)
			for {
				rec, _ := sub.Next()
				if rec == nil {
					break
				}
				if err := render.JSONRows(out, rec); err != nil {
					return err
				}
				if err := out.Flush(); err != nil {
					return err
				}
			}
			fmt.Fprintf(os.Stderr, "qry: subscription ended at sequence %d (resume with --from %d)\n", sub.Seq(), sub.Seq())
			if err := sub.Err(); err != nil && !errors.Is(err, ctx.Err()) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&server, "server", "s", "", "the qry server (grpc://HOST:PORT or grpc+tls://HOST:PORT)")
	cmd.Flags().Uint64Var(&from, "from", 0, "resume after this sequence number (0: every row the table holds)")
	g.clientFlags(cmd)
	return cmd
}
