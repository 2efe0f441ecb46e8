package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/emicklei/go-restful/v3"
	nacosv1 "github.com/polarismesh/polaris/apiserver/nacosserver/v1"
)

// identity is the answer of GET /nacos/v1/debug/test-server.
//
// A harness that picks free ports for the server cannot tell, from a plain
// readiness probe, whether the server that answers is the one it started:
// another process may have bound one of the ports first, and Polaris then
// stops (slowly) instead of failing fast. PID and Dir identify the process;
// HTTPListening and GRPCListening say whether this process holds the listen
// sockets. Polaris stops when either port cannot be bound, so a harness
// waits for both to be true.
type identity struct {
	PID           int    `json:"pid"`
	Dir           string `json:"dir"`
	HTTPPort      int    `json:"httpPort"`
	GRPCPort      int    `json:"grpcPort"`
	HTTPListening bool   `json:"httpListening"`
	GRPCListening bool   `json:"grpcListening"`
	// Checked is false where the ownership of the sockets cannot be read
	// (outside Linux); the two Listening fields are then true.
	Checked bool `json:"checked"`
}

// registerIdentityRoute adds GET /nacos/v1/debug/test-server to the Nacos
// HTTP server through Polaris' registry of debug routes. It must run before
// Polaris builds the HTTP server.
func registerIdentityRoute(httpPort, grpcPort int, dir string) error {
	return nacosv1.RegistryDebugRoute("GreyrouterTestServerIdentity", func(ws *restful.WebService) *restful.RouteBuilder {
		return ws.GET("/test-server").To(func(_ *restful.Request, rsp *restful.Response) {
			id := identity{PID: os.Getpid(), Dir: dir, HTTPPort: httpPort, GRPCPort: grpcPort}
			held, err := listeningPorts()
			if err != nil {
				_ = rsp.WriteErrorString(http.StatusInternalServerError, err.Error())
				return
			}
			if held == nil {
				id.HTTPListening, id.GRPCListening = true, true
			} else {
				id.Checked = true
				id.HTTPListening, id.GRPCListening = held[httpPort], held[grpcPort]
			}
			_ = rsp.WriteAsJson(id)
		})
	})
}

// listeningPorts returns the TCP ports this process listens on, read from
// /proc (sockets of the network namespace, kept when one of our file
// descriptors refers to them). It returns nil, nil outside Linux.
func listeningPorts() (map[int]bool, error) {
	if runtime.GOOS != "linux" {
		return nil, nil
	}
	ours := map[string]bool{} // socket inodes
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(link, "socket:[") {
			ours[strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]")] = true
		}
	}
	ports := map[int]bool{}
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue // no IPv6
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !ours[fields[9]] { // 0A: LISTEN
				continue
			}
			_, hexPort, ok := strings.Cut(fields[1], ":")
			if port, err := strconv.ParseUint(hexPort, 16, 16); ok && err == nil {
				ports[int(port)] = true
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
	}
	return ports, nil
}
