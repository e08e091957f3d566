// Command krewmanifest renders the krew plugin manifest template (krew.yaml)
// with the release's version, agent image and the archives' sha256 values.
//
//	krewmanifest -template krew.yaml -version v1.2.3 -agent-image REPO:v1.2.3 \
//	  -checksums dist/sha256sums.txt -o dist/mirror.yaml
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/template"
)

// archiveName matches the release archives: kubectl-mirror_VERSION_OS_ARCH.tar.gz.
var archiveName = regexp.MustCompile(`^kubectl-mirror_[^_]+_([a-z0-9]+_[a-z0-9]+)\.tar\.gz$`)

func main() {
	tmpl := flag.String("template", "krew.yaml", "manifest template")
	version := flag.String("version", "", "release version, v-prefixed semver")
	agentImage := flag.String("agent-image", "", "the agent image this release injects")
	checksums := flag.String("checksums", "", "sha256sum output listing the archives")
	out := flag.String("o", "", "rendered manifest")
	flag.Parse()
	if err := render(*tmpl, *version, *agentImage, *checksums, *out); err != nil {
		fmt.Fprintln(os.Stderr, "krewmanifest:", err)
		os.Exit(1)
	}
}

func render(tmplPath, version, agentImage, checksums, out string) error {
	if !strings.HasPrefix(version, "v") || agentImage == "" || out == "" {
		return fmt.Errorf("-version (v-prefixed), -agent-image and -o are required")
	}
	sums, err := readChecksums(checksums)
	if err != nil {
		return err
	}
	for _, platform := range []string{"linux_amd64", "linux_arm64"} {
		if sums[platform] == "" {
			return fmt.Errorf("%s lists no %s archive", checksums, platform)
		}
	}
	t, err := template.New("krew.yaml").Option("missingkey=error").ParseFiles(tmplPath)
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.Execute(f, map[string]any{"Version": version, "AgentImage": agentImage, "SHA256": sums})
}

// readChecksums maps "linux_amd64" to the sha256 of that archive.
func readChecksums(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		if m := archiveName.FindStringSubmatch(strings.TrimPrefix(fields[1], "*")); m != nil {
			sums[m[1]] = fields[0]
		}
	}
	return sums, sc.Err()
}
