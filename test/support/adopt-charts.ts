// Deployments, Services and HPAs shaped like popular charts' output (bitnami, ingress-nginx,
// podinfo, grafana, cert-manager, metrics-server, ...), for `kubectl coxswain adopt`: each with what
// the command must say it cannot express, or why it must refuse. Written as the charts render
// them; one case as the API server returns it, every default filled in.
import type { KubeObject } from '../../src/kube/object.js';
import type { Other } from '../../src/adopt/service.js';

type Json = Record<string, unknown>;

export interface ChartCase {
  chart: string;
  deployment: KubeObject;
  service?: KubeObject;
  hpa?: KubeObject;
  container?: string;
  others?: Other[];
  /** Each line of what cannot be expressed, one pattern a line; none: the pod template comes back exactly. */
  lost?: RegExp[];
  /** Why the command refuses, matched in order. */
  refusals?: RegExp[];
}

const helmLabels = (name: string, instance = name) => ({
  'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': instance, 'app.kubernetes.io/managed-by': 'Helm', 'helm.sh/chart': `${name}-1.2.3`,
});
const selectorOf = (name: string, instance = name) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': instance });
const helmAnnotations = (release: string) => ({ 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': 'apps' });

export function deployment(name: string, pod: Json, opts: { labels?: Record<string, string>; spec?: Json; meta?: Json; instance?: string } = {}): KubeObject {
  const selector = opts.labels ?? selectorOf(name, opts.instance);
  return {
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name, namespace: 'apps', labels: { ...helmLabels(name, opts.instance), ...selector }, annotations: helmAnnotations(name), ...opts.meta },
    spec: { replicas: 2, selector: { matchLabels: selector }, ...opts.spec, template: { metadata: { labels: { ...selector } }, spec: pod } },
  };
}

export function service(name: string, ports: Json[], opts: { selector?: Record<string, string>; spec?: Json; instance?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace: 'apps', labels: helmLabels(name, opts.instance), annotations: helmAnnotations(name) },
    spec: { type: 'ClusterIP', selector: opts.selector ?? selectorOf(name, opts.instance), ports, ...opts.spec },
  };
}

export function hpa(name: string, target: string, spec: Json): KubeObject {
  return {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: 'apps', labels: helmLabels(name) },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, ...spec },
  };
}

const httpProbe = (path: string, port: string | number) => ({ httpGet: { path, port }, initialDelaySeconds: 5 });
const restricted = { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } };
const tcp = (name: string, port: number, targetPort: string | number = name) => ({ name, port, targetPort, protocol: 'TCP' });

