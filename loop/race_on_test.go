//go:build race

package loop

// raceEnabled is set when the race detector is on. Its instrumentation moves
// some values to the heap (the client id that crypto/rand fills, in the
// upgrade), so allocation counts hold only without it.
const raceEnabled = true
