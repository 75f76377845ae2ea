#!/usr/bin/env bash
# An operator CA for TALOS nodes, with the openssl CLI (docs/node-security.md).
#
#   scripts/node-ca.sh init CA_DIR              make CA_DIR/ca.key (0600) and ca.pem (10 years)
#   scripts/node-ca.sh issue CA_DIR NAME OUT    make OUT/node.key (0600) and OUT/node.pem for
#                                               node NAME (1 year, TLS server and client)
#
# Then, on each node:
#   talosd --state-dir DIR --listen HOST:PORT \
#          --node-cert OUT/node.pem --node-key OUT/node.key --peer-ca CA_DIR/ca.pem
#
# Keep ca.key off the nodes: a node needs only its own key, its certificate
# and ca.pem. Every node certified by the CA may start migrations to every
# other (it still cannot make a TA accept anything: the TAs attest each
# other); nodes certified by no configured CA are refused in the TLS
# handshake, before talosd reads a byte of theirs.
set -euo pipefail
umask 077

usage() { sed -n '2,9p' "$0" >&2; exit 2; }

cmd=${1:-}
case "$cmd" in
init)
  [ $# -eq 2 ] || usage
  dir=$2
  mkdir -p "$dir"
  [ -e "$dir/ca.key" ] && { echo "node-ca: $dir/ca.key exists; not replacing it" >&2; exit 1; }
  openssl genpkey -algorithm ed25519 -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.pem" -days 3650 \
    -subj "/CN=TALOS node CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  chmod 644 "$dir/ca.pem"
  echo "node-ca: CA in $dir (give ca.pem to every node; keep ca.key here)"
  ;;
issue)
  [ $# -eq 4 ] || usage
  dir=$2 name=$3 out=$4
  [ -f "$dir/ca.key" ] && [ -f "$dir/ca.pem" ] || { echo "node-ca: no CA in $dir (run init)" >&2; exit 1; }
  mkdir -p "$out"
  ext=$(mktemp)
  trap 'rm -f "$ext" "$out/node.csr"' EXIT
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" "subjectKeyIdentifier=hash" \
    "authorityKeyIdentifier=keyid:always" >"$ext"
  openssl genpkey -algorithm ed25519 -out "$out/node.key"
  openssl req -new -key "$out/node.key" -subj "/CN=$name" -out "$out/node.csr"
  openssl x509 -req -in "$out/node.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -extfile "$ext" -out "$out/node.pem" 2>/dev/null
  chmod 644 "$out/node.pem"
  echo "node-ca: $out/node.key and $out/node.pem for node '$name'"
  ;;
*) usage ;;
esac
