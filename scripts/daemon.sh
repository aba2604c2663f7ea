# Sourced by scripts/setup-machine.sh and scripts/rabbitmq-cluster.sh.
# shellcheck shell=bash

# Starts a daemon without the caller's open files beyond stdio: a server that inherits a pipe
# or a lock (a CI log, flock) would hold it for as long as it runs.
daemon() (
	for fd in /proc/self/fd/*; do
		n=${fd##*/}
		((n > 2)) && eval "exec $n>&-" 2>/dev/null
	done
	exec "$@"
)
