#!/usr/bin/env bash
# Three clustered RabbitMQ nodes on this machine, beside (never instead of) the default node
# rabbit@localhost on 5672, from the Debian rabbitmq-server already installed:
#
#   node                  AMQP   console  distribution
#   gozon-mq-1@localhost  5681   15681    25681
#   gozon-mq-2@localhost  5682   15682    25682
#   gozon-mq-3@localhost  5683   15683    25683
#
#   bash scripts/rabbitmq-cluster.sh start    # starts whichever node is down; joins new nodes to gozon-mq-1
#   bash scripts/rabbitmq-cluster.sh stop     # stops all three
#   bash scripts/rabbitmq-cluster.sh reset    # stops all three and removes their state (a new cluster next start)
#   bash scripts/rabbitmq-cluster.sh logs [N] # each node's last N log lines
#   bash scripts/rabbitmq-cluster.sh status   # members, and each quorum queue's leader and replicas
#   bash scripts/rabbitmq-cluster.sh pid N    # the OS pid of node N (for kill -9 in the chaos scenario)
#   bash scripts/rabbitmq-cluster.sh queues VHOST       # its quorum queues with leader and members, JSON
#   bash scripts/rabbitmq-cluster.sh raft VHOST QUEUE   # each replica's Raft state and log index, JSON
#
# Point Gozon at it with
#   AMQP_URL=amqp://guest:guest@127.0.0.1:5681,amqp://guest:guest@127.0.0.1:5682,amqp://guest:guest@127.0.0.1:5683
#
# Every node has its own config, data, logs and pid file under $GOZON_MQ_CLUSTER_DIR
# (/var/tmp/gozon-rabbitmq-cluster by default: one place per machine, as the names and ports
# are), and the three share an Erlang cookie of their own there; none of the default node's
# files (/etc/rabbitmq, /var/lib/rabbitmq, its cookie) is read or written. The nodes are kept
# lean for a small shared machine: 1 GB memory watermark, a small Raft WAL, no message rates
# in the console.
set -euo pipefail

DIR=${GOZON_MQ_CLUSTER_DIR:-/var/tmp/gozon-rabbitmq-cluster}
RMQ_BIN=${RABBITMQ_BIN:-/usr/lib/rabbitmq/bin}
NODES=(1 2 3)
START_TIMEOUT_S=${GOZON_MQ_START_TIMEOUT_S:-120}

say() { printf '[rabbitmq-cluster] %s\n' "$*"; }

node_name() { echo "gozon-mq-$1@localhost"; }
amqp_port() { echo $((5680 + $1)); }
console_port() { echo $((15680 + $1)); }
dist_port() { echo $((25680 + $1)); }

# daemon CMD...: starts a server without the caller's open files beyond stdio.
source "$(dirname "${BASH_SOURCE[0]}")/daemon.sh"

# The environment that makes rabbitmq-server and its CLI tools use node $1's files only. Without
# RABBITMQ_CONF_ENV_FILE they would read /etc/rabbitmq/rabbitmq-env.conf (NODENAME=rabbit@localhost).
node_env() {
	local i=$1 home=$DIR/node-$1
	echo HOME="$DIR" \
		RABBITMQ_NODENAME="$(node_name "$i")" \
		RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf" \
		RABBITMQ_CONFIG_FILE="$home/rabbitmq.conf" \
		RABBITMQ_ADVANCED_CONFIG_FILE="$home/advanced.config" \
		RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins" \
		RABBITMQ_BASE="$home" \
		RABBITMQ_MNESIA_BASE="$home/mnesia" \
		RABBITMQ_LOG_BASE="$home/log" \
		RABBITMQ_PID_FILE="$home/pid" \
		RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
		RABBITMQ_NODE_PORT="$(amqp_port "$i")" \
		RABBITMQ_DIST_PORT="$(dist_port "$i")" \
		ERL_EPMD_ADDRESS=127.0.0.1
}

# rabbitmqctl (or another CLI tool, $1) against node $2, with our cookie. The Debian wrappers in
# /usr/sbin switch to the rabbitmq user and its cookie, so the tools are called directly.
ctl() {
	local tool=$1 i=$2
	shift 2
	env $(node_env "$i") "$RMQ_BIN/$tool" -n "$(node_name "$i")" "$@"
}

