#!/usr/bin/env bash
# Local OpenSSH server for tests: a throwaway sshd on 127.0.0.1.
#
#   bash scripts/ssh-server.sh install
#       Install the Debian packages openssh-server and openssh-client when
#       sshd, ssh, ssh-keygen, ssh-agent or ssh-add is missing, and
#       libnss-wrapper (lets a test give ssh a fake home: ssh reads ~/.ssh
#       from the passwd entry, not from $HOME). Silent and fast when present.
#   bash scripts/ssh-server.sh start <root-dir>
#       Start sshd bound to 127.0.0.1 on a free port and print the port.
#       Everything lives in <root-dir>: sshd_config, the host key
#       ssh_host_ed25519_key(.pub), authorized_keys (AuthorizedKeysFile, may
#       be empty or missing), sshd.log (LogLevel VERBOSE), sshd.pid, port and
#       known_hosts (a ready "[127.0.0.1]:<port> ssh-ed25519 ..." line).
#       Public-key authentication only, for the user running this script
#       (root included: PermitRootLogin prohibit-password; as root the
#       privilege-separation dir /run/sshd is created when missing; not as
#       root, sshd sees that user through nss_wrapper, whatever its account's
#       password lock or shell: <root-dir>/passwd and group). Sessions get
#       PATH=<dir of git>:/usr/local/bin:/usr/bin:/bin so git-upload-pack
#       and git-receive-pack resolve to the git that started the server.
#       Optional: SSH_SERVER_WATCH_PID=<pid> starts a watchdog that stops the
#       server once that process is gone; with SSH_SERVER_WATCH_RM_ROOT=1 it
#       also deletes <root-dir> afterwards.
#   bash scripts/ssh-server.sh stop <root-dir>
#       Stop the sshd started for <root-dir>, its open sessions and the
#       watchdog. Safe to run more than once.
set -euo pipefail

die() {
  echo "ssh-server: $*" >&2
  exit 1
}

usage() {
  sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

find_bin() { # name -> absolute path (sbin is often missing from PATH for non-root)
  local p
  p=$(PATH="$PATH:/usr/sbin:/sbin:/usr/local/sbin" command -v "$1" 2>/dev/null) || return 1
  case "$p" in /*) printf '%s\n' "$p" ;; *) return 1 ;; esac
}

abs_dir() { # make sure $1 exists and print its absolute path
  mkdir -p "$1"
  (cd "$1" && pwd -P)
}

# ---------------------------------------------------------------- install ---

pkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

nss_wrapper_lib() { # the path of libnss_wrapper.so
  local f
  for f in /usr/lib/*/libnss_wrapper.so /usr/lib64/libnss_wrapper.so /usr/lib/libnss_wrapper.so; do
    [ -e "$f" ] && { printf '%s\n' "$f"; return 0; }
  done
  return 1
}

nss_wrapper_present() { nss_wrapper_lib >/dev/null; }

cmd_install() {
  local missing=() b
  for b in sshd ssh ssh-keygen ssh-agent ssh-add; do
    if ! find_bin "$b" >/dev/null; then
      missing=(openssh-server openssh-client)
      break
    fi
  done
  if ! nss_wrapper_present; then
    missing+=(libnss-wrapper)
  fi
  [ "${#missing[@]}" -gt 0 ] || return 0

  command -v apt-get >/dev/null || die "apt-get not found; install ${missing[*]} manually"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "need root (or sudo) to install ${missing[*]}"
    sudo=(sudo)
  fi
  # Never let the package scripts start the system sshd (port 22 on all
  # interfaces). Debian container images already ship a policy-rc.d doing this.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
  local log rc=0
  log=$(mktemp)
  # The package lists are usually fresh enough; update only when needed.
  "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    rc=0
    {
      "${apt[@]}" update -qq &&
        "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
    } >>"$log" 2>&1 || rc=$?
  fi
  [ "$added_policy" -eq 0 ] || "${sudo[@]}" rm -f "$policy"
  if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    die "apt-get install ${missing[*]} failed"
  fi
  rm -f "$log"
  for b in sshd ssh ssh-keygen ssh-agent ssh-add; do
    find_bin "$b" >/dev/null || die "$b missing after install"
  done
  nss_wrapper_present || die "libnss_wrapper.so missing after install"
}

# ------------------------------------------------------------ processes -----

pid_matches() { # pid name: is pid alive and running a command containing name?
  local pid=$1 name=$2 cmd
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  [[ "$cmd" == *"$name"* ]]
}

is_gone() { # pid: not running, or a zombie (a child of ours not yet reaped)
  ! kill -0 "$1" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)" = Z ]
}

