#!/bin/sh
# Start nginx with HTTP on 8080 and, unless FACEFLOW_TLS=off, HTTPS on 8443.
#   FACEFLOW_TLS=files        the certificate and key mounted at /etc/faceflow/tls/tls.crt and
#                             tls.key (a real certificate: what WeChat's request domains need)
#   FACEFLOW_TLS=self-signed  a certificate made here at every start, valid 30 days, for
#                             FACEFLOW_TLS_HOSTNAMES (comma list; default localhost,127.0.0.1):
#                             for development only, no client trusts it without being told to
#   FACEFLOW_TLS=off          HTTP only
# The root filesystem is read-only: everything generated goes to /tmp.
set -eu
mode="${FACEFLOW_TLS:-self-signed}"
tls_dir=/etc/faceflow/tls
conf=/tmp/nginx-tls.conf
case "$mode" in
  off)
    : > "$conf"
    ;;
  files)
    for file in tls.crt tls.key; do
      if [ ! -r "$tls_dir/$file" ]; then
        echo "FACEFLOW_TLS=files: $tls_dir/$file is missing or unreadable by uid $(id -u)" >&2
        exit 1
      fi
    done
    ;;
  self-signed)
    tls_dir=/tmp/tls
    mkdir -p "$tls_dir"
    names="${FACEFLOW_TLS_HOSTNAMES:-localhost,127.0.0.1}"
    san=""
    first=""
    for name in $(echo "$names" | tr ',' ' '); do
      case "$name" in
        *[!0-9.]*) entry="DNS:$name" ;;
        *) entry="IP:$name" ;;
      esac
      san="${san:+$san,}$entry"
      first="${first:-$name}"
    done
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$first" \
      -addext "subjectAltName=$san" -keyout "$tls_dir/tls.key" -out "$tls_dir/tls.crt" \
      2>/dev/null
    echo "self-signed certificate for $san (development only)" >&2
    ;;
  *)
    echo "FACEFLOW_TLS must be off, files or self-signed, not '$mode'" >&2
    exit 1
    ;;
esac
if [ "$mode" != off ]; then
  cat > "$conf" <<CONF
server {
    listen 8443 ssl http2;
    ssl_certificate $tls_dir/tls.crt;
    ssl_certificate_key $tls_dir/tls.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:tls:10m;
    include /etc/nginx/faceflow-gateway.conf;
}
CONF
fi
exec nginx -e stderr -g "daemon off;"
