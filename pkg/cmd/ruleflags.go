package cmd

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/kubectl-mirror/kubectl-mirror/pkg/outgoing"
	"github.com/kubectl-mirror/kubectl-mirror/pkg/remotefiles"
)

// ruleFlags are the session's rules, which `run` follows and `trace`
// reports by: where connections go and which files come from the pod.
type ruleFlags struct {
	Local    []string
	Remote   []string
	FSMode   string
	FSRemote []string
	FSLocal  []string

	rules       outgoing.Rules
	localHosts  []outgoing.HostRule
	remoteHosts []outgoing.HostRule
}

func (r *ruleFlags) addFlags(fs *pflag.FlagSet) {
	if r.FSMode == "" {
		r.FSMode = "remote"
	}
	fs.StringArrayVar(&r.Local, "local", nil, "keep destinations local: CIDR, address, host or :PORT, optionally with :PORT (repeatable)")
	fs.StringArrayVar(&r.Remote, "remote", nil, "send only these destinations through the pod: CIDR, address, host or :PORT (repeatable)")
	fs.StringVar(&r.FSMode, "fs-mode", r.FSMode, "remote: read the pod's default files and config mounts; local: only --fs-remote paths; all: every path but the program's own, the system's libraries and tools, home, cwd and /tmp (on first use)")
	fs.StringArrayVar(&r.FSRemote, "fs-remote", nil, "also read this path (file or directory, optionally ending in /**) from the pod (repeatable)")
	fs.StringArrayVar(&r.FSLocal, "fs-local", nil, "keep this path (file or directory) local even where it would be read from the pod (repeatable)")
}

// validate checks the values and parses them into rules.
func (r *ruleFlags) validate() error {
	if r.FSMode != "remote" && r.FSMode != "local" && r.FSMode != "all" {
		return fmt.Errorf("--fs-mode %q: use remote, local or all", r.FSMode)
	}
	for _, list := range []*[]string{&r.FSRemote, &r.FSLocal} {
		for i, v := range *list {
			p, err := remotefiles.ParsePattern(v)
			if err != nil {
				return fmt.Errorf("--fs-remote/--fs-local %w", err)
			}
			(*list)[i] = p
		}
	}
	var err error
	if r.rules.Local, r.localHosts, err = parseRules("--local", r.Local); err != nil {
		return err
	}
	r.rules.Remote, r.remoteHosts, err = parseRules("--remote", r.Remote)
	return err
}

// parseRules reads --local/--remote values: address rules now, host rules
// once a resolver is at hand.
func parseRules(flag string, values []string) ([]outgoing.Rule, []outgoing.HostRule, error) {
	var rules []outgoing.Rule
	var hosts []outgoing.HostRule
	for _, v := range values {
		r, host, err := outgoing.ParseRule(v)
		if err != nil {
			return nil, nil, fmt.Errorf("%s %w", flag, err)
		}
		if host != "" {
			hosts = append(hosts, outgoing.HostRule{Host: host, Port: r.Port})
			continue
		}
		rules = append(rules, r)
	}
	return rules, hosts, nil
}
