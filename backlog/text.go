package backlog

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteText prints r as aligned tables, one block per stream.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range r.Streams {
		fmt.Fprintf(tw, "stream %s: length %d, dead letters %d, first %s, last %s\n", s.Name, s.Length, s.DeadLetters, orDash(s.FirstID), orDash(s.LastID))
		if len(s.Groups) == 0 {
			fmt.Fprintln(tw, "  (no consumer groups)")
		}
		fmt.Fprintln(tw, "  GROUP\tLAG\tREAD\tPENDING\tOLDEST PENDING\tAGE\tLAST DELIVERED")
		for _, g := range s.Groups {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\t%s\t%s\n", g.Name, g.Lag, g.EntriesRead, g.Pending,
				orDash(g.OldestPendingID), age(g.OldestPendingAge, g.Pending), g.LastDeliveredID)
		}
		for _, g := range s.Groups {
			if len(g.Consumers) == 0 {
				continue
			}
			fmt.Fprintf(tw, "  consumers of %s\n", g.Name)
			fmt.Fprintln(tw, "    CONSUMER\tPENDING\tIDLE\tHEARTBEAT")
			for _, c := range g.Consumers {
				hb := "alive"
				if !c.Alive {
					hb = "none"
				}
				fmt.Fprintf(tw, "    %s\t%d\t%s\t%s\n", c.Name, c.Pending, c.Idle.Round(time.Millisecond), hb)
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func age(d time.Duration, pending int64) string {
	if pending == 0 {
		return "-"
	}
	return d.Round(time.Millisecond).String()
}
