# Sourced by scripts/run.sh and bench/registry.sh: helpers around the real
# registry (Debian's docker-registry), skopeo and umoci.
#   free_port                      a free loopback port
#   port_busy PORT                 true when something listens on 127.0.0.1:PORT
#   wait_http URL [STATUS…]        wait (≤ 15 s) until URL answers (any of STATUS, default 200)
#   build_demo_image DIR           a one-layer OCI image DIR/oci:1.0 (holds /etc/widget.txt), offline
#   skopeo_isolated HOME_DIR ARGS  skopeo with its home, temp files, auth file and
#                                  trust policy under HOME_DIR. As root skopeo writes a
#                                  blob cache to /var/lib/containers whatever it is told,
#                                  so it then runs in a user namespace as an ordinary uid.

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_busy() {
  python3 -c 'import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

wait_http() {
  local url=$1; shift
  local want=("$@"); [ ${#want[@]} -gt 0 ] || want=(200)
  local code
  for _ in $(seq 1 150); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true)
    for w in "${want[@]}"; do [ "$code" = "$w" ] && return 0; done
    sleep 0.1
  done
  echo "no answer from $url (last status: ${code:-none})" >&2
  return 1
}

build_demo_image() {
  local dir=$1
  mkdir -p "$dir"
  umoci init --layout "$dir/oci" >/dev/null
  umoci new --image "$dir/oci:1.0" >/dev/null
  printf 'Acme Widget 1.0: a demo image pushed by Portcullis (%s)\n' "$(date -u +%FT%TZ)" >"$dir/widget.txt"
  umoci insert --rootless --image "$dir/oci:1.0" "$dir/widget.txt" /etc/widget.txt >/dev/null
}

skopeo_isolated() {
  local home=$1; shift
  mkdir -p "$home/home" "$home/tmp" "$home/config"
  [ -f "$home/auth.json" ] || echo '{}' >"$home/auth.json"
  [ -f "$home/policy.json" ] || echo '{"default":[{"type":"insecureAcceptAnything"}]}' >"$home/policy.json"
  local run=(skopeo)
  if [ "$(id -u)" -eq 0 ] && unshare --user --map-user=1000 --map-group=1000 true 2>/dev/null; then
    run=(unshare --user --map-user=1000 --map-group=1000 skopeo)
  fi
  HOME="$home/home" TMPDIR="$home/tmp" XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/home/.local/share" \
    XDG_RUNTIME_DIR="$home/tmp" REGISTRY_AUTH_FILE="$home/auth.json" \
    "${run[@]}" --policy "$home/policy.json" --tmpdir "$home/tmp" --command-timeout 120s "$@"
}
