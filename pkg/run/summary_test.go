package run

import "testing"

func TestSummarySaysOneAndMany(t *testing.T) {
	for _, tc := range []struct {
		outgoing []string
		c        closing
		want     string
	}{
		{nil, closing{}, "nothing went through the pod"},
		{[]string{"1 DNS query"}, closing{fetches: 1, fetchedBytes: 100, written: 1, incoming: 1},
			"1 DNS query; 1 file from the pod (100 B); 1 file written to the pod (0 refused); 1 incoming connection"},
		{nil, closing{fetches: 7, fetchedBytes: 3174, written: 2, refused: 1, incoming: 3},
			"7 files from the pod (3.1 KiB); 2 files written to the pod (1 refused); 3 incoming connections"},
		{nil, closing{refused: 1}, "0 files written to the pod (1 refused)"},
	} {
		if got := summary(tc.outgoing, tc.c); got != tc.want {
			t.Errorf("%+v:\n got %q\nwant %q", tc.c, got, tc.want)
		}
	}
}
