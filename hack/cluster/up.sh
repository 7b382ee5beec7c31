#!/usr/bin/env bash
# Starts Coxswain's local test cluster (`make cluster-up`): etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and a KWOK controller
# simulating COXSWAIN_NODES fake nodes, all on 127.0.0.1, all state in
# .cluster/ (COXSWAIN_CLUSTER_DIR). Writes the admin kubeconfig to
# .cluster/kubeconfig and returns once the cluster can run pods; the processes
# keep running after this script (and `make`) exit. Stop with down.sh.
#
# Idempotent: if the cluster is already up and healthy this exits 0 at once;
# leftovers of a dead cluster are cleaned up and the cluster started afresh.
set -euo pipefail

# shellcheck source=hack/cluster/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MANIFESTS="${HACK_CLUSTER_DIR}/manifests"
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1 # first address of SERVICE_CIDR: the `kubernetes` Service
# KWOK only writes pod IPs into pod status; nothing here routes or connects to them.
POD_CIDR=10.244.0.0/16

check_prereqs() {
  local c
  for c in kubectl openssl curl setsid flock sha256sum; do
    command -v "$c" >/dev/null || die "${c} is required but not installed"
  done
}

# cluster_healthy: every component runs under its recorded pid and the
# apiserver answers /readyz. Cheap, so a second `make cluster-up` is instant.
cluster_healthy() {
  local c
  [[ -f "$KUBECONFIG_ADMIN" ]] || return 1
  for c in "${COMPONENTS[@]}"; do
    component_pid "$c" >/dev/null || return 1
  done
  kubectl_admin get --raw /readyz --request-timeout=5s >/dev/null 2>&1
}

check_ports_free() {
  local p
  for p in "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" "$KCM_PORT" "$SCHEDULER_PORT"; do
    ! port_in_use "$p" || die "port ${BIND_ADDRESS}:${p} is already in use (another cluster? set COXSWAIN_*_PORT)"
  done
}

# ---------------------------------------------------------------- PKI ------

# new_key FILE: an ECDSA P-256 key; generating one takes milliseconds where
# RSA takes a noticeable part of the start-up time.
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# new_ca NAME CN: a self-signed CA, NAME.key + NAME.crt.
new_ca() {
  new_key "${PKI_DIR}/$1.key"
  openssl req -x509 -new -key "${PKI_DIR}/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "${PKI_DIR}/$1.crt" 2>/dev/null
}

# new_cert CA NAME SUBJECT EXT_KEY_USAGE [SAN]: NAME.key + NAME.crt signed by CA.
new_cert() {
  local ca=$1 name=$2 subj=$3 eku=$4 san=${5:-} ext
  ext="${PKI_DIR}/${name}.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=${eku}"
    [[ -z "$san" ]] || echo "subjectAltName=${san}"
  } >"$ext"
  new_key "${PKI_DIR}/${name}.key"
  openssl req -new -key "${PKI_DIR}/${name}.key" -subj "$subj" -out "${PKI_DIR}/${name}.csr" 2>/dev/null
  openssl x509 -req -in "${PKI_DIR}/${name}.csr" -CA "${PKI_DIR}/${ca}.crt" -CAkey "${PKI_DIR}/${ca}.key" \
    -CAcreateserial -days 3650 -sha256 -extfile "$ext" -out "${PKI_DIR}/${name}.crt" 2>/dev/null
  rm -f "${PKI_DIR}/${name}.csr" "$ext"
}

# gen_pki: throwaway CAs for this cluster; the apiserver's serving cert; one
# client cert per component (distinct user names keep the audit log readable);
# the service-account token signing keypair; and a front-proxy (request-header)
# CA and client cert. Nothing here serves an aggregated API, but without a
# request-header CA the controller manager and scheduler log an error about it
# over and over.
gen_pki() {
  mkdir -p "$PKI_DIR"
  chmod 700 "$PKI_DIR"
  new_ca ca coxswain-local-ca
  new_ca front-proxy-ca coxswain-local-front-proxy-ca
  new_cert ca apiserver "/CN=kube-apiserver" serverAuth \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:${SERVICE_IP}"
  # system:masters is bound to cluster-admin by RBAC's bootstrap policy.
  new_cert ca admin "/O=system:masters/CN=coxswain-admin" clientAuth
  # The bootstrap policy has ClusterRoles for these two user names.
  new_cert ca kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
  new_cert ca kube-scheduler "/CN=system:kube-scheduler" clientAuth
  new_cert ca kwok "/O=system:masters/CN=kwok-controller" clientAuth
  new_cert front-proxy-ca front-proxy-client "/CN=front-proxy-client" clientAuth
  new_key "${PKI_DIR}/sa.key"
  openssl pkey -in "${PKI_DIR}/sa.key" -pubout -out "${PKI_DIR}/sa.pub" 2>/dev/null
}

