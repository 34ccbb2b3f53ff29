#!/usr/bin/env bash
# Local smart-HTTP git server for tests: nginx + fcgiwrap + git-http-backend.
#
#   bash scripts/git-server.sh install
#       Install the Debian packages nginx, fcgiwrap and git when missing.
#   GIT_TEST_TOKEN=... bash scripts/git-server.sh start <root-dir>
#       Start a server bound to 127.0.0.1 on a free port. Writes the port to
#       <root-dir>/port and prints http://127.0.0.1:<port>. Repositories live in
#       <root-dir>/repos and are reachable under three prefixes:
#         /open/<repo>.git    no authentication
#         /basic/<repo>.git   HTTP Basic, user x-access-token, password $GIT_TEST_TOKEN
#         /bearer/<repo>.git  "Authorization: Bearer $GIT_TEST_TOKEN" (scheme case-insensitive)
#       Optional: GIT_SERVER_WATCH_PID=<pid> starts a watchdog that stops the
#       server once that process is gone; with GIT_SERVER_WATCH_RM_ROOT=1 it
#       also deletes <root-dir> afterwards.
#   bash scripts/git-server.sh stop <root-dir>
#       Stop everything started for <root-dir>. Safe to run more than once.
#   bash scripts/git-server.sh new-repo <root-dir> <name>
#       Create the bare repository <root-dir>/repos/<name>.git (branch main,
#       http.receivepack=true) and print its path.
set -euo pipefail

PACKAGES=(nginx fcgiwrap git)
HTTP_BACKEND=/usr/lib/git-core/git-http-backend

die() {
  echo "git-server: $*" >&2
  exit 1
}

usage() {
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

find_bin() { # name -> absolute path (sbin is often missing from PATH for non-root)
  local p
  p=$(PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v "$1" 2>/dev/null) || return 1
  printf '%s\n' "$p"
}

abs_dir() { # make sure $1 exists and print its absolute path
  mkdir -p "$1"
  (cd "$1" && pwd -P)
}

# ---------------------------------------------------------------- install ---

pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

cmd_install() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    pkg_installed "$p" || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ] && [ -x "$HTTP_BACKEND" ]; then
    return 0
  fi
  [ "${#missing[@]}" -gt 0 ] || missing=(git) # backend missing: reinstall git
  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} manually"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install ${missing[*]}"
    sudo=(sudo)
  fi
  # Never let the package scripts start the system nginx (it would listen on
  # 0.0.0.0:80). Debian container images already ship a policy-rc.d doing this.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  local log rc=0
  log=$(mktemp)
  {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"
  } >"$log" 2>&1 || rc=$?
  [ "$added_policy" -eq 0 ] || "${sudo[@]}" rm -f "$policy"
  if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$log"
  [ -x "$HTTP_BACKEND" ] || die "$HTTP_BACKEND missing after install"
}

# ------------------------------------------------------------ processes -----

pid_matches() { # pid name: is pid alive and running a command containing name?
  local pid=$1 name=$2 cmd
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  [[ "$cmd" == *"$name"* ]]
}

wait_gone() { # pid [tenths of a second]
  local pid=$1 n=${2:-50}
  while [ "$n" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
    # zombie children of ours count as gone
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)" = Z ] && return 0
    sleep 0.1
    n=$((n - 1))
  done
  ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)" = Z ]
}

stop_pidfile() { # pidfile name: TERM the process group, then KILL if needed
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 0
  pid=$(tr -dc 0-9 <"$file" || true)
  if pid_matches "$pid" "$name"; then
    # nginx (daemon) and fcgiwrap (started via setsid) lead their own process
    # groups, so this also reaches nginx workers and fcgiwrap/CGI children.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" 50; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 20 || true
    fi
    # stragglers in the group (e.g. a worker that outlived its master)
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

# ---------------------------------------------------------------- start -----

free_port() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
  elif command -v node >/dev/null; then
    node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
  else
    echo $((20000 + RANDOM % 40000))
  fi
}

write_htpasswd() { # file token
  local hash
  if command -v openssl >/dev/null && hash=$(openssl passwd -apr1 -- "$2" 2>/dev/null); then
    :
  else
    hash="{PLAIN}$2" # supported by nginx, fine for a throwaway test server
  fi
  (umask 077 && printf 'x-access-token:%s\n' "$hash" >"$1")
}

