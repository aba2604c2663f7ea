#!/usr/bin/env bash
# Makes sure PostgreSQL, RabbitMQ and Redis run on this machine (starting whichever is down),
# enables the RabbitMQ console (:15672), and with --browser installs Debian's Chromium for the
# dashboard's browser test. Safe to run again: it only starts or installs what is missing.
set -euo pipefail

say() { printf '[setup] %s\n' "$*"; }

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
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
	wait_for PostgreSQL 60 pg_isready -q -h 127.0.0.1 -p 5432
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
	say "starting Redis"
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log
	wait_for Redis 30 redis-cli -h 127.0.0.1 -p 6379 ping
fi

if ! timeout 20 rabbitmq-diagnostics -q check_running >/dev/null 2>&1; then
	# A node whose app was stopped (rabbitmqctl stop_app) takes start_app; a stopped node a start.
	if timeout 60 rabbitmqctl -q start_app >/dev/null 2>&1; then
		say "started the RabbitMQ app (the node was up, its app stopped)"
	else
		say "starting RabbitMQ"
		rabbitmq-server -detached
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
