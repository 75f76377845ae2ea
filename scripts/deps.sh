#!/usr/bin/env bash
# Install the Debian packages TALOS needs, and only those that are missing.
# Idempotent: a second run installs nothing and prints nothing but a summary.
#
# scripts/deps.sh --check installs nothing: it compiles one include of each
# library's header and looks for the static libraries a TA image links, and
# says to run `make deps` when one is missing. A plain `make` runs this.
set -euo pipefail

if [ "${1:-}" = "--check" ]; then
  CC=${CC:-cc}
  # header: the package that ships it
  HEADERS=(
    "openssl/evp.h:libssl-dev"
    "jansson.h:libjansson-dev"
    "capstone/capstone.h:libcapstone-dev"
    "gelf.h:libelf-dev"
    "seccomp.h:libseccomp-dev"
    "cmocka.h:libcmocka-dev"
    "valgrind/callgrind.h:valgrind"
  )
  # cmocka.h needs these before it.
  PRE='#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>'
  missing=()
  if ! command -v "$CC" >/dev/null; then
    missing+=("$CC (no C compiler)")
  else
    for hp in "${HEADERS[@]}"; do
      h=${hp%%:*}
      printf '%s\n#include <%s>\n' "$PRE" "$h" | "$CC" -E -x c - >/dev/null 2>&1 ||
        missing+=("<$h> (${hp##*:})")
    done
    # TA images are static: they need the .a files (none in SAN builds, but
    # the same packages ship both).
    for a in libssl.a:libssl-dev libcrypto.a:libssl-dev libseccomp.a:libseccomp-dev \
      libsqlite3.a:libsqlite3-dev; do
      f=$("$CC" -print-file-name="${a%%:*}")
      [ "$f" != "${a%%:*}" ] && [ -e "$f" ] || missing+=("${a%%:*} (${a##*:})")
    done
  fi
  # BLAKE3's C sources, compiled into the build (Makefile BLAKE3_DIR).
  [ -f "${BLAKE3_DIR:-/usr/share/cargo/registry/blake3-1.3.1/c}/blake3.h" ] ||
    missing+=("BLAKE3's C sources (librust-blake3-dev)")
  if [ ${#missing[@]} -ne 0 ]; then
    echo "deps: missing: ${missing[*]}" >&2
    echo "deps: run 'make deps' (it installs the missing Debian packages), then make again" >&2
    exit 1
  fi
  exit 0
fi

PKGS=(
  make gcc clang pkg-config
  libssl-dev        # OpenSSL 3: TLS 1.3, X.509, SHA-256, Ed25519, HKDF, AES-GCM
  openssl           # its CLI: certificates for the tests' fake peers (tests/attacks/proxy.py)
  libjansson-dev    # JSON for the control API and --json output
  libcmocka-dev     # unit tests
  libcapstone-dev   # CFG extraction (tools/cfg)
  libelf-dev        # ELF parsing (measurement, CFG)
  librust-blake3-dev  # BLAKE3's official C sources (its c/ folder): the state's Merkle tree
  libseccomp-dev    # sim TA confinement: the seccomp allowlist (libseccomp.a is linked into TA images)
  libclang-rt-14-dev  # ASan/UBSan/libFuzzer runtimes for clang
  python3           # integration-test helpers (tamper proxy, wire capture)
  gnuplot-nox       # make bench: plots (bench/plots/*.png)
  valgrind          # make bench: instruction counts per ecall (bench/icount.sh, callgrind)
  libsqlite3-dev    # examples/sqlite: SQLite's static library, unmodified, in a TA (issue #16)
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: installed ${#missing[@]} package(s)"
