package event

import "testing"

// TestShardOfIsStable pins the shard function: producers in other languages
// reimplement it (docs/events.md), so it must never change.
func TestShardOfIsStable(t *testing.T) {
	tests := []struct {
		mint string
		n    int
		want int
	}{
		{"So11111111111111111111111111111111111111112", 1, 0},
		// Values also computed by the TypeScript function in docs/events.md.
		{"So11111111111111111111111111111111111111112", 16, 7},
		{"So11111111111111111111111111111111111111112", 1024, 855},
		{"EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", 16, 12},
		{"", 16, int(uint32(2166136261) % 16)},
		{"a", 1 << 10, int(uint32(0xe40c292c) % (1 << 10))}, // FNV-1a("a") = 0xe40c292c
	}
	for _, tt := range tests {
		if got := ShardOf(tt.mint, tt.n); got != tt.want {
			t.Errorf("ShardOf(%q, %d) = %d, want %d", tt.mint, tt.n, got, tt.want)
		}
	}
	if got := ShardStreams("s", 3); len(got) != 3 || got[0] != "s:{0}" || got[2] != "s:{2}" {
		t.Errorf("ShardStreams = %v", got)
	}
	if got := ShardStreams("s", 1); len(got) != 1 || got[0] != "s" {
		t.Errorf("ShardStreams(s, 1) = %v, want the stream itself", got)
	}
}