write_nginx_conf() { # root port token_regex fcgi_socket
  local root=$1 port=$2 token_re=$3 sock=$4 user_line=""
  [ "$(id -u)" -ne 0 ] || user_line="user root;" # workers must reach the socket and repos
  local n=$root/nginx
  # The FastCGI parameters are spelled out instead of including Debian's
  # fastcgi_params, so nothing depends on /etc/nginx.
  local common
  common="
      fastcgi_pass unix:$sock;
      fastcgi_param SCRIPT_FILENAME $HTTP_BACKEND;
      fastcgi_param SCRIPT_NAME \$fcgi_script;
      fastcgi_param PATH_INFO \$fcgi_path_info;
      fastcgi_param QUERY_STRING \$query_string;
      fastcgi_param REQUEST_METHOD \$request_method;
      fastcgi_param CONTENT_TYPE \$content_type;
      fastcgi_param CONTENT_LENGTH \$content_length;
      fastcgi_param REQUEST_URI \$request_uri;
      fastcgi_param SERVER_PROTOCOL \$server_protocol;
      fastcgi_param SERVER_SOFTWARE nginx;
      fastcgi_param SERVER_NAME \$server_name;
      fastcgi_param SERVER_ADDR \$server_addr;
      fastcgi_param SERVER_PORT \$server_port;
      fastcgi_param REMOTE_ADDR \$remote_addr;
      fastcgi_param REMOTE_PORT \$remote_port;
      fastcgi_param GATEWAY_INTERFACE CGI/1.1;
      fastcgi_param PATH /usr/local/bin:/usr/bin:/bin;
      fastcgi_param GIT_PROJECT_ROOT $root/repos;
      fastcgi_param GIT_HTTP_EXPORT_ALL 1;"
  cat >"$n/nginx.conf" <<EOF
# generated by scripts/git-server.sh
$user_line
daemon on;
worker_processes 1;
pid $n/nginx.pid;
error_log $n/error.log warn;

events {
  worker_connections 256;
}

http {
  access_log $n/access.log;
  client_body_temp_path $n/tmp/client_body;
  proxy_temp_path $n/tmp/proxy;
  fastcgi_temp_path $n/tmp/fastcgi;
  uwsgi_temp_path $n/tmp/uwsgi;
  scgi_temp_path $n/tmp/scgi;
  client_max_body_size 0;
  fastcgi_buffering off;
  fastcgi_request_buffering off;
  fastcgi_read_timeout 300s;
  server_tokens off;

  # 1 when the request carries exactly "Bearer <token>"; the scheme is matched
  # case-insensitively, the token case-sensitively.
  map \$http_authorization \$bearer_ok {
    default 0;
    "~^(?i:bearer)[ ]+$token_re\$" 1;
  }

  server {
    listen 127.0.0.1:$port;
    server_name 127.0.0.1;

    location ~ ^(/open)(/.*)\$ {
      set \$fcgi_script \$1;
      set \$fcgi_path_info \$2;
      $common
      fastcgi_param REMOTE_USER "";
    }

    location ~ ^(/basic)(/.*)\$ {
      set \$fcgi_script \$1;
      set \$fcgi_path_info \$2;
      auth_basic "x";
      auth_basic_user_file $root/htpasswd;
      $common
      fastcgi_param REMOTE_USER \$remote_user;
    }

    location ~ ^(/bearer)(/.*)\$ {
      set \$fcgi_script \$1;
      set \$fcgi_path_info \$2;
      if (\$bearer_ok = 0) {
        add_header WWW-Authenticate 'Basic realm="x"' always;
        return 401;
      }
      $common
      fastcgi_param REMOTE_USER x-access-token;
    }

    location / {
      return 404;
    }
  }
}
EOF
}

start_watchdog() { # root
  local root=$1 owner=${GIT_SERVER_WATCH_PID:-} rm_root=${GIT_SERVER_WATCH_RM_ROOT:-0}
  [ -n "$owner" ] || return 0
  kill -0 "$owner" 2>/dev/null || die "GIT_SERVER_WATCH_PID=$owner is not running"
  setsid bash -c '
    owner=$1 script=$2 root=$3 rm_root=$4
    while kill -0 "$owner" 2>/dev/null; do sleep 1; done
    GIT_SERVER_FROM_WATCHDOG=1 bash "$script" stop "$root" || true
    if [ "$rm_root" = 1 ]; then rm -rf -- "$root"; fi
  ' git-server-watchdog "$owner" "$SCRIPT_PATH" "$root" "$rm_root" \
    </dev/null >/dev/null 2>&1 &
  echo $! >"$root/watchdog.pid"
}

