# kubectl mirror: build, test, lint, images and the local test cluster.
# `make demo` and `make test` are the two set-up commands the README promises.
# Paths are quoted: the checkout may live under a directory with a space.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

MODULE       := github.com/kubectl-mirror/kubectl-mirror
VERSION      ?= v0.1.0-dev
AGENT_REPO   ?= ghcr.io/kubectl-mirror/mirror-agent
AGENT_IMAGE  := $(AGENT_REPO):$(VERSION)
GOARCH       ?= $(shell go env GOARCH)
LDFLAGS      := -s -w -X $(MODULE)/pkg/version.Version=$(VERSION) -X $(MODULE)/pkg/version.AgentRepository=$(AGENT_REPO)
GOBUILD      := CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)'
TOOLS        := $(CURDIR)/bin/tools
STATICCHECK_VERSION := v0.8.2
CLUSTER      := test/cluster
KUBECONFIG_FILE := $(CURDIR)/.cluster/kubeconfig

.PHONY: all build schema docs release agent agent-image test test-compat unit e2e lint tidy-check cluster-up cluster-down demo bench dist krew-check clean deps

all: build

deps: ## Debian packages the cluster and the tests need (installed only when missing)
	$(CLUSTER)/install-deps.sh

build: ## the plugin, as a static binary in bin/
	$(GOBUILD) -o bin/kubectl-mirror ./cmd/kubectl-mirror

schema: ## regenerate schema/kubectl-mirror.schema.json, the project file's JSON Schema
	go run ./cmd/kubectl-mirror config schema > schema/kubectl-mirror.schema.json

docs: ## regenerate docs/commands/*.md and the README's table of run's flags from the command tree
	go run ./hack/gendocs

agent: ## the in-pod agent, as a static binary in bin/
	$(GOBUILD) -o bin/mirror-agent ./agent/cmd/mirror-agent

agent-image: agent ## the agent as an OCI image archive from scratch: bin/images/mirror-agent.tar
	go build -o bin/ociimage ./hack/ociimage
	bin/ociimage -ref $(AGENT_IMAGE) -arch $(GOARCH) -o bin/images/mirror-agent.tar \
	  -entrypoint /mirror-agent -file /mirror-agent=bin/mirror-agent -dir /tmp

unit: deps ## unit, tracer and agent tests (ptrace tests need root and skip without it)
	go test -count=1 ./...

e2e: build agent-image ## the real-cluster suite; starts the cluster if it is not up
	$(CLUSTER)/up.sh
	KUBECONFIG="$(KUBECONFIG_FILE)" MIRROR_REPO="$(CURDIR)" go test -count=1 -tags e2e -timeout 45m ./test/e2e/...

# All tests. A cluster this target started is stopped again, and the host is
# checked to be as it was; a cluster that was already up is left running.
test: lint unit krew-check
	@was_up=0; [ -f "$(KUBECONFIG_FILE)" ] && was_up=1; \
	status=0; $(MAKE) --no-print-directory e2e || status=$$?; \
	if [ $$was_up = 0 ]; then $(CLUSTER)/down.sh && $(CLUSTER)/check-clean.sh || status=1; fi; \
	exit $$status

lint: tidy-check ## gofmt, go vet, staticcheck, go mod tidy
	@bad=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  [ -z "$$bad" ] || { echo "gofmt needed: $$bad"; exit 1; }
	go vet ./...
	go vet -tags e2e ./test/e2e/...
	@[ -x "$(TOOLS)/staticcheck" ] || GOBIN="$(TOOLS)" go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	"$(TOOLS)/staticcheck" ./...
	"$(TOOLS)/staticcheck" -tags e2e ./test/e2e/...

tidy-check: ## go.mod and go.sum are what `go mod tidy` makes
	go mod tidy -diff

test-compat: build agent-image ## the smoke set on the oldest supported Kubernetes (K8S_VERSION=v1.32.2), with a table; not in CI
	test/compat.sh

cluster-up: build agent-image ## start the local test cluster (builds Kubernetes the first time)
	$(CLUSTER)/up.sh

cluster-down: ## stop the local test cluster and restore the host
	$(CLUSTER)/down.sh

demo: cluster-up ## the main job: the plugin against deploy/echo on the local cluster
	test/demo.sh

bench: cluster-up ## benchmarks: ratios measured side by side in one run (root: ptrace, the local cluster)
	go run ./bench/tracer
	go run ./bench/apps
	bench/startup/run.sh
	bench/outgoing/run.sh
	bench/incoming/run.sh
	bench/scale/run.sh

# Release artefacts, reproducibly: the same commit gives the same bytes.
DIST_PLATFORMS := amd64 arm64
comma := ,
space := $(empty) $(empty)
TAR := tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner

dist: ## release archives for linux/amd64 and linux/arm64, agent images, checksums, krew manifest
	rm -rf dist && mkdir -p dist/build
	go build -o bin/ociimage ./hack/ociimage
	for arch in $(DIST_PLATFORMS); do \
	  d=dist/build/linux_$$arch; mkdir -p $$d; \
	  GOARCH=$$arch $(GOBUILD) -buildvcs=false -o $$d/kubectl-mirror ./cmd/kubectl-mirror; \
	  GOARCH=$$arch $(GOBUILD) -buildvcs=false -o $$d/mirror-agent ./agent/cmd/mirror-agent; \
	  cp LICENSE hack/kubectl_complete-mirror hack/mirror-dlv $$d/; \
	  $(TAR) -C $$d -cf - kubectl-mirror kubectl_complete-mirror mirror-dlv LICENSE | gzip -n > dist/kubectl-mirror_$(VERSION)_linux_$$arch.tar.gz; \
	  bin/ociimage -ref $(AGENT_IMAGE) -arch $$arch -o dist/mirror-agent_$(VERSION)_linux_$$arch.tar \
	    -entrypoint /mirror-agent -file /mirror-agent=$$d/mirror-agent -dir /tmp >/dev/null; \
	done
	cd dist && sha256sum *.tar.gz *.tar > sha256sums.txt
	go run ./hack/krewmanifest -template krew.yaml -version $(VERSION) -agent-image $(AGENT_IMAGE) \
	  -checksums dist/sha256sums.txt -o dist/mirror.yaml
	rm -rf dist/build
	@cat dist/sha256sums.txt

release: ## push the agent's multi-arch index (linux/amd64, linux/arm64) to REGISTRY (host[:port]/path) and print its digest
	@[ -n "$(REGISTRY)" ] || { echo "make release REGISTRY=host[:port]/path"; exit 2; }
	go build -o bin/ociimage ./hack/ociimage
	for arch in $(DIST_PLATFORMS); do \
	  GOARCH=$$arch $(GOBUILD) -buildvcs=false -o bin/release/linux_$$arch/mirror-agent ./agent/cmd/mirror-agent; \
	done
	bin/ociimage -ref $(AGENT_IMAGE) -arch $(subst $(space),$(comma),$(DIST_PLATFORMS)) -entrypoint /mirror-agent \
	  -file '/mirror-agent=bin/release/linux_{arch}/mirror-agent' -dir /tmp -push $(REGISTRY)/mirror-agent:$(VERSION)

krew-check: dist ## krew's own validator and installer accept the release; the installed plugin runs
	test/krew/check.sh dist/mirror.yaml dist

clean:
	rm -rf bin dist .cluster/images .cluster/image-build
