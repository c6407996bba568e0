package nstest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Serve runs servers for network ("tcp" or "udp") on each of ports, on
// every address of the namespace at path, until the test ends. Each answers
// a client with the client's address as the server sees it, one line: a
// test reads through it whether a connection was NATed and to what.
func Serve(t testing.TB, path, network string, ports ...int) {
	t.Helper()
	for _, port := range ports {
		addr := fmt.Sprintf(":%d", port)
		var closer interface{ Close() error }
		err := InNetns(path, func() error {
			switch network {
			case "tcp":
				l, err := net.Listen("tcp", addr)
				if err == nil {
					closer = l
					go serveTCP(l)
				}
				return err
			case "udp":
				c, err := net.ListenPacket("udp", addr)
				if err == nil {
					closer = c
					go serveUDP(c)
				}
				return err
			}
			return fmt.Errorf("network %q: want tcp or udp", network)
		})
		if err != nil {
			t.Fatalf("serve %s %s in %s: %v", network, addr, path, err)
		}
		t.Cleanup(func() { closer.Close() })
	}
}

func serveTCP(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		peer := c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintln(c, peer)
		c.Close()
	}
}

func serveUDP(c net.PacketConn) {
	buf := make([]byte, 512)
	for {
		_, from, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		c.WriteTo([]byte(from.(*net.UDPAddr).IP.String()+"\n"), from)
	}
}

// ErrUnreachable is the error of a Probe that got no answer: refused, or
// no reply within its time.
var ErrUnreachable = errors.New("unreachable")

// Probe connects from the namespace at path to addr ("192.0.2.1:80",
// "[2001:db8::1]:80") over network and returns the address that a server
// of Serve saw as its client, or an error wrapping ErrUnreachable when no
// answer came within timeout.
func Probe(path, network, addr string, timeout time.Duration) (string, error) {
	var conn net.Conn
	err := InNetns(path, func() error {
		var err error
		conn, err = net.DialTimeout(network, addr, timeout)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("%w: %s %s from %s: %v", ErrUnreachable, network, addr, path, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if network == "udp" {
		if _, err := conn.Write([]byte("probe\n")); err != nil {
			return "", fmt.Errorf("%w: %s %s from %s: %v", ErrUnreachable, network, addr, path, err)
		}
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%w: %s %s from %s: %v", ErrUnreachable, network, addr, path, err)
	}
	return strings.TrimSpace(line), nil
}
