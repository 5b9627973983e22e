package loop

import (
	"context"
	"fmt"
	"net"
	"time"
)

// hostLookupTimeout bounds resolving a host name given as --interface.
const hostLookupTimeout = 5 * time.Second

// hostAddr resolves --interface given as a host name (localhost, or a name
// in /etc/hosts) that is neither an IP address nor an interface: the
// server listens on its first IPv4 address, or its first address when it
// has none, as one listener serves one address.
func hostAddr(name string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), hostLookupTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", name)
	if err != nil || len(ips) == 0 {
		return "", fmt.Errorf("--interface %q is neither an IP address nor an interface, nor a host name that resolves: %v", name, err)
	}
	for _, ip := range ips {
		if ip.To4() != nil {
			return ip.String(), nil
		}
	}
	return ips[0].String(), nil
}
