#!/usr/bin/env bash
# A C compiler, archiver and ranlib that compile nothing, for
# scripts/cross-clippy.sh: `cargo clippy` of a target whose C toolchain and
# system headers this machine lacks (Windows' MSVC and SDK, macOS' SDK).
# Clippy never links, so the build scripts of the -sys crates (libgit2,
# zlib, OpenSSL) only need their compile and archive steps to succeed; the
# Rust code, its cfgs and the dependency tree are the target's real ones.
#
#   -E (preprocess)   runs the host's cc -E with only the -I/-D/-U/-include
#                     flags and the input files: cc's compiler detection and
#                     openssl-sys's header probes read real output
#   --version / -v    prints a version line
#   anything else     creates each output file empty (-o F, -oF, -FoF, /FoF,
#                     -out:F, /OUT:F, -MF F, an archive *.a/*.lib operand)
set -uo pipefail

args=("$@")
for a in "${args[@]}"; do
  case "$a" in
    --version | -v | -V | -dumpversion) echo "stub-cc 1.0 (compiles nothing)"; exit 0 ;;
  esac
done

preprocess=0
for a in "${args[@]}"; do [ "$a" = -E ] && preprocess=1; done
if [ "$preprocess" -eq 1 ]; then
  keep=(-E)
  i=0
  while [ $i -lt ${#args[@]} ]; do
    a=${args[$i]}
    case "$a" in
      -E) ;;
      -I | -D | -U | -include | -isystem | -o | -x)
        keep+=("$a" "${args[$((i + 1))]}"); i=$((i + 2)); continue ;;
      -arch | -target | -isysroot | -MF | -MT | -MQ | -Xclang | -mllvm)
        i=$((i + 2)); continue ;;
      -I* | -D* | -U* | -o*) keep+=("$a") ;;
      -P | -dM | -w) keep+=("$a") ;;
      -*) ;;
      *) keep+=("$a") ;;
    esac
    i=$((i + 1))
  done
  # the host's compiler, whatever CC says
  exec /usr/bin/cc "${keep[@]}"
fi

outputs=()
i=0
while [ $i -lt ${#args[@]} ]; do
  a=${args[$i]}
  case "$a" in
    -o | -MF) outputs+=("${args[$((i + 1))]}"); i=$((i + 2)); continue ;;
    -out:* | /OUT:* | -OUT:* | /out:*) outputs+=("${a#*:}") ;;
    -o*) outputs+=("${a#-o}") ;;
    -Fo* | /Fo*) outputs+=("${a:3}") ;;
    -*) ;;
    *.a | *.lib) outputs+=("$a") ;;
  esac
  i=$((i + 1))
done
for f in "${outputs[@]}"; do
  mkdir -p "$(dirname "$f")"
  [ -e "$f" ] || : >"$f"
done
exit 0
