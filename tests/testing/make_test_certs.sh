#!/usr/bin/env bash
# Makes the PKI of the TLS tests in directory $1: a CA; a server certificate for localhost and
# 127.0.0.1; client certificates it signed for a caller in the tests' authorization table
# ("spiffe://evaluatecode.test/workflow-engine") and one that is not ("…/stranger"); and a client
# certificate from another CA ("rogue"), which mTLS must refuse. EC keys: quick to make.
set -euo pipefail
out="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() {  # name subject
  key "$out/$1.key"
  openssl req -x509 -new -key "$out/$1.key" -out "$out/$1.pem" -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() {  # name ca subject-alt-names extended-key-usage
  key "$out/$1.key"
  openssl req -new -key "$out/$1.key" -out "$tmp/$1.csr" -subj "/CN=$1"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$3" "$4" \
    >"$tmp/$1.ext"
  openssl x509 -req -in "$tmp/$1.csr" -CA "$out/$2.pem" -CAkey "$out/$2.key" -set_serial "0x$(
    openssl rand -hex 8)" -days 3650 -extfile "$tmp/$1.ext" -out "$out/$1.pem" 2>/dev/null
}

ca ca "EvaluateCode test CA"
ca rogue_ca "Rogue CA"
leaf server ca "DNS:localhost,IP:127.0.0.1" serverAuth
leaf client ca "URI:spiffe://evaluatecode.test/workflow-engine" clientAuth
leaf stranger ca "URI:spiffe://evaluatecode.test/stranger" clientAuth
leaf rogue rogue_ca "URI:spiffe://evaluatecode.test/workflow-engine" clientAuth
