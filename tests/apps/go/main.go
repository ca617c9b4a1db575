// A Go program for the VM tests: goroutines, channels, timers and a forced garbage
// collection, printing results that do not depend on timing.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"
)

func main() {
	results := make(chan int, 16)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			sum := 0
			for j := 0; j <= n*1000; j++ {
				sum += j
			}
			results <- sum
		}(i)
	}
	wg.Wait()
	close(results)
	var sums []int
	for s := range results {
		sums = append(sums, s)
	}
	sort.Ints(sums)
	fmt.Println("goroutines:", len(sums), "largest:", sums[len(sums)-1])

	ping, pong := make(chan int), make(chan int)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	value := 0
	for i := 0; i < 1000; i++ {
		ping <- value
		value = <-pong
	}
	close(ping)
	fmt.Println("channel round trips:", value)

	start := time.Now()
	timer := time.NewTimer(20 * time.Millisecond)
	<-timer.C
	ticker := time.NewTicker(5 * time.Millisecond)
	ticks := 0
	for range ticker.C {
		ticks++
		if ticks == 4 {
			ticker.Stop()
			break
		}
	}
	fmt.Println("timers fired:", time.Since(start) >= 40*time.Millisecond, "ticks:", ticks)

	var garbage [][]byte
	for i := 0; i < 200; i++ {
		garbage = append(garbage, make([]byte, 64*1024))
	}
	garbage = nil
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	runtime.GC()
	runtime.ReadMemStats(&after)
	fmt.Println("gc ran:", after.NumGC > before.NumGC)
	os.Exit(0)
}