# write_kubeconfig FILE CERT_NAME: self-contained kubeconfig (CA and client
# cert embedded) so it works from any directory and can be copied around.
write_kubeconfig() {
  local file=$1 cert=$2
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: coxswain-local
  cluster:
    server: https://${BIND_ADDRESS}:${APISERVER_PORT}
    certificate-authority-data: $(base64 -w0 <"${PKI_DIR}/ca.crt")
users:
- name: ${cert}
  user:
    client-certificate-data: $(base64 -w0 <"${PKI_DIR}/${cert}.crt")
    client-key-data: $(base64 -w0 <"${PKI_DIR}/${cert}.key")
contexts:
- name: coxswain-local
  context:
    cluster: coxswain-local
    user: ${cert}
current-context: coxswain-local
EOF
  chmod 600 "$file"
}

# ---------------------------------------------------------- processes ------

start_etcd() {
  local client="http://${BIND_ADDRESS}:${ETCD_CLIENT_PORT}" peer="http://${BIND_ADDRESS}:${ETCD_PEER_PORT}"
  # --unsafe-no-fsync: the data is thrown away with the cluster, and fsync on
  # every write is most of etcd's latency on CI disks.
  start etcd \
    --name=coxswain \
    --data-dir="${CLUSTER_DIR}/etcd" \
    --listen-client-urls="$client" --advertise-client-urls="$client" \
    --listen-peer-urls="$peer" --initial-advertise-peer-urls="$peer" \
    --initial-cluster="coxswain=${peer}" --initial-cluster-state=new \
    --unsafe-no-fsync \
    --log-level=warn
  wait_for "etcd" curl -fsS "${client}/health"
}

start_apiserver() {
  # Flags follow controller-runtime envtest's defaults plus what a real cluster
  # needs for the controllers: RBAC, service-account token issuing, audit.
  # --endpoint-reconciler-type=none: the apiserver can't publish itself as the
  # `kubernetes` Service's endpoint (loopback addresses are invalid there) and
  # would log that every 10s; nothing in this cluster needs that endpoint.
  # --kubelet-preferred-address-types=InternalIP: KWOK nodes report
  # 127.0.0.1, so `kubectl logs/exec` fails fast on loopback instead of
  # resolving made-up host names.
  start kube-apiserver \
    --bind-address="$BIND_ADDRESS" \
    --advertise-address="$BIND_ADDRESS" \
    --secure-port="$APISERVER_PORT" \
    --etcd-servers="http://${BIND_ADDRESS}:${ETCD_CLIENT_PORT}" \
    --tls-cert-file="${PKI_DIR}/apiserver.crt" \
    --tls-private-key-file="${PKI_DIR}/apiserver.key" \
    --client-ca-file="${PKI_DIR}/ca.crt" \
    --requestheader-client-ca-file="${PKI_DIR}/front-proxy-ca.crt" \
    --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User \
    --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="${PKI_DIR}/front-proxy-client.crt" \
    --proxy-client-key-file="${PKI_DIR}/front-proxy-client.key" \
    --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="${PKI_DIR}/sa.pub" \
    --service-account-signing-key-file="${PKI_DIR}/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --allow-privileged=true \
    --kubelet-preferred-address-types=InternalIP \
    --endpoint-reconciler-type=none \
    --audit-policy-file="${MANIFESTS}/audit-policy.yaml" \
    --audit-log-path="${CLUSTER_DIR}/audit.log" \
    --audit-log-format=json \
    --audit-log-maxsize=0 \
    --profiling=false \
    --v=1
  wait_for "kube-apiserver /readyz" kubectl_admin get --raw /readyz --request-timeout=5s
}

