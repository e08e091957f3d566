// Command gendocs writes the command reference from the command tree itself:
// docs/commands/*.md (one page per command, cobra's doc generator) and the
// table of run's flags in README.md, between its markers. `make docs` runs
// it; a test fails when what is checked in differs. Another test holds the
// code to the layout table of docs/development.md ("Where things live").
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	if err := write(*root); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