node_pid() {
	local f=$DIR/node-$1/pid
	[[ -s $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"
}

# Up means: its process lives and its AMQP port takes connections (no Erlang CLI round: each
# costs a second of CPU on a small machine).
node_up() {
	node_pid "$1" >/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$(amqp_port "$1")") 2>/dev/null
}

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

prepare() {
	mkdir -p "$DIR"
	if [[ ! -s $DIR/.erlang.cookie ]]; then
		(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr a-f A-F >"$DIR/.erlang.cookie")
	fi
	chmod 400 "$DIR/.erlang.cookie"
	echo "[rabbitmq_management]." >"$DIR/enabled_plugins"
	: >"$DIR/rabbitmq-env.conf"
	for i in "${NODES[@]}"; do
		mkdir -p "$DIR/node-$i/mnesia" "$DIR/node-$i/log"
		cat >"$DIR/node-$i/rabbitmq.conf" <<-EOF
			listeners.tcp.1 = 127.0.0.1:$(amqp_port "$i")
			management.tcp.ip = 127.0.0.1
			management.tcp.port = $(console_port "$i")
			management.rates_mode = none
			collect_statistics_interval = 10000
			cluster_name = gozon-mq
			cluster_partition_handling = pause_minority
			vm_memory_high_watermark.absolute = 1GB
			raft.wal_max_size_bytes = 64000000
			consumer_timeout = 1800000
			log.console = false
			log.file.level = info
		EOF
	done
}

launch() {
	local i=$1 home=$DIR/node-$1
	for port in "$(amqp_port "$i")" "$(console_port "$i")" "$(dist_port "$i")"; do
		if port_taken "$port"; then
			say "port $port is taken by another process: cannot start $(node_name "$i")" >&2
			return 1
		fi
	done
	say "starting $(node_name "$i") (AMQP $(amqp_port "$i"), console $(console_port "$i"), distribution $(dist_port "$i"))"
	rm -f "$home/pid"
	(
		cd "$home"
		export $(node_env "$i")
		# setsid --fork: the server runs on in a session of its own, and nothing of this script
		# (no process holding the caller's descriptors) stays behind as its parent.
		daemon setsid --fork "$RMQ_BIN/rabbitmq-server" </dev/null >>"$home/log/server.out" 2>&1
	)
}

wait_up() {
	local i=$1
	for _ in $(seq "$START_TIMEOUT_S"); do
		node_up "$i" && return 0
		sleep 1
	done
	say "$(node_name "$i") did not come up within ${START_TIMEOUT_S}s; see $DIR/node-$i/log" >&2
	return 1
}

# The nodes gozon-mq-1 counts as members (running or not), one per line.
members() {
	ctl rabbitmqctl 1 -q cluster_status --formatter json |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);for(const n of j.disk_nodes??[])console.log(n)})'
}

join() {
	local i=$1 peer
	peer=$(node_name 1)
	say "joining $(node_name "$i") to $peer"
	ctl rabbitmqctl "$i" -q stop_app
	# A node whose data was wiped is still listed by the cluster: forget it first, or it cannot join.
	ctl rabbitmqctl 1 -q forget_cluster_node "$(node_name "$i")" >/dev/null 2>&1 || true
	ctl rabbitmqctl "$i" -q join_cluster "$peer"
	ctl rabbitmqctl "$i" -q start_app
}

