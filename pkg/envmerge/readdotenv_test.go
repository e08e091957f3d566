package envmerge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDotenvRoundTrip: what Dotenv writes, ParseDotenv reads back as it was.
func TestDotenvRoundTrip(t *testing.T) {
	env := []string{
		"PLAIN=value", "EMPTY=", "SPACES=  a b  ", `QUOTES=say "hi" and 'bye'`, `BACKSLASH=C:\dir\ end\`,
		"DOLLAR=$HOME ${X} $$", "NEWLINES=one\ntwo\n", "HASH=a # not a comment", "EQUALS=a=b==c",
		"UNICODE=héllo ✓", "TAB=a\tb", "CR=a\rb", "dotted.name-x=1", "_U=2",
	}
	got, err := ParseDotenv("pod.env", Dotenv(env))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParseDotenvSyntax(t *testing.T) {
	cases := []struct{ text, want string }{
		{"A=b", "A=b"},
		{"A=", "A="},
		{"A=  spaced value  ", "A=spaced value"},
		{"A=b # comment", "A=b"},
		{"A=b\t# comment", "A=b"},
		{"A=b#c", "A=b#c"},
		{"A=$HOME", "A=$HOME"},
		{"A=it's", "A=it's"},
		{"A='single $X \\n \"q\"'", `A=single $X \n "q"`},
		{"A='x' # c", "A=x"},
		{"A=''", "A="},
		{`A="d \\ \" \$ \n e"`, "A=d \\ \" $ \n e"},
		{`A="x"  # c`, "A=x"},
		{`A="#not a comment"`, "A=#not a comment"},
		{`A= "x"`, "A=x"},
		{"export A=b", "A=b"},
		{"export\tA='b'", "A=b"},
		{"  export  A=b", "A=b"},
		{"export=1", "export=1"},
		{"exported=1", "exported=1"},
		{"A=b\r", "A=b"},
	}
	for _, tc := range cases {
		got, err := ParseDotenv("f", tc.text)
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}

// TestParseDotenvSkipsBlankAndComments and keeps the file's order.
func TestParseDotenvSkipsBlankAndComments(t *testing.T) {
	text := "# a comment\n\nB=1\n   \n  # indented comment\r\nA=2\nB=3\n"
	got, err := ParseDotenv("f", text)
	if diff := cmp.Diff([]string{"B=1", "A=2", "B=3"}, got); err != nil || diff != "" {
		t.Fatalf("%v (-want +got):\n%s", err, diff)
	}
}

// TestParseDotenvErrorsNameTheLine: each malformed line is one error with
// the file's name and the line's number.
func TestParseDotenvErrorsNameTheLine(t *testing.T) {
	cases := []struct{ line, want string }{
		{"NOEQUALS", `want KEY=VALUE, got "NOEQUALS"`},
		{"export", `want KEY=VALUE, got "export"`},
		{"=value", `"" is not a variable name`},
		{"1A=x", `"1A" is not a variable name`},
		{"A B=x", `"A B" is not a variable name`},
		{"A =x", `"A " is not a variable name`},
		{`A="open`, "A: no closing double quote"},
		{`A="ends in backslash\`, "A: no closing double quote"},
		{"A='open", "A: no closing single quote"},
		{`A="x" y`, `A: unexpected "y" after the closing quote`},
		{"A='x'y", `A: unexpected "y" after the closing quote`},
		{`A="\t"`, `A: unknown escape \t in double quotes`},
	}
	for _, tc := range cases {
		_, err := ParseDotenv("/work/app.env", "# header\nOK=1\n\n"+tc.line+"\nLATER=2\n")
		want := "/work/app.env:4: " + tc.want
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v, want one line starting %q", tc.line, err, want)
		}
	}
}

// TestReadDotenvLimit: a file of exactly 1 MiB is read, one byte more is
// refused in one line naming the file.
func TestReadDotenvLimit(t *testing.T) {
	dir := t.TempDir()
	exact := filepath.Join(dir, "exact.env")
	value := strings.Repeat("x", MaxDotenvSize-len("BIG=\n"))
	if err := os.WriteFile(exact, []byte("BIG="+value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDotenv(exact)
	if err != nil || len(got) != 1 || got[0] != "BIG="+value {
		t.Fatalf("1 MiB file: %d pairs, %v", len(got), err)
	}
	over := filepath.Join(dir, "over.env")
	if err := os.WriteFile(over, []byte("BIG="+value+"x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = ReadDotenv(over)
	if want := over + ": larger than 1 MiB, the limit for a dotenv file"; err == nil || err.Error() != want {
		t.Fatalf("1 MiB + 1: %v, want %q", err, want)
	}
	if _, err := ReadDotenv(filepath.Join(dir, "missing.env")); err == nil || !strings.Contains(err.Error(), "missing.env") {
		t.Fatalf("missing file: %v, want an error naming it", err)
	}
}