start_controllers() {
  local kcm_kc="${CLUSTER_DIR}/kube-controller-manager.kubeconfig"
  local sched_kc="${CLUSTER_DIR}/kube-scheduler.kubeconfig"
  local sched_cfg="${CLUSTER_DIR}/kube-scheduler.yaml"

  # All default controllers (deployment, replicaset, garbage collector, SA
  # token, ...); none needs a cloud. One instance each, so no leader election:
  # it would only delay the start and write a lease every 2s.
  start kube-controller-manager \
    --kubeconfig="$kcm_kc" \
    --authentication-kubeconfig="$kcm_kc" \
    --authorization-kubeconfig="$kcm_kc" \
    --bind-address="$BIND_ADDRESS" \
    --secure-port="$KCM_PORT" \
    --leader-elect=false \
    --controllers='*' \
    --use-service-account-credentials=true \
    --kube-api-qps=100 \
    --kube-api-burst=200 \
    --service-account-private-key-file="${PKI_DIR}/sa.key" \
    --root-ca-file="${PKI_DIR}/ca.crt" \
    --cluster-signing-cert-file="${PKI_DIR}/ca.crt" \
    --cluster-signing-key-file="${PKI_DIR}/ca.key" \
    --cluster-name=coxswain \
    --profiling=false \
    --v=1

  sed "s|@KUBECONFIG@|${sched_kc}|" "${MANIFESTS}/kube-scheduler.yaml.tmpl" >"$sched_cfg"
  start kube-scheduler \
    --config="$sched_cfg" \
    --authentication-kubeconfig="$sched_kc" \
    --authorization-kubeconfig="$sched_kc" \
    --bind-address="$BIND_ADDRESS" \
    --secure-port="$SCHEDULER_PORT" \
    --profiling=false \
    --v=1

  # KWOK manages only nodes annotated kwok.x-k8s.io/node=fake; the stages file
  # defines what happens to them and their pods. Node health rides on the node
  # Lease, as with a real kubelet. KWOK_WORKDIR keeps it away from ~/.kwok.
  KWOK_WORKDIR="${CLUSTER_DIR}/kwok" start kwok \
    --kubeconfig="${CLUSTER_DIR}/kwok.kubeconfig" \
    --config="${MANIFESTS}/kwok-stages.yaml" \
    --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-ip="$BIND_ADDRESS" \
    --node-lease-duration-seconds=40 \
    --cidr="$POD_CIDR"
}

nodes_ready() {
  local ready
  ready=$(kubectl_admin get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c '^True$' || true)
  (( ready >= NODE_COUNT ))
}

component_healthz() { curl -fsSk "https://${BIND_ADDRESS}:$1/healthz"; }

# On failure, show the end of each component's log: in CI that is all there is.
dump_logs_on_failure() {
  local rc=$? f
  (( rc != 0 )) || return 0
  for f in "${LOG_DIR}"/*.log; do
    [[ -f "$f" ]] || continue
    echo "----- tail ${f}" >&2
    tail -n 20 "$f" >&2
  done
  log "cluster start failed; state left in ${CLUSTER_DIR} for inspection; clean up with hack/cluster/down.sh"
}

main() {
  local start_total start_cluster c
  start_total=$(now_ms)
  check_prereqs
  lock_cluster

  if cluster_healthy; then
    log "cluster already up (${CLUSTER_DIR}); nothing to do"
    return 0
  fi
  if [[ -e "$CLUSTER_DIR" ]]; then
    log "found state of a cluster that is not healthy in ${CLUSTER_DIR}; cleaning it up"
    "${HACK_CLUSTER_DIR}/down.sh"
  fi

  "${HACK_CLUSTER_DIR}/binaries.sh"
  check_ports_free

  start_cluster=$(now_ms)
  trap dump_logs_on_failure EXIT
  mkdir -p "$CLUSTER_DIR" "$LOG_DIR" "$PID_DIR"
  touch "$CLUSTER_MARKER"
  # Keep the state out of `git status` without needing an entry in the repo's .gitignore.
  echo '*' >"${CLUSTER_DIR}/.gitignore"
  gen_pki
  write_kubeconfig "$KUBECONFIG_ADMIN" admin
  for c in kube-controller-manager kube-scheduler kwok; do
    write_kubeconfig "${CLUSTER_DIR}/${c}.kubeconfig" "$c"
  done
  log "PKI and kubeconfigs ready ($(elapsed "$start_cluster"))"

  start_etcd
  start_apiserver
  log "apiserver ready ($(elapsed "$start_cluster"))"
  start_controllers
  create_nodes

  wait_for "${NODE_COUNT} Ready nodes" nodes_ready
  log "${NODE_COUNT} nodes Ready ($(elapsed "$start_cluster"))"
  # Pods can't be created in a namespace before its default ServiceAccount exists.
  wait_for "the default ServiceAccount" kubectl_admin get serviceaccount default -n default
  wait_for "kube-controller-manager /healthz" component_healthz "$KCM_PORT"
  wait_for "kube-scheduler /healthz" component_healthz "$SCHEDULER_PORT"
  cluster_healthy || die "a component exited during start-up"
  trap - EXIT

  log "cluster up in $(elapsed "$start_cluster") (total $(elapsed "$start_total"), $(k8s_version), ${NODE_COUNT} nodes)"
  echo "export KUBECONFIG=${KUBECONFIG_ADMIN}"
}

main "$@"
