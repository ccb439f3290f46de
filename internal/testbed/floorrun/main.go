// Command floorrun is the least a client can do to run a container the way
// docker run --rm does: the same five Engine API calls (ping, create,
// attach, wait for removal, start) over the daemon's unix socket, with the
// standard library only, so that its process start-up is a Go program's
// floor. The overhead bench times it beside kanikorun and docker run: what
// it takes is the daemon's share of every client's time, which no client
// can go below.
//
// Usage: floorrun [-socket PATH] BODY.json
//
// BODY.json is a container create request (Config fields, HostConfig and
// NetworkingConfig). The container's multiplexed output is copied to
// standard output as the daemon sends it, and floorrun exits with the
// container's exit code.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

func main() {
	socket := flag.String("socket", "/var/run/docker.sock", "the daemon's unix socket")
	version := flag.String("api", "1.41", "the Engine API version to call")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floorrun [-socket PATH] [-api VERSION] BODY.json")
		os.Exit(2)
	}
	code, err := run(*socket, *version, flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floorrun:", err)
		os.Exit(125)
	}
	os.Exit(code)
}

func run(socket, version, bodyFile string) (int, error) {
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return 0, err
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: dial}}
	api := "http://docker/v" + version

	if err := call(hc, http.MethodHead, "http://docker/_ping", nil, nil); err != nil {
		return 0, err
	}
	var created struct{ Id string }
	if err := call(hc, http.MethodPost, api+"/containers/create", body, &created); err != nil {
		return 0, err
	}
	id := created.Id

	// attach: a hijacked connection, as the docker CLI makes it.
	conn, err := dial(context.Background(), "", "")
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v%s/containers/%s/attach?stderr=1&stdout=1&stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n", version, id)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols && resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("attach: %s", resp.Status)
	}

	// wait: the daemon answers with its headers at once and with the body
	// when the container is gone.
	wreq, err := http.NewRequest(http.MethodPost, api+"/containers/"+id+"/wait?condition=removed", nil)
	if err != nil {
		return 0, err
	}
	wresp, err := hc.Do(wreq)
	if err != nil {
		return 0, err
	}
	defer wresp.Body.Close()
	if wresp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("wait: %s", wresp.Status)
	}

	if err := call(hc, http.MethodPost, api+"/containers/"+id+"/start", nil, nil); err != nil {
		return 0, err
	}
	if _, err := io.Copy(os.Stdout, br); err != nil {
		return 0, err
	}
	var waited struct{ StatusCode int }
	if err := json.NewDecoder(wresp.Body).Decode(&waited); err != nil {
		return 0, fmt.Errorf("wait: %v", err)
	}
	return waited.StatusCode, nil
}

func call(hc *http.Client, method, url string, body []byte, out any) error {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(msg))
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
