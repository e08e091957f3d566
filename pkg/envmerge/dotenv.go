package envmerge

import (
	"strings"
)

// Dotenv writes KEY=VALUE pairs in dotenv syntax, one a line, each value in
// double quotes with backslash, quote, dollar and newline escaped, as
// docker --env-file, IDEs and dotenv libraries read them.
func Dotenv(env []string) string {
	var b strings.Builder
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "\n", `\n`)
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		b.WriteString(k + `="` + r.Replace(v) + "\"\n")
	}
	return b.String()
}
