#!/usr/bin/env bash
# redirections.sh - shell redirections and pipelines on UMFS files: the
# shell (under the shim) opens them, the commands it runs inherit them.
. "$(dirname "$0")/lib.sh"

out=$(shim_sh 'echo x > /umfs/f; cat /umfs/f')
check "echo > ; cat" "x" "$out"

out=$(shim_sh 'echo one > /umfs/f; echo two >> /umfs/f; cat /umfs/f')
check ">>" "one
two" "$out"

out=$(shim_sh 'printf "b\na\nc\n" > /umfs/a; sort < /umfs/a')
check "<" "a
b
c" "$out"

out=$(shim_sh 'ls /nonexistent-path > /umfs/e 2>&1; cat /umfs/e')
check "2>&1 (external command)" "ls: cannot access '/nonexistent-path': No such file or directory" "$out"

out=$(shim_sh '{ echo out; echo err >&2; } > /umfs/e 2>&1; cat /umfs/e')
check "2>&1 (builtins)" "out
err" "$out"

out=$(shim_sh 'printf "3\n1\n2\n" > /umfs/a; cat /umfs/a | sort > /umfs/b; cat /umfs/b')
check "cat | sort >" "1
2
3" "$out"

out=$(shim_sh 'seq 1 1000 > /umfs/n; cat /umfs/n | grep 7 | wc -l > /umfs/c; cat /umfs/c')
check "three-stage pipeline" "$(seq 1 1000 | grep 7 | wc -l)" "$out"

out=$(shim_sh 'seq 1 20000 | sha256sum > /umfs/s; cat /umfs/s')
check "pipe into sha256sum > file" "$(seq 1 20000 | sha256sum)" "$out"

out=$(shim_sh 'exec 3>/umfs/fd3; echo via3 >&3; exec 3>&-; cat /umfs/fd3')
check "exec 3> ; >&3" "via3" "$out"

out=$(shim_sh 'exec 4</umfs/fd3; read -r l <&4; echo "$l"')
check "exec 4< ; read <&4" "via3" "$out"

out=$(shim_sh '(echo a; echo b) > /umfs/sub; cat /umfs/sub')
check "subshell > file" "a
b" "$out"

out=$(shim_sh 'for i in 1 2 3; do echo $i; done > /umfs/loop; tr -d "\n" < /umfs/loop')
check "loop > file" "123" "$out"

out=$(shim_sh 'cat <<EOT > /umfs/here
heredoc line
EOT
cat /umfs/here')
check "heredoc > file" "heredoc line" "$out"

out=$(shim_sh 'mkdir -p /umfs/d && cd /umfs/d && echo rel > r && cat r && pwd && ls')
check "cd into UMFS, relative paths" "rel
/umfs/d
r" "$out"

out=$(shim_sh 'cd /umfs/d && bash -c "pwd; cat r"')
check "cwd inherited by a child shell" "/umfs/d
rel" "$out"

out=$(shim_sh 'cd /umfs/d && ls ../d/r && cd .. && pwd && cd .. && pwd')
check ".. inside and out of UMFS" "../d/r
/umfs
/" "$out"

out=$(shim_sh 'echo $(cat /umfs/d/r)')
check "command substitution" "rel" "$out"

out=$(shim_sh 'echo data > /umfs/t; tee /umfs/t2 < /umfs/t > /dev/null; cat /umfs/t2')
check "tee into UMFS" "data" "$out"

out=$(shim_sh 'echo s | cat > /dev/stdout > /umfs/std; cat /umfs/std')
check "> /dev/stdout chain" "s" "$out"

out=$(shim_sh 'echo abc > /umfs/x; cat /dev/stdin < /umfs/x')
check "cat /dev/stdin < UMFS file" "abc" "$out"

out=$(shim_sh 'python3 -c "print(\"py\")" > /umfs/py; cat /umfs/py')
check "python stdout > UMFS" "py" "$out"

out=$(shim_sh 'echo kept > /umfs/k; exec 5</umfs/k; rm /umfs/k; cat <&5')
check "unlinked file read through an inherited fd" "kept" "$out"

finish