export const CHART_CASES: ChartCase[] = [
  {
    chart: 'bitnami/nginx: probes, a restricted security context, an emptyDir, soft anti-affinity',
    deployment: deployment('nginx', {
      securityContext: { fsGroup: 1001, seccompProfile: { type: 'RuntimeDefault' } },
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { labelSelector: { matchLabels: selectorOf('nginx') }, topologyKey: 'kubernetes.io/hostname' } }] } },
      automountServiceAccountToken: false,
      serviceAccountName: 'nginx',
      containers: [{
        name: 'nginx', image: 'docker.io/bitnami/nginx:1.27.3-debian-12-r5', imagePullPolicy: 'IfNotPresent',
        securityContext: restricted,
        env: [{ name: 'BITNAMI_DEBUG', value: 'false' }, { name: 'NGINX_HTTP_PORT_NUMBER', value: '8080' }],
        ports: [{ name: 'http', containerPort: 8080 }],
        livenessProbe: { tcpSocket: { port: 'http' }, failureThreshold: 6, initialDelaySeconds: 30, periodSeconds: 10, timeoutSeconds: 5 },
        readinessProbe: httpProbe('/', 'http'),
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '150m', memory: '192Mi' } },
        volumeMounts: [{ name: 'empty-dir', mountPath: '/tmp', subPath: 'tmp-dir' }],
      }],
      volumes: [{ name: 'empty-dir', emptyDir: {} }],
    }),
    service: service('nginx', [tcp('http', 80)]),
  },
  {
    chart: 'podinfo: three ports all served, an HPA on cpu, a preStop hook',
    deployment: deployment('podinfo', {
      terminationGracePeriodSeconds: 30,
      containers: [{
        name: 'podinfo', image: 'ghcr.io/stefanprodan/podinfo:6.7.1', command: ['./podinfo', '--port=9898', '--port-metrics=9797', '--grpc-port=9999', '--level=info'],
        env: [{ name: 'PODINFO_UI_COLOR', value: '#34577c' }],
        ports: [{ name: 'http', containerPort: 9898 }, { name: 'http-metrics', containerPort: 9797 }, { name: 'grpc', containerPort: 9999 }],
        livenessProbe: { exec: { command: ['podcli', 'check', 'http', 'localhost:9898/healthz'] }, initialDelaySeconds: 1, timeoutSeconds: 5 },
        readinessProbe: { exec: { command: ['podcli', 'check', 'http', 'localhost:9898/readyz'] }, initialDelaySeconds: 1, timeoutSeconds: 5 },
        lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'sleep 5'] } } },
        resources: { requests: { cpu: '1m', memory: '16Mi' } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      }],
      volumes: [{ name: 'data', emptyDir: {} }],
    }, { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } } }),
    service: service('podinfo', [tcp('http', 9898), tcp('http-metrics', 9797), tcp('grpc', 9999)]),
    hpa: hpa('podinfo', 'podinfo', { minReplicas: 2, maxReplicas: 4, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 99 } } }] }),
  },
  {
    chart: 'cert-manager webhook: Service port 443 onto the container port https, args, a node selector',
    deployment: deployment('cert-manager-webhook', {
      serviceAccountName: 'cert-manager-webhook', enableServiceLinks: false, nodeSelector: { 'kubernetes.io/os': 'linux' },
      securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [{
        name: 'cert-manager-webhook', image: 'quay.io/jetstack/cert-manager-webhook:v1.16.2', imagePullPolicy: 'IfNotPresent',
        args: ['--v=2', '--secure-port=10250', '--dynamic-serving-ca-secret-namespace=$(POD_NAMESPACE)'],
        env: [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
        ports: [{ name: 'https', containerPort: 10250, protocol: 'TCP' }, { name: 'healthcheck', containerPort: 6080, protocol: 'TCP' }],
        livenessProbe: { httpGet: { path: '/livez', port: 6080, scheme: 'HTTP' }, initialDelaySeconds: 60, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        readinessProbe: { httpGet: { path: '/healthz', port: 6080, scheme: 'HTTP' }, initialDelaySeconds: 5, periodSeconds: 5 },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
      }],
    }, { spec: { replicas: 1 } }),
    service: service('cert-manager-webhook', [tcp('https', 443, 'https')]),
    lost: [/^container port healthcheck: service\/cert-manager-webhook would also expose it/],
  },
  {
    chart: 'metrics-server: priority class, tolerations, an emptyDir, Service 443 onto https',
    deployment: deployment('metrics-server', {
      serviceAccountName: 'metrics-server', priorityClassName: 'system-cluster-critical',
      tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }],
      containers: [{
        name: 'metrics-server', image: 'registry.k8s.io/metrics-server/metrics-server:v0.7.2',
        args: ['--secure-port=10250', '--cert-dir=/tmp', '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname', '--metric-resolution=15s'],
        ports: [{ name: 'https', containerPort: 10250, protocol: 'TCP' }],
        livenessProbe: { httpGet: { path: '/livez', port: 'https', scheme: 'HTTPS' }, initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 3 },
        readinessProbe: { httpGet: { path: '/readyz', port: 'https', scheme: 'HTTPS' }, initialDelaySeconds: 20, periodSeconds: 10, failureThreshold: 3 },
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
        securityContext: restricted,
      }],
      volumes: [{ name: 'tmp', emptyDir: {} }],
    }, { spec: { strategy: { rollingUpdate: { maxUnavailable: 0 } } } }),
    service: service('metrics-server', [tcp('https', 443, 'https')]),
  },
  {
    chart: 'argo-cd repo-server: spread constraints with a selector, an init container copying a binary, a startup probe',
    deployment: deployment('argocd-repo-server', {
      serviceAccountName: 'argocd-repo-server', automountServiceAccountToken: true,
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selectorOf('argocd-repo-server') } }],
      initContainers: [{ name: 'copyutil', image: 'quay.io/argoproj/argocd:v2.13.2', command: ['/bin/cp', '-n', '/usr/local/bin/argocd', '/var/run/argocd/argocd-cmp-server'],
        volumeMounts: [{ name: 'var-files', mountPath: '/var/run/argocd' }], securityContext: restricted }],
      containers: [{
        name: 'argocd-repo-server', image: 'quay.io/argoproj/argocd:v2.13.2', args: ['/usr/local/bin/argocd-repo-server', '--port=8081', '--metrics-port=8084'],
        ports: [{ name: 'repo-server', containerPort: 8081 }, { name: 'metrics', containerPort: 8084 }],
        envFrom: [{ configMapRef: { name: 'argocd-cmd-params-cm', optional: true } }],
        startupProbe: { httpGet: { path: '/healthz', port: 'metrics' }, failureThreshold: 30, periodSeconds: 5 },
        readinessProbe: { httpGet: { path: '/healthz', port: 'metrics' } },
        volumeMounts: [{ name: 'var-files', mountPath: '/var/run/argocd' }, { name: 'tmp', mountPath: '/tmp' }],
      }],
      volumes: [{ name: 'var-files', emptyDir: {} }, { name: 'tmp', emptyDir: {} }],
    }),
    service: service('argocd-repo-server', [tcp('repo-server', 8081), tcp('metrics', 8084)]),
  },
  {
    chart: 'a worker without ports (external-dns shaped): env from a Secret, no Service',
    deployment: deployment('external-dns', {
      serviceAccountName: 'external-dns',
      containers: [{
        name: 'external-dns', image: 'registry.k8s.io/external-dns/external-dns:v0.15.1',
        args: ['--source=service', '--source=ingress', '--provider=aws', '--registry=txt'],
        env: [{ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'external-dns', key: 'id' } } }],
        resources: { limits: { memory: '64Mi' } },
      }],
    }, { spec: { replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } }),
  },
  {
    chart: 'the same worker read back from the API server: every default filled in, none printed',
    deployment: deployment('podinfo-defaulted', {
      restartPolicy: 'Always', dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', securityContext: {}, terminationGracePeriodSeconds: 30,
      serviceAccountName: 'default', serviceAccount: 'default',
      containers: [{
        name: 'podinfo-defaulted', image: 'ghcr.io/stefanprodan/podinfo:6.7.1', imagePullPolicy: 'IfNotPresent',
        terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', resources: {},
        ports: [{ name: 'http', containerPort: 9898, protocol: 'TCP' }],
        env: [{ name: 'NS', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } }],
        readinessProbe: { httpGet: { path: '/readyz', port: 9898, scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 },
        volumeMounts: [{ name: 'config', mountPath: '/etc/podinfo' }],
      }],
      volumes: [{ name: 'config', configMap: { name: 'podinfo', defaultMode: 420 } }],
    }, { spec: { progressDeadlineSeconds: 600, revisionHistoryLimit: 10, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } } } }),
    service: service('podinfo-defaulted', [{ name: 'http', port: 9898, targetPort: 'http', protocol: 'TCP' }], {
      spec: { clusterIP: '10.96.4.12', clusterIPs: ['10.96.4.12'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster' },
    }),
  },
  {
    chart: 'grafana: an init container, a dashboard sidecar container, a PVC, configMap and secret volumes',
    deployment: deployment('grafana', {
      serviceAccountName: 'grafana', securityContext: { fsGroup: 472, runAsGroup: 472, runAsNonRoot: true, runAsUser: 472 },
      initContainers: [{ name: 'init-chown-data', image: 'docker.io/library/busybox:1.31.1', command: ['chown', '-R', '472:472', '/var/lib/grafana'],
        securityContext: { runAsNonRoot: false, runAsUser: 0, capabilities: { add: ['CHOWN'] } }, volumeMounts: [{ name: 'storage', mountPath: '/var/lib/grafana' }] }],
      containers: [
        { name: 'grafana-sc-dashboard', image: 'quay.io/kiwigrid/k8s-sidecar:1.28.0', env: [{ name: 'LABEL', value: 'grafana_dashboard' }, { name: 'FOLDER', value: '/tmp/dashboards' }],
          volumeMounts: [{ name: 'sc-dashboard-volume', mountPath: '/tmp/dashboards' }] },
        { name: 'grafana', image: 'docker.io/grafana/grafana:11.4.0',
          ports: [{ name: 'grafana', containerPort: 3000 }, { name: 'gossip-tcp', containerPort: 9094 }],
          env: [{ name: 'GF_SECURITY_ADMIN_USER', valueFrom: { secretKeyRef: { name: 'grafana', key: 'admin-user' } } }],
          livenessProbe: { httpGet: { path: '/api/health', port: 3000 }, initialDelaySeconds: 60, timeoutSeconds: 30, failureThreshold: 10 },
          readinessProbe: { httpGet: { path: '/api/health', port: 3000 } },
          volumeMounts: [{ name: 'config', mountPath: '/etc/grafana/grafana.ini', subPath: 'grafana.ini' }, { name: 'storage', mountPath: '/var/lib/grafana' },
            { name: 'sc-dashboard-volume', mountPath: '/tmp/dashboards' }] },
      ],
      volumes: [{ name: 'config', configMap: { name: 'grafana' } }, { name: 'storage', persistentVolumeClaim: { claimName: 'grafana' } },
        { name: 'sc-dashboard-volume', emptyDir: {} }, { name: 'secrets', secret: { secretName: 'grafana-extra' } }],
    }, { spec: { replicas: 1, strategy: { type: 'RollingUpdate' } } }),
    service: service('grafana', [{ name: 'service', port: 80, targetPort: 3000, protocol: 'TCP' }]),
    lost: [
      /^deployment\/grafana container grafana-sc-dashboard: runs as a native sidecar/,
      /^container port gossip-tcp: service\/grafana would also expose it/,
    ],
  },
  {
    chart: 'redis (bitnami standalone shaped): strategy Recreate',
    deployment: deployment('redis', {
      containers: [{ name: 'redis', image: 'docker.io/bitnami/redis:7.4.1', ports: [{ name: 'redis', containerPort: 6379 }],
        livenessProbe: { exec: { command: ['sh', '-c', '/health/ping_liveness_local.sh 5'] }, initialDelaySeconds: 20, periodSeconds: 5, timeoutSeconds: 6 } }],
    }, { spec: { replicas: 1, strategy: { type: 'Recreate' } } }),
    service: service('redis', [tcp('tcp-redis', 6379, 'redis')]),
    lost: [/^deployment\/redis spec\.strategy\.type: Recreate cannot be said/],
  },
  {
    chart: 'ingress-nginx controller: a container not named like its Service, an extra webhook port, a NodePort with fixed ports',
    deployment: deployment('ingress-nginx-controller', {
      dnsPolicy: 'ClusterFirst', serviceAccountName: 'ingress-nginx', terminationGracePeriodSeconds: 300,
      containers: [{
        name: 'controller', image: 'registry.k8s.io/ingress-nginx/controller:v1.12.0',
        args: ['/nginx-ingress-controller', '--publish-service=$(POD_NAMESPACE)/ingress-nginx-controller', '--election-id=ingress-nginx-leader'],
        env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }],
        lifecycle: { preStop: { exec: { command: ['/wait-shutdown'] } } },
        ports: [{ name: 'http', containerPort: 80 }, { name: 'https', containerPort: 443 }, { name: 'webhook', containerPort: 8443 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 10254 }, initialDelaySeconds: 10 },
        securityContext: { allowPrivilegeEscalation: false, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }, runAsUser: 101 },
      }],
    }, { labels: { 'app.kubernetes.io/name': 'ingress-nginx-controller', 'app.kubernetes.io/instance': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' } }),
    service: service('ingress-nginx-controller', [
      { name: 'http', port: 80, targetPort: 'http', protocol: 'TCP', nodePort: 30080 }, { name: 'https', port: 443, targetPort: 'https', protocol: 'TCP', nodePort: 30443 },
    ], { selector: { 'app.kubernetes.io/name': 'ingress-nginx-controller', 'app.kubernetes.io/instance': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' },
      spec: { type: 'NodePort', externalTrafficPolicy: 'Local' } }),
    lost: [
      /^deployment\/ingress-nginx-controller container controller: the main container is named after the Microservice, so it becomes ingress-nginx-controller$/,
      /^service\/ingress-nginx-controller port http: nodePort 30080 cannot be said/,
      /^service\/ingress-nginx-controller port https: nodePort 30443 cannot be said/,
      /^container port webhook: service\/ingress-nginx-controller would also expose it/,
      /^service\/ingress-nginx-controller spec\.externalTrafficPolicy: Local cannot be said/,
    ],
  },
  {
    chart: 'kube-state-metrics: Service port names that are not the container ports\'',
    deployment: deployment('kube-state-metrics', {
      serviceAccountName: 'kube-state-metrics', hostNetwork: false,
      containers: [{ name: 'kube-state-metrics', image: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.14.0', args: ['--port=8080', '--telemetry-port=8081'],
        ports: [{ name: 'metrics', containerPort: 8080 }, { name: 'telemetry', containerPort: 8081 }] }],
    }),
    service: service('kube-state-metrics', [tcp('http', 8080, 'metrics'), tcp('metrics', 8081, 'telemetry')]),
    lost: [
      /^service\/kube-state-metrics port http: its name would become metrics, the container port's$/,
      /^service\/kube-state-metrics port metrics: its name would become telemetry, the container port's$/,
      /^deployment\/kube-state-metrics spec\.template\.spec\.hostNetwork: false cannot be said in a Microservice$/,
    ],
  },
  {
    chart: 'blackbox-exporter: hostNetwork and a container field no Microservice has (stdin)',
    deployment: deployment('blackbox-exporter', {
      hostNetwork: true,
      containers: [{ name: 'blackbox-exporter', image: 'quay.io/prometheus/blackbox-exporter:v0.25.0', stdin: true,
        args: ['--config.file=/config/blackbox.yaml'], ports: [{ name: 'http', containerPort: 9115 }],
        volumeMounts: [{ name: 'config', mountPath: '/config' }] }],
      volumes: [{ name: 'config', configMap: { name: 'blackbox-exporter' } }],
    }),
    service: service('blackbox-exporter', [tcp('http', 9115)]),
    lost: [
      /^deployment\/blackbox-exporter spec\.template\.spec\.hostNetwork: true cannot be said in a Microservice$/,
      /^deployment\/blackbox-exporter spec\.template\.spec\.containers\[name=blackbox-exporter\]\.stdin: true cannot be said in a Microservice$/,
    ],
  },
  {
    chart: 'a native sidecar after a migration init container: the order would change',
    deployment: deployment('orders', {
      initContainers: [
        { name: 'migrate', image: 'registry.example/orders:1.4.2', command: ['/bin/migrate'] },
        { name: 'proxy', image: 'gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.0', restartPolicy: 'Always', args: ['--port=5432'] },
      ],
      containers: [{ name: 'orders', image: 'registry.example/orders:1.4.2', ports: [{ name: 'http', containerPort: 8080 }] }],
    }),
    service: service('orders', [tcp('http', 80, 'http')]),
    lost: [/^deployment\/orders spec\.template\.spec\.initContainers: the order migrate, proxy becomes proxy, migrate$/],
  },
  {
    chart: 'an HPA on cpu, memory and a Pods metric, with behavior',
    deployment: deployment('checkout', {
      containers: [{ name: 'checkout', image: 'registry.example/checkout:2.0.1', ports: [{ name: 'http', containerPort: 8080 }],
        resources: { requests: { cpu: '250m', memory: '256Mi' } } }],
    }, { spec: { replicas: 4, minReadySeconds: 10 } }),
    service: service('checkout', [tcp('http', 80)]),
    hpa: hpa('checkout', 'checkout', {
      minReplicas: 4, maxReplicas: 20,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } } },
        { type: 'Pods', pods: { metric: { name: 'http_requests_per_second' }, target: { type: 'AverageValue', averageValue: '100' } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] } },
    }),
  },
  {
    chart: 'a Service with session affinity and a team label on the Deployment',
    deployment: deployment('cart', {
      containers: [{ name: 'cart', image: 'registry.example/cart:3.1.0', ports: [{ name: 'http', containerPort: 8080 }] }],
    }, { meta: { labels: { ...helmLabels('cart'), team: 'payments' } } }),
    service: service('cart', [tcp('http', 80)], { spec: { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } } }),
    lost: [
      /^service\/cart spec\.sessionAffinity: ClientIP cannot be said/,
      /^service\/cart spec\.sessionAffinityConfig: .* cannot be said/,
      /^deployment\/cart metadata\.labels\.team: not carried over/,
    ],
  },
  {
    chart: 'two containers, no Service, no --container: none is clearly the main one',
    deployment: deployment('app-with-proxy', {
      containers: [{ name: 'app', image: 'registry.example/app:1' }, { name: 'envoy', image: 'envoyproxy/envoy:v1.32.3' }],
    }),
    refusals: [/^deployment\/app-with-proxy has containers app, envoy and none is clearly the main one: name it with --container$/],
  },
  {
    chart: 'the same with --container app: envoy becomes a native sidecar',
    deployment: deployment('app-with-proxy', {
      containers: [{ name: 'app', image: 'registry.example/app:1' }, { name: 'envoy', image: 'envoyproxy/envoy:v1.32.3', args: ['-c', '/etc/envoy.yaml'] }],
    }),
    container: 'app',
    lost: [
      /^deployment\/app-with-proxy container app: the main container is named after the Microservice, so it becomes app-with-proxy$/,
      /^deployment\/app-with-proxy container envoy: runs as a native sidecar/,
    ],
  },
  {
    chart: 'a Service selecting app.kubernetes.io/name of the chart, not the release: Coxswain could not label its pods so',
    deployment: deployment('shop-web', {
      containers: [{ name: 'web', image: 'registry.example/web:5' }],
    }, { labels: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'shop' } }),
    service: service('shop-web', [tcp('http', 80, 8080)], { selector: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'shop' } }),
    refusals: [/^service\/shop-web selects app\.kubernetes\.io\/name=web, but Coxswain labels every pod of Microservice shop-web with app\.kubernetes\.io\/name=shop-web/],
  },
  {
    chart: 'a Service that also selects the pods of another Deployment',
    deployment: deployment('api', {
      containers: [{ name: 'api', image: 'registry.example/api:1', ports: [{ name: 'http', containerPort: 8080 }] }],
    }, { labels: { app: 'api', track: 'stable' } }),
    service: service('api', [tcp('http', 80)], { selector: { app: 'api' } }),
    others: [{ what: 'deployment/api-canary', labels: { app: 'api', track: 'canary' } }],
    refusals: [/^service\/api also selects the pods of deployment\/api-canary: taking it over would cut them off$/],
  },
  {
    chart: 'an HPA that scales another Deployment, and a Deployment owned by another controller',
    deployment: deployment('billing', {
      containers: [{ name: 'billing', image: 'registry.example/billing:1' }],
    }, { meta: { ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'billing', uid: 'u1', controller: true }] } }),
    hpa: hpa('billing', 'billing-v2', { maxReplicas: 5 }),
    refusals: [
      /^deployment\/billing is controlled by Rollout\/billing; adopting it would fight its owner$/,
      /^horizontalpodautoscaler\/billing scales Deployment\/billing-v2, not deployment\/billing$/,
    ],
  },
];
