package main

import "testing"

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"typical", "Name:\tfhirbell\nVmPeak:\t  123 kB\nVmRSS:\t   45678 kB\nThreads:\t9\n", 45678, false},
		{"zero", "VmRSS:\t0 kB\n", 0, false},
		{"missing (kernel thread)", "Name:\tkthreadd\nState:\tS\n", 0, true},
		{"odd unit", "VmRSS:\t1 MB\n", 0, true},
		{"not a number", "VmRSS:\tlots kB\n", 0, true},
		{"negative", "VmRSS:\t-1 kB\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseVmRSS([]byte(tt.status))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: parseVmRSS = %d, %v; want %d, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestReadRSSSelf(t *testing.T) {
	v, err := readRSS(0)
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if v <= 0 {
		t.Errorf("readRSS(self) = %d KiB, want > 0", v)
	}
}

// FuzzParseVmRSS: a status file never panics the parser and never yields
// a negative size.
func FuzzParseVmRSS(f *testing.F) {
	f.Add([]byte("VmRSS:\t 12 kB\n"))
	f.Add([]byte("VmRSS:\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := parseVmRSS(b); err == nil && v < 0 {
			t.Fatalf("parseVmRSS(%q) = %d", b, v)
		}
	})
}
