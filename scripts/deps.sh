#!/usr/bin/env bash
# Install the Debian packages TALOS needs, and only those that are missing.
# Idempotent: a second run installs nothing and prints nothing but a summary.
set -euo pipefail

PKGS=(
  make gcc clang pkg-config
  libssl-dev        # OpenSSL 3: TLS 1.3, X.509, SHA-256, Ed25519, HKDF, AES-GCM
  openssl           # its CLI: certificates for the tests' fake peers (tests/integration/proxy.py)
  libjansson-dev    # JSON for the control API and --json output
  libcmocka-dev     # unit tests
  libcapstone-dev   # CFG extraction (tools/cfg)
  libelf-dev        # ELF parsing (measurement, CFG)
  libseccomp-dev    # sim TA confinement: the seccomp allowlist (libseccomp.a is linked into TA images)
  libclang-rt-14-dev  # ASan/UBSan/libFuzzer runtimes for clang
  python3           # integration-test helpers (tamper proxy, wire capture)
  gnuplot-nox       # make bench: plots (bench/plots/*.png)
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
