// A Go network program for the VM tests: net/http server and client over loopback, the
// interface list (rtnetlink), and a server mode that answers a given number of requests.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
)

func handler(w http.ResponseWriter, r *http.Request) {
	body := fmt.Sprintf("hello from go, path %s\n", r.URL.Path)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	io.WriteString(w, body)
}

// loopback: a server on 127.0.0.1 and 50 client requests from 10 goroutines.
func loopback() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	go http.Serve(listener, http.HandlerFunc(handler))
	url := "http://" + listener.Addr().String()
	var wg sync.WaitGroup
	var mu sync.Mutex
	good := 0
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				path := fmt.Sprintf("/g%d/r%d", g, i)
				resp, err := http.Get(url + path)
				if err != nil {
					fmt.Println("get:", err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) == "hello from go, path "+path+"\n" {
					mu.Lock()
					good++
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	fmt.Println("good responses:", good)
}

func interfaces() {
	list, err := net.Interfaces()
	if err != nil {
		fmt.Println("interfaces:", err)
		os.Exit(1)
	}
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	sort.Strings(names)
	fmt.Println("interfaces:", names)
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		fmt.Println("lo:", err)
		os.Exit(1)
	}
	addrs, _ := lo.Addrs()
	fmt.Println("lo:", addrs, lo.Flags&net.FlagLoopback != 0, lo.Flags&net.FlagUp != 0)
}

// serve N: answers N requests on :8080, then exits.
func serve(count int) {
	listener, err := net.Listen("tcp", ":8080")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	done := make(chan bool)
	served := 0
	var mu sync.Mutex
	go http.Serve(listener, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler(w, r)
		// The whole response reaches the socket before main may exit.
		w.(http.Flusher).Flush()
		mu.Lock()
		served++
		if served == count {
			close(done)
		}
		mu.Unlock()
	}))
	fmt.Println("listening")
	<-done
	fmt.Println("served", count)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Println("usage: gonet loopback|interfaces|serve N")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "loopback":
		loopback()
	case "interfaces":
		interfaces()
	case "serve":
		n, _ := strconv.Atoi(os.Args[2])
		serve(n)
	}
}
