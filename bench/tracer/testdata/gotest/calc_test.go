package calc

import (
	"os"
	"testing"
)

func TestWords(t *testing.T) {
	if got := Words("a b  c"); got != 3 {
		t.Fatalf("Words = %d", got)
	}
}

func TestReverse(t *testing.T) {
	if got := Reverse("héllo"); got != "olléh" {
		t.Fatalf("Reverse = %q", got)
	}
}

func TestReadsAFile(t *testing.T) {
	if _, err := os.ReadFile("calc.go"); err != nil {
		t.Fatal(err)
	}
}
