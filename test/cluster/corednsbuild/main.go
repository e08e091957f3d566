// Command corednsbuild is CoreDNS with only the plugins a cluster DNS needs, so
// the test cluster builds it offline without the cloud-provider modules the
// stock binary pulls in.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/hosts"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// The plugin chain runs in this order (the relative order of CoreDNS' plugin.cfg).
var directives = []string{"reload", "health", "ready", "errors", "log", "cache", "hosts", "kubernetes"}

func init() { dnsserver.Directives = directives }

func main() { coremain.Run() }
