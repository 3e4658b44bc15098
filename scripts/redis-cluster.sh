#!/usr/bin/env bash
# Start or stop a local 3-master Redis Cluster of the machine's redis-server.
#
#   scripts/redis-cluster.sh start DIR [BASEPORT]   # prints the seed URL
#   scripts/redis-cluster.sh stop DIR
#
# start runs three redis-server processes on 127.0.0.1, ports BASEPORT,
# BASEPORT+1 and BASEPORT+2 (default 7000; each node also uses its port +
# 10000 for the cluster bus), cluster-enabled and without persistence (no RDB
# snapshots, no AOF), with their pid, log and cluster-config files in DIR. It
# joins them with `redis-cli --cluster create … --cluster-yes` (three masters,
# no replicas), waits until every node reports cluster_state:ok, and prints
# the seed URL on stdout:
#
#   redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
#
# Progress and errors go to stderr. When start fails it stops what it started.
# stop ends the servers whose pid files are in DIR (only those), waits until
# they have exited, and removes their files; stopping twice is harmless.
# REDIS_SERVER and REDIS_CLI name other binaries than the ones on PATH.
set -euo pipefail

REDIS_SERVER="${REDIS_SERVER:-redis-server}"
REDIS_CLI="${REDIS_CLI:-redis-cli}"
NODES=3

usage() {
	echo "usage: $0 start DIR [BASEPORT] | stop DIR" >&2
	exit 2
}

log() { echo "redis-cluster: $*" >&2; }

# port_open PORT: something accepts connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# our_server PID: PID is alive and is a redis-server.
our_server() {
	local pid="$1" comm
	[[ -r "/proc/$pid/comm" ]] || return 1
	comm="$(cat "/proc/$pid/comm" 2>/dev/null)" || return 1
	[[ "$comm" == redis-server* ]]
}

stop_cluster() {
	local dir="$1" pidfile pid port i
	shopt -s nullglob
	for pidfile in "$dir"/redis-*.pid; do
		pid="$(cat "$pidfile" 2>/dev/null || true)"
		port="${pidfile##*/redis-}"
		port="${port%.pid}"
		if [[ -n "$pid" ]] && our_server "$pid"; then
			log "stopping redis-server on port $port (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			for ((i = 0; i < 100; i++)); do
				our_server "$pid" || break
				sleep 0.1
			done
			if our_server "$pid"; then
				log "redis-server $pid did not exit within 10s: killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
		fi
		rm -f "$pidfile" "$dir/nodes-$port.conf"
	done
	shopt -u nullglob
}

start_cluster() {
	local dir="$1" base="$2" port i p addrs=() ok
	command -v "$REDIS_SERVER" >/dev/null || { log "$REDIS_SERVER not found"; exit 1; }
	command -v "$REDIS_CLI" >/dev/null || { log "$REDIS_CLI not found"; exit 1; }
	[[ "$base" =~ ^[0-9]+$ ]] && ((base >= 1024 && base + NODES - 1 + 10000 <= 65535)) ||
		{ log "BASEPORT $base: want 1024 to $((65535 - 10000 - NODES + 1))"; exit 2; }
	mkdir -p "$dir"
	dir="$(cd "$dir" && pwd)"
	if compgen -G "$dir/redis-*.pid" >/dev/null; then
		log "$dir already holds a cluster's pid files: stop it first"
		exit 1
	fi
	for ((i = 0; i < NODES; i++)); do
		port=$((base + i))
		for p in "$port" $((port + 10000)); do
			if port_open "$p"; then
				log "port $p is in use: choose another BASEPORT"
				exit 1
			fi
		done
	done
	# From here on a failure stops what was started.
	START_DIR="$dir"
	trap 'if [[ -z "${STARTED:-}" ]]; then log "start failed: stopping the nodes"; stop_cluster "$START_DIR"; fi' EXIT
	for ((i = 0; i < NODES; i++)); do
		port=$((base + i))
		"$REDIS_SERVER" --port "$port" --bind 127.0.0.1 \
			--cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 5000 \
			--dir "$dir" --save "" --appendonly no \
			--daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
		addrs+=("127.0.0.1:$port")
	done
	for ((i = 0; i < NODES; i++)); do
		port=$((base + i))
		ok=""
		for ((p = 0; p < 200; p++)); do
			if [[ "$("$REDIS_CLI" -p "$port" ping 2>/dev/null)" == PONG ]]; then
				ok=1
				break
			fi
			sleep 0.05
		done
		[[ -n "$ok" ]] || { log "redis-server on port $port did not answer within 10s (see $dir/redis-$port.log)"; false; }
	done
	log "creating the cluster of ${addrs[*]}"
	if ! "$REDIS_CLI" --cluster create "${addrs[@]}" --cluster-yes >"$dir/create.log" 2>&1; then
		log "redis-cli --cluster create failed:"
		cat "$dir/create.log" >&2
		false
	fi
	for ((i = 0; i < NODES; i++)); do
		port=$((base + i))
		ok=""
		for ((p = 0; p < 300; p++)); do
			if "$REDIS_CLI" -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok'; then
				ok=1
				break
			fi
			sleep 0.1
		done
		[[ -n "$ok" ]] || { log "node on port $port did not reach cluster_state:ok within 30s"; false; }
	done
	STARTED=1
	log "cluster ready: $NODES masters on ports $base-$((base + NODES - 1)), files in $dir"
	local IFS=,
	echo "redis://${addrs[*]}"
}

[[ $# -ge 2 ]] || usage
case "$1" in
start)
	[[ $# -le 3 ]] || usage
	start_cluster "$2" "${3:-7000}"
	;;
stop)
	[[ $# -eq 2 ]] || usage
	[[ -d "$2" ]] || exit 0
	stop_cluster "$2"
	;;
*)
	usage
	;;
esac
