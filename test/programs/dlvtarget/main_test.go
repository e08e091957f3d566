package main

import (
	"os"
	"testing"
)

// TestDialsAService runs under `dlv test`: the Service name resolves and
// answers through the pod.
func TestDialsAService(t *testing.T) {
	body, err := get("http://echo/dlv-test")
	report(body, "", os.Getenv("LITERAL"), err)
	if err != nil {
		t.Fatal(err)
	}
}
