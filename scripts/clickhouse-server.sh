#!/usr/bin/env bash
# Starts or stops a throwaway ClickHouse server (Debian's clickhouse-server)
# in a directory of its own, on loopback ports, for tests and benchmarks
# (docs/clickhouse.md "Testing against a local server").
#
#   scripts/clickhouse-server.sh start DIR HTTP_PORT TCP_PORT [REMOTE_SERVERS_XML]
#   scripts/clickhouse-server.sh stop DIR
#
# start writes DIR/config.xml and DIR/users.xml (data, logs and tmp under DIR),
# runs the server in the foreground of a background job (no daemon, pid in
# DIR/pid), and returns once /ping answers (at most ~60 s). REMOTE_SERVERS_XML
# is a file holding a <remote_servers> element for cluster tests.
# stop sends SIGTERM, waits up to ~30 s, then SIGKILL. Data under DIR stays, so
# a stop then start is a restart.
set -euo pipefail
cmd="${1:-}"
dir="${2:-}"
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR HTTP_PORT TCP_PORT [REMOTE_SERVERS_XML] | stop DIR" >&2; exit 2; }
server="${CLICKHOUSE_SERVER:-$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)}"

case "$cmd" in
  start)
    http_port="${3:?HTTP_PORT}"
    tcp_port="${4:?TCP_PORT}"
    remote=""
    [ -n "${5:-}" ] && remote="$(cat "$5")"
    mkdir -p "$dir/data" "$dir/tmp" "$dir/log" "$dir/user_files" "$dir/format_schemas"
    dir="$(cd "$dir" && pwd)"
    cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$dir/log/server.log</log>
    <errorlog>$dir/log/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http_port</http_port>
  <tcp_port>$tcp_port</tcp_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <max_connections>256</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
  <max_concurrent_queries>50</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>67108864</mark_cache_size>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
  $remote
  <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
  <max_session_timeout>3600</max_session_timeout>
  <default_session_timeout>60</default_session_timeout>
</yandex>
XML
    cat >"$dir/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
      <load_balancing>in_order</load_balancing>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <shipper>
      <password>s3cret-test</password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </shipper>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
    if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "clickhouse-server already running in $dir (pid $(cat "$dir/pid"))" >&2
      exit 1
    fi
    # Not a daemon: the job is ours to stop by its pid.
    (cd "$dir" && exec "$server" --config-file="$dir/config.xml" >>"$dir/log/stdout.log" 2>&1) &
    echo $! >"$dir/pid"
    for _ in $(seq 1 300); do
      if curl -fsS --max-time 1 "http://127.0.0.1:$http_port/ping" >/dev/null 2>&1; then
        exit 0
      fi
      if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
        echo "clickhouse-server exited during start-up; log:" >&2
        tail -n 30 "$dir/log/server.err.log" "$dir/log/stdout.log" >&2 2>/dev/null || true
        exit 1
      fi
      sleep 0.2
    done
    echo "clickhouse-server did not answer /ping on 127.0.0.1:$http_port within 60 s" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/pid" ] || exit 0
    pid="$(cat "$dir/pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
      done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$dir/pid"
    ;;
  *)
    echo "usage: $0 start DIR HTTP_PORT TCP_PORT [REMOTE_SERVERS_XML] | stop DIR" >&2
    exit 2
    ;;
esac
