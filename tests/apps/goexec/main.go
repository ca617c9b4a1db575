// A static Go program that runs children through os/exec (fork/exec through clone(CLONE_VFORK)
// and a close-on-exec pipe that reports a failed exec): output capture, an exit status, a pipe
// both ways, a missing program, and an environment passed to the child.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

func main() {
	shell := "/bin/busybox"
	out, err := exec.Command(shell, "echo", "from the child").Output()
	fmt.Printf("output %q %v\n", out, err)

	err = exec.Command(shell, "sh", "-c", "exit 3").Run()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		fmt.Println("exit status", exitErr.ExitCode())
	}

	upper := exec.Command(shell, "tr", "a-z", "A-Z")
	upper.Stdin = strings.NewReader("through two pipes")
	out, err = upper.Output()
	fmt.Printf("filter %q %v\n", out, err)

	err = exec.Command("/no/such/program").Run()
	fmt.Println("missing:", errors.Is(err, os.ErrNotExist))

	env := exec.Command(shell, "sh", "-c", "echo $NIMBUS_GO_CHILD")
	env.Env = []string{"NIMBUS_GO_CHILD=inherited"}
	out, err = env.Output()
	fmt.Printf("environment %q %v\n", out, err)

	done := 0
	for i := 0; i < 20; i++ {
		if exec.Command(shell, "true").Run() == nil {
			done++
		}
	}
	fmt.Println("sequential children", done)
}
