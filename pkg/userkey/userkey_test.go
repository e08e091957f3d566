package userkey

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestCreatedOnceAndPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cfg", "kubectl-mirror", FileName)
	keys := make([]string, 20)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadOrCreate(path)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = string(k)
		}()
	}
	wg.Wait()
	for _, k := range keys {
		if k != keys[0] || k == "" {
			t.Fatal("concurrent first runs got different keys")
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Fatalf("key directory mode %v", di.Mode())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("left temporary files: %v", entries)
	}
	again, err := LoadOrCreate(path)
	if err != nil || string(again) != keys[0] {
		t.Fatalf("second load: %v", err)
	}
}

func TestRefusesAKeyOthersCanRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if _, err := LoadOrCreate(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); !errors.Is(err, ErrLoosePermissions) {
		t.Fatalf("got %v", err)
	}
}

func TestRefusesGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreate(path); err == nil {
		t.Fatal("garbage accepted as a key")
	}
}
