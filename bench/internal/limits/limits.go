// Package limits reads the machine's limits before anything starts, and the
// largest number of clients they allow: N is capped up front with a message
// naming the limit, so that a run never fails half-way for want of
// descriptors, ports or memory.
package limits

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/redrtc/redrtc/bench/internal/numfmt"
	"github.com/redrtc/redrtc/bench/internal/procfs"
	"golang.org/x/sys/unix"
)

const (
	// serverReserve is the descriptors a server needs besides its clients.
	serverReserve = 100
	// workerReserve is the descriptors a worker needs besides its clients.
	workerReserve = 200
	// ProtocolMaxClients is the largest --clients either server accepts.
	ProtocolMaxClients = 65536
	// ProtocolMaxRooms is the largest --rooms either server accepts.
	ProtocolMaxRooms = 10000
	// memPerClientKB is a generous estimate of server plus client memory per
	// connection, for the memory check.
	memPerClientKB = 160
)

// Limits is what the machine allows, as found at start.
type Limits struct {
	NoFileSoft     uint64   `json:"noFileSoft"`
	NoFileHard     uint64   `json:"noFileHard"`
	PortLow        int      `json:"portLow"`
	PortHigh       int      `json:"portHigh"`
	SrcIPs         []string `json:"srcIPs"`
	FileMax        int64    `json:"fileMax"`
	FilesOpen      int64    `json:"filesOpen"`
	MemAvailableKB int64    `json:"memAvailableKB"`

	// ServerMax is the most clients one server process can hold; 0 when the
	// server is external and its limits unknown.
	ServerMax int `json:"serverMax"`
	// WorkerMax is the most clients one load-generator process holds.
	WorkerMax int `json:"workerMax"`
	// Ceiling is the most clients this machine can benchmark, and
	// CeilingBy the limit that sets it.
	Ceiling   int    `json:"ceiling"`
	CeilingBy string `json:"ceilingBy"`
}

// Read reads the limits; external means the server is not ours to
// start, so its descriptor limit is not ours to know.
func Read(wantSrc int, external bool) (Limits, error) { return read(wantSrc, external, 1) }

// ReadCluster reads the limits for a cluster of nodes server processes,
// each holding its share of the clients.
func ReadCluster(wantSrc, nodes int) (Limits, error) { return read(wantSrc, false, max(1, nodes)) }

func read(wantSrc int, external bool, nodes int) (Limits, error) {
	var l Limits
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return l, fmt.Errorf("getrlimit(RLIMIT_NOFILE): %w", err)
	}
	l.NoFileSoft, l.NoFileHard = rl.Cur, rl.Max
	l.PortLow, l.PortHigh = 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			l.PortLow, _ = strconv.Atoi(f[0])
			l.PortHigh, _ = strconv.Atoi(f[1])
		}
	}
	if b, err := os.ReadFile("/proc/sys/fs/file-max"); err == nil {
		l.FileMax, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if b, err := os.ReadFile("/proc/sys/fs/file-nr"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			l.FilesOpen, _ = strconv.ParseInt(f[0], 10, 64)
		}
	}
	l.MemAvailableKB = procfs.MemAvailableKB()
	l.SrcIPs = usableSourceIPs(wantSrc)

	hard := int(min(rl.Max, 1<<30))
	l.WorkerMax = hard - workerReserve
	if !external {
		l.ServerMax = hard - serverReserve
	}
	// The servers this bench starts accept at most 65,536 clients (the C
	// server's hard limit, which both keep); an external one may take more.
	l.Ceiling, l.CeilingBy = 1<<30, "nothing this bench can see"
	if !external {
		l.Ceiling, l.CeilingBy = ProtocolMaxClients, "the servers' --clients accepts at most 65,536"
	}
	lower := func(n int, why string) {
		if n < l.Ceiling {
			l.Ceiling, l.CeilingBy = max(0, n), why
		}
	}
	if !external && nodes > 1 {
		lower(l.ServerMax*nodes, fmt.Sprintf("the open-files hard limit (RLIMIT_NOFILE, ulimit -Hn) is %d per process, "+
			"and each of the %d nodes needs one descriptor per client plus %d spare: more nodes (-cluster) hold more", rl.Max, nodes, serverReserve))
	} else if !external {
		lower(l.ServerMax, fmt.Sprintf("the open-files hard limit (RLIMIT_NOFILE, ulimit -Hn) is %d per process, "+
			"and the server under test needs one descriptor per client plus %d spare "+
			"(the load generator splits itself over several processes, so its side is not the limit)", rl.Max, serverReserve))
	}
	ports := l.PortHigh - l.PortLow + 1
	srcs := max(1, len(l.SrcIPs))
	lower(ports*srcs, fmt.Sprintf("ephemeral ports: %d source addresses × %d ports (net.ipv4.ip_local_port_range %d-%d)",
		srcs, ports, l.PortLow, l.PortHigh))
	if l.FileMax > 0 && l.FileMax < 1<<40 {
		lower(int((l.FileMax-l.FilesOpen)/2)-1000, fmt.Sprintf("the system-wide open-files limit fs.file-max is %d with %d open, and each client takes two (one each side)",
			l.FileMax, l.FilesOpen))
	}
	if l.MemAvailableKB > 0 {
		lower(int(l.MemAvailableKB/memPerClientKB), fmt.Sprintf("MemAvailable is %d MiB, at an estimated %d KiB per client for server and client together",
			l.MemAvailableKB>>10, memPerClientKB))
	}
	if l.WorkerMax < 100 {
		return l, fmt.Errorf("the open-files hard limit (ulimit -Hn) is %d: too low to run the load generator", rl.Max)
	}
	return l, nil
}

// usableSourceIPs returns 127.0.0.2, 127.0.0.3, ... (up to n) that a socket
// can bind to here.
func usableSourceIPs(n int) []string {
	var ips []string
	for i := 0; i < n && i < 250; i++ {
		ip := [4]byte{127, 0, 0, byte(2 + i)}
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			break
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		err = unix.Bind(fd, &unix.SockaddrInet4{Addr: ip})
		unix.Close(fd)
		if err != nil {
			continue
		}
		ips = append(ips, fmt.Sprintf("127.0.0.%d", 2+i))
	}
	return ips
}

// CapClients caps a requested N at the ceiling and explains why.
func (l Limits) CapClients(n int) (int, string) {
	if n <= l.Ceiling {
		return n, ""
	}
	return l.Ceiling, fmt.Sprintf("N capped at %s (asked for %s): %s.", numfmt.Commas(l.Ceiling), numfmt.Commas(n), l.CeilingBy)
}

// RaiseNoFile raises the soft open-files limit to the hard one.
func RaiseNoFile() {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
}