wait_gone() { # pid [tenths of a second]
  local pid=$1 n=${2:-50}
  while [ "$n" -gt 0 ] && ! is_gone "$pid"; do
    sleep 0.1
    n=$((n - 1))
  done
  is_gone "$pid"
}

descendants() { # pid -> every live descendant pid, one per line
  local top=$1 f line pid ppid p c
  local -A kids=()
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    pid=${line%% *}
    line=${line##*) } # the command (field 2) may contain spaces: cut after ')'
    ppid=${line#* }
    ppid=${ppid%% *}
    kids[$ppid]+=" $pid"
  done
  local queue=("$top")
  while [ "${#queue[@]}" -gt 0 ]; do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    for c in ${kids[$p]:-}; do
      echo "$c"
      queue+=("$c")
    done
  done
}

stop_pidfile() { # pidfile name: TERM the process, its group and its descendants, then KILL
  local file=$1 name=$2 pid kids
  [ -f "$file" ] || return 0
  pid=$(tr -dc 0-9 <"$file" || true)
  if pid_matches "$pid" "$name"; then
    # sshd forks one child per connection and each child calls setsid(), so
    # the process group does not reach them: collect them by parent pid first.
    kids=$(descendants "$pid" || true)
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    # shellcheck disable=SC2086
    [ -z "$kids" ] || kill -TERM $kids 2>/dev/null || true
    if ! wait_gone "$pid" 50; then
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 20 || true
    fi
    local k
    for k in $kids; do
      wait_gone "$k" 10 || kill -KILL "$k" 2>/dev/null || true
    done
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

write_sshd_config() { # root port session_path extra_lines
  local root=$1 port=$2 session_path=$3 extra=$4
  cat >"$root/sshd_config" <<EOF
# generated by scripts/ssh-server.sh
ListenAddress 127.0.0.1:$port
AddressFamily inet
HostKey $root/ssh_host_ed25519_key
PidFile $root/sshd.pid
AuthorizedKeysFile $root/authorized_keys
StrictModes no
UsePAM no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
HostbasedAuthentication no
PermitRootLogin prohibit-password
PermitUserEnvironment no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PermitTunnel no
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
MaxStartups 100:30:200
MaxAuthTries 10
LoginGraceTime 30
SetEnv PATH=$session_path
$extra
EOF
}

start_watchdog() { # root
  local root=$1 owner=${SSH_SERVER_WATCH_PID:-} rm_root=${SSH_SERVER_WATCH_RM_ROOT:-0}
  [ -n "$owner" ] || return 0
  kill -0 "$owner" 2>/dev/null || die "SSH_SERVER_WATCH_PID=$owner is not running"
  setsid bash -c '
    owner=$1 script=$2 root=$3 rm_root=$4
    while kill -0 "$owner" 2>/dev/null; do sleep 1; done
    SSH_SERVER_FROM_WATCHDOG=1 bash "$script" stop "$root" || true
    if [ "$rm_root" = 1 ]; then rm -rf -- "$root"; fi
  ' ssh-server-watchdog "$owner" "$SCRIPT_PATH" "$root" "$rm_root" \
    </dev/null >/dev/null 2>&1 &
  echo $! >"$root/watchdog.pid"
}

banner_ok() { # port: does something on 127.0.0.1:port speak SSH?
  timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && head -c 4 <&3' _ "$1" 2>/dev/null | grep -q '^SSH-'
}

cmd_start() {
  [ $# -eq 1 ] || usage
  local root sshd keygen git_bin
  root=$(abs_dir "$1")
  sshd=$(find_bin sshd) || die "sshd not installed (run: bash $0 install)"
  keygen=$(find_bin ssh-keygen) || die "ssh-keygen not installed (run: bash $0 install)"
  git_bin=$(command -v git) || die "git not found on PATH"

  if [ -f "$root/sshd.pid" ] && pid_matches "$(tr -dc 0-9 <"$root/sshd.pid")" sshd; then
    die "a server is already running for $root (port $(cat "$root/port" 2>/dev/null || echo '?'))"
  fi
  cmd_stop "$root" # clean up leftovers of a crashed run

  # Privilege separation: as root, sshd chroots its pre-auth child into this
  # directory and refuses to start without it (Debian creates it only when
  # the system service starts, which never happens in a container).
  if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
    mkdir -p /run/sshd
    chmod 755 /run/sshd
  fi

  if [ ! -f "$root/ssh_host_ed25519_key" ]; then
    "$keygen" -q -t ed25519 -N '' -C "ssh-server-test-host" -f "$root/ssh_host_ed25519_key" </dev/null >/dev/null
  fi
  chmod 600 "$root/ssh_host_ed25519_key"
  [ -e "$root/authorized_keys" ] || : >"$root/authorized_keys"

  local session_path
  session_path="$(dirname "$git_bin"):/usr/local/bin:/usr/bin:/bin"

  # Not root (GitHub's runner user, a developer): sshd logs in only the user
  # it runs as, and refuses one whose account is locked (a "!" password, as
  # system and CI accounts often have) or whose shell is nologin. It gets its
  # own passwd entry for that user through nss_wrapper: no password, /bin/sh,
  # <root-dir> as home. (As root, sshd reads the real entries.)
  local as_user=()
  if [ "$(id -u)" -ne 0 ]; then
    local lib user
    lib=$(nss_wrapper_lib) || die "libnss_wrapper.so not found (run: bash $0 install)"
    user=$(id -un 2>/dev/null || echo "uid$(id -u)")
    {
      grep -v "^$user:" /etc/passwd || true
      printf '%s:x:%s:%s:%s:%s:/bin/sh\n' "$user" "$(id -u)" "$(id -g)" "$user" "$root"
    } >"$root/passwd"
    {
      cat /etc/group
      grep -q "^[^:]*:[^:]*:$(id -g):" /etc/group || printf '%s:x:%s:\n' "$user" "$(id -g)"
    } >"$root/group"
    as_user=(env LD_PRELOAD="$lib" NSS_WRAPPER_PASSWD="$root/passwd" NSS_WRAPPER_GROUP="$root/group")
  fi

  # OpenSSH >= 9.8 penalises sources that fail to authenticate (and tests fail
  # on purpose, all from 127.0.0.1); older versions reject the option.
  local extra="PerSourcePenalties no"
  write_sshd_config "$root" 22 "$session_path" "$extra"
  if ! "$sshd" -t -f "$root/sshd_config" >/dev/null 2>&1; then
    extra=""
    write_sshd_config "$root" 22 "$session_path" "$extra"
    local err
    err=$("$sshd" -t -f "$root/sshd_config" 2>&1) || die "sshd rejects its configuration: $err"
  fi

  local port attempt ok=0 pid n
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    write_sshd_config "$root" "$port" "$session_path" "$extra"
    : >"$root/sshd.log"
    # -D: stay in the foreground so the pid is ours; -E: log to a file.
    # setsid: its own process group, away from the caller's terminal signals.
    # sshd re-executes itself, hence the absolute path.
    setsid ${as_user[@]+"${as_user[@]}"} "$sshd" -D -f "$root/sshd_config" -E "$root/sshd.log" </dev/null >/dev/null 2>&1 &
    pid=$!
    echo "$pid" >"$root/sshd.pid"
    n=100
    while [ "$n" -gt 0 ]; do
      if ! kill -0 "$pid" 2>/dev/null; then break; fi
      if banner_ok "$port"; then
        ok=1
        break
      fi
      sleep 0.1
      n=$((n - 1))
    done
    [ "$ok" -eq 0 ] || break
    stop_pidfile "$root/sshd.pid" sshd
    grep -q "Address already in use" "$root/sshd.log" 2>/dev/null || break
  done
  if [ "$ok" -ne 1 ]; then
    {
      echo "ssh-server: sshd failed to start; its log:"
      cat "$root/sshd.log" 2>/dev/null || true
    } >&2
    cmd_stop "$root"
    exit 1
  fi
  # sshd rewrites the pid file itself with the same pid; keep ours regardless.
  echo "$pid" >"$root/sshd.pid"
  echo "$port" >"$root/port"
  local key
  key=$(awk '{print $1" "$2}' "$root/ssh_host_ed25519_key.pub")
  echo "[127.0.0.1]:$port $key" >"$root/known_hosts"
  start_watchdog "$root"
  echo "$port"
}

# ----------------------------------------------------------------- stop -----

cmd_stop() {
  [ $# -eq 1 ] || usage
  local root=$1
  [ -d "$root" ] || return 0
  if [ -z "${SSH_SERVER_FROM_WATCHDOG:-}" ]; then
    stop_pidfile "$root/watchdog.pid" ssh-server-watchdog
  fi
  rm -f "$root/watchdog.pid"
  stop_pidfile "$root/sshd.pid" sshd
  rm -f "$root/port"
}

SCRIPT_PATH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")

case "${1:-}" in
install) shift && [ $# -eq 0 ] || usage; cmd_install ;;
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
*) usage ;;
esac