cmd_start() {
  [ $# -eq 1 ] || usage
  local root token
  root=$(abs_dir "$1")
  token=${GIT_TEST_TOKEN:-}
  [ -n "$token" ] || die "GIT_TEST_TOKEN must be set"
  # RFC 6750 b64token characters only: keeps the nginx config free of quoting issues.
  [[ "$token" =~ ^[A-Za-z0-9._~+/-]+=*$ ]] || die "GIT_TEST_TOKEN may only contain A-Z a-z 0-9 - . _ ~ + / (and trailing =)"
  local nginx fcgiwrap
  nginx=$(find_bin nginx) || die "nginx not installed (run: bash $0 install)"
  fcgiwrap=$(find_bin fcgiwrap) || die "fcgiwrap not installed (run: bash $0 install)"
  [ -x "$HTTP_BACKEND" ] || die "$HTTP_BACKEND not found (run: bash $0 install)"

  if [ -f "$root/nginx/nginx.pid" ] && pid_matches "$(tr -dc 0-9 <"$root/nginx/nginx.pid")" nginx; then
    die "a server is already running for $root (port $(cat "$root/port" 2>/dev/null || echo '?'))"
  fi
  cmd_stop "$root" # clean up leftovers of a crashed run

  mkdir -p "$root/repos" "$root/nginx/tmp" "$root/run"
  local token_re
  token_re=$(printf '%s' "$token" | sed 's/[^A-Za-z0-9_~-]/\\&/g')
  write_htpasswd "$root/htpasswd" "$token"

  # fcgiwrap: own session/process group so stop can take down its children too.
  local sock=$root/run/fcgiwrap.sock
  rm -f "$sock"
  setsid "$fcgiwrap" -s "unix:$sock" -c 4 -f </dev/null >>"$root/run/fcgiwrap.log" 2>&1 &
  echo $! >"$root/run/fcgiwrap.pid"
  local n=50
  while [ ! -S "$sock" ] && [ "$n" -gt 0 ]; do
    kill -0 "$(cat "$root/run/fcgiwrap.pid")" 2>/dev/null || break
    sleep 0.1
    n=$((n - 1))
  done
  if [ ! -S "$sock" ]; then
    cat "$root/run/fcgiwrap.log" >&2 || true
    cmd_stop "$root"
    die "fcgiwrap did not start"
  fi

  # nginx: pick a free port; retry if somebody grabs it in the meantime.
  local port attempt ok=0
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    write_nginx_conf "$root" "$port" "$token_re" "$sock"
    : >"$root/nginx/error.log"
    if "$nginx" -p "$root/nginx" -c "$root/nginx/nginx.conf" -e "$root/nginx/error.log" \
      </dev/null >"$root/nginx/start.log" 2>&1; then
      n=50
      while [ ! -s "$root/nginx/nginx.pid" ] && [ "$n" -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
      done
      if [ -s "$root/nginx/nginx.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        ok=1
        break
      fi
    fi
    grep -q "Address already in use" "$root/nginx/error.log" "$root/nginx/start.log" 2>/dev/null || break
    stop_pidfile "$root/nginx/nginx.pid" nginx
  done
  if [ "$ok" -ne 1 ]; then
    {
      echo "git-server: nginx failed to start; output and error log:"
      cat "$root/nginx/start.log" "$root/nginx/error.log" 2>/dev/null || true
    } >&2
    cmd_stop "$root"
    exit 1
  fi
  echo "$port" >"$root/port"
  start_watchdog "$root"
  echo "http://127.0.0.1:$port"
}

# ----------------------------------------------------------------- stop -----

cmd_stop() {
  [ $# -eq 1 ] || usage
  local root=$1
  [ -d "$root" ] || return 0
  if [ -z "${GIT_SERVER_FROM_WATCHDOG:-}" ]; then
    stop_pidfile "$root/watchdog.pid" git-server-watchdog
  fi
  rm -f "$root/watchdog.pid"
  stop_pidfile "$root/nginx/nginx.pid" nginx
  stop_pidfile "$root/run/fcgiwrap.pid" fcgiwrap
  rm -f "$root/run/fcgiwrap.sock" "$root/port"
}

# ------------------------------------------------------------- new-repo -----

cmd_new_repo() {
  [ $# -eq 2 ] || usage
  local root name dir
  root=$(abs_dir "$1")
  name=${2%.git}
  [[ -n "$name" && "$name" != /* && "$name" != *..* ]] || die "bad repo name: $2"
  dir=$root/repos/$name.git
  [ ! -e "$dir" ] || die "$dir already exists"
  mkdir -p "$(dirname "$dir")"
  git init --quiet --bare "$dir"
  git -C "$dir" symbolic-ref HEAD refs/heads/main
  git -C "$dir" config http.receivepack true
  echo "$dir"
}

SCRIPT_PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")

case "${1:-}" in
install) shift && [ $# -eq 0 ] || usage; cmd_install ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
new-repo) shift; cmd_new_repo "$@" ;;
*) usage ;;
esac