cmd_start() {
	prepare
	local started=()
	for i in "${NODES[@]}"; do
		if node_up "$i"; then
			say "$(node_name "$i") is already running (pid $(node_pid "$i"))"
		else
			launch "$i"
			started+=("$i")
		fi
	done
	for i in "${started[@]}"; do wait_up "$i"; done
	((${#started[@]})) || return 0
	ctl rabbitmqctl 1 -q await_startup --timeout "$START_TIMEOUT_S" >/dev/null
	local listed
	listed=$(members)
	for i in 2 3; do
		if ! grep -qx "$(node_name "$i")" <<<"$listed" || ! ctl rabbitmqctl "$i" -q cluster_status --formatter json | grep -q "$(node_name 1)"; then
			join "$i"
		fi
	done
	for i in "${started[@]}"; do ctl rabbitmqctl "$i" -q await_startup --timeout "$START_TIMEOUT_S" >/dev/null; done
	say "cluster up: $(members | tr '\n' ' ')"
}

cmd_stop() {
	local pids=()
	for i in "${NODES[@]}"; do
		local pid
		if pid=$(node_pid "$i"); then
			say "stopping $(node_name "$i") (pid $pid)"
			ctl rabbitmqctl "$i" -q stop >/dev/null 2>&1 &
			pids+=("$pid")
		fi
	done
	wait || true
	for pid in "${pids[@]}"; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
		kill -0 "$pid" 2>/dev/null && { say "pid $pid still runs after 30 s: kill -9"; kill -9 "$pid"; }
	done
	say "stopped"
}

# stop, then forget every node's state (data, logs, cookie) under $DIR: the next start builds a
# new cluster. Used when a start fails on state left by an earlier run.
cmd_reset() {
	cmd_stop
	[[ $DIR == / ]] || rm -rf "$DIR"
	say "state under $DIR removed"
}

# The last lines each node wrote (its server output and log): why a start failed.
cmd_logs() {
	for i in "${NODES[@]}"; do
		for f in "$DIR/node-$i/log/server.out" "$DIR/node-$i/log/$(node_name "$i").log"; do
			[[ -s $f ]] && { echo "== $f"; tail -n "${1:-5}" "$f"; }
		done
	done
	return 0
}

first_up() {
	for i in "${NODES[@]}"; do
		if node_up "$i"; then
			echo "$i"
			return 0
		fi
	done
	say "no node is running" >&2
	return 3
}

# The quorum queues of vhost $1 with leader, members and online members, as JSON, asked of the
# queues themselves (the console's figures lag by a statistics interval).
quorum_queues() {
	local i
	i=$(first_up)
	ctl rabbitmqctl "$i" -q list_queues -p "$1" name type leader members online messages --formatter json |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s||"[]").filter(q=>q.type==="quorum"))))'
}

cmd_status() {
	for i in "${NODES[@]}"; do
		if node_up "$i"; then
			printf '%-22s running (pid %s, AMQP %s, console %s)\n' "$(node_name "$i")" "$(node_pid "$i")" "$(amqp_port "$i")" "$(console_port "$i")"
		else
			printf '%-22s down\n' "$(node_name "$i")"
		fi
	done
	local i
	i=$(first_up) || return 3
	ctl rabbitmqctl "$i" -q cluster_status --formatter json |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);const up=new Set(j.running_nodes??[]);console.log("members: "+(j.disk_nodes??[]).map(n=>up.has(n)?n:`${n} (down)`).join(", "))})'
	local vhosts
	vhosts=$(ctl rabbitmqctl "$i" -q list_vhosts name --formatter json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const v of JSON.parse(s))console.log(v.name)})')
	while IFS= read -r vhost; do
		# </dev/null: the Erlang CLI would read the rest of the vhost list from stdin.
		quorum_queues "$vhost" </dev/null | VHOST=$vhost node -e '
let s = ""; process.stdin.on("data", d => (s += d)).on("end", () => {
	for (const q of JSON.parse(s)) {
		const online = new Set(q.online || []);
		const replicas = (q.members || []).map(m => (online.has(m) ? m : `${m} (offline)`));
		console.log(`${process.env.VHOST} ${q.name}: leader ${q.leader || "none"}; replicas ${replicas.join(", ")}; ${q.messages ?? 0} messages`);
	}
});'
	done <<<"$vhosts"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
reset) cmd_reset ;;
logs) cmd_logs "${2:-5}" ;;
status) cmd_status ;;
pid) node_pid "${2:?usage: pid <1|2|3>}" ;;
queues) quorum_queues "${2:?usage: queues <vhost>}" ;;
raft)
	i=$(first_up)
	ctl rabbitmq-queues "$i" -q quorum_status -p "${2:?usage: raft <vhost> <queue>}" "${3:?usage: raft <vhost> <queue>}" --formatter json
	;;
*)
	echo "usage: $0 start|stop|reset|status | logs [lines] | pid <n> | queues <vhost> | raft <vhost> <queue>" >&2
	exit 2
	;;
esac
