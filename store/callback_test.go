package store

import "testing"

func TestCallbackRoundTrip(t *testing.T) {
	c, r, ok := ParseCallback(Callback(17, 4821, "17-4821-1"))
	if !ok || c != 17 || r != 4821 {
		t.Errorf("ParseCallback(Callback(17, 4821, …)) = %d, %d, %v", c, r, ok)
	}
	for _, s := range []string{"", "c=17", "r=4", "c=x;r=4", "order=123"} {
		if _, _, ok := ParseCallback(s); ok {
			t.Errorf("ParseCallback(%q) ok, want not ours", s)
		}
	}
}
