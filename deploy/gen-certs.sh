#!/usr/bin/env bash
# Creates a private CA and a serving certificate for the webhook with openssl,
# stores them in the `rampart-webhook-tls` Secret, and prints the caBundle to
# put into the webhook configurations. The alternative to cert-manager
# (deploy/cert-manager.yaml) for clusters without it.
#
#   deploy/gen-certs.sh [OUTPUT_DIR]        # writes ca.crt, tls.crt, tls.key
#   APPLY=1 deploy/gen-certs.sh             # also creates the Secret and patches caBundle
#
# The certificate is valid for the Service's DNS names (and 127.0.0.1 / localhost,
# for trying the server locally). Re-run before it expires (VALID_DAYS); the
# server reloads the new files from the Secret without a restart.
set -euo pipefail

NAMESPACE="${NAMESPACE:-rampart-system}"
SERVICE="${SERVICE:-rampart-webhook}"
VALID_DAYS="${VALID_DAYS:-365}"
OUTPUT_DIR="${1:-./rampart-certs}"

mkdir -p "$OUTPUT_DIR"
cd "$OUTPUT_DIR"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca.key -out ca.crt -days "$VALID_DAYS" -subj "/CN=rampart-webhook-ca" 2>/dev/null

openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout tls.key -out tls.csr -subj "/CN=${SERVICE}.${NAMESPACE}.svc" 2>/dev/null

cat > tls.ext <<EXT
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:${SERVICE}, DNS:${SERVICE}.${NAMESPACE}, DNS:${SERVICE}.${NAMESPACE}.svc, DNS:${SERVICE}.${NAMESPACE}.svc.cluster.local, DNS:localhost, IP:127.0.0.1
EXT

openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
  -out tls.crt -days "$VALID_DAYS" -extfile tls.ext 2>/dev/null
# rustls reads PKCS#8; `openssl req` already writes it, this makes it certain.
openssl pkcs8 -topk8 -nocrypt -in tls.key -out tls.key.pkcs8 && mv tls.key.pkcs8 tls.key
rm -f tls.csr tls.ext ca.srl
chmod 600 ca.key tls.key

CA_BUNDLE="$(base64 < ca.crt | tr -d '\n')"
echo "wrote $(pwd)/{ca.crt,tls.crt,tls.key}"

if [ "${APPLY:-0}" = "1" ]; then
  kubectl -n "$NAMESPACE" create secret tls rampart-webhook-tls \
    --cert=tls.crt --key=tls.key --dry-run=client -o yaml | kubectl apply -f -
  for kind in validatingwebhookconfiguration mutatingwebhookconfiguration; do
    kubectl patch "$kind" rampart --type=json \
      -p "[{\"op\":\"replace\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"${CA_BUNDLE}\"}]"
  done
  echo "created the Secret and set caBundle on both webhook configurations"
else
  echo "caBundle: ${CA_BUNDLE}"
fi
