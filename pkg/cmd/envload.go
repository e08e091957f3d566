package cmd

import (
	"strings"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/envmerge"
)

// dotenvValue reads --env-load FILE as pflag sets it, so a malformed or
// missing file is refused in one line before anything reaches the cluster.
// Its pairs go, in order, after those of the files before it.
type dotenvValue struct {
	pairs *[]string
	files []string
}

func (v *dotenvValue) String() string { return strings.Join(v.files, ",") }
func (v *dotenvValue) Type() string   { return "FILE" }
func (v *dotenvValue) Set(path string) error {
	pairs, err := envmerge.ReadDotenv(path)
	if err != nil {
		return err
	}
	*v.pairs = append(*v.pairs, pairs...)
	v.files = append(v.files, path)
	return nil
}
