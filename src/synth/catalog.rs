//! Fixed vocabulary the generator draws from: application archetypes, node agents,
//! instance types, zones, images. Values look like a real cluster's; none is real data.

/// One kind of application: what its containers run and need.
#[derive(Debug)]
pub struct Archetype {
    pub name: &'static str,
    pub component: &'static str,
    pub image: &'static str,
    pub port: i32,
    /// CPU request in millicores and memory request in MiB; limits are a multiple.
    pub cpu_milli: u32,
    pub memory_mib: u32,
    pub env: &'static [&'static str],
    pub init_image: Option<&'static str>,
    pub health_path: &'static str,
}

pub const ARCHETYPES: &[Archetype] = &[
    Archetype {
        name: "web",
        component: "frontend",
        image: "registry.example.com/shop/web:1.42.0",
        port: 8080,
        cpu_milli: 100,
        memory_mib: 256,
        env: &["NODE_ENV", "API_URL", "SESSION_STORE", "LOG_LEVEL"],
        init_image: None,
        health_path: "/healthz",
    },
    Archetype {
        name: "checkout-api",
        component: "api",
        image: "registry.example.com/shop/checkout:3.7.2",
        port: 9000,
        cpu_milli: 250,
        memory_mib: 512,
        env: &[
            "DATABASE_URL",
            "REDIS_ADDR",
            "PAYMENT_GATEWAY",
            "LOG_LEVEL",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ],
        init_image: Some("registry.example.com/shop/checkout-migrate:3.7.2"),
        health_path: "/ready",
    },
    Archetype {
        name: "inventory",
        component: "backend",
        image: "registry.example.com/shop/inventory:2.0.11",
        port: 8080,
        cpu_milli: 500,
        memory_mib: 1024,
        env: &[
            "JAVA_OPTS",
            "SPRING_PROFILES_ACTIVE",
            "DB_HOST",
            "DB_USER",
            "KAFKA_BOOTSTRAP",
        ],
        init_image: Some("busybox:1.36"),
        health_path: "/actuator/health",
    },
    Archetype {
        name: "search",
        component: "backend",
        image: "registry.example.com/platform/search:5.1.0",
        port: 9200,
        cpu_milli: 1000,
        memory_mib: 4096,
        env: &["ES_JAVA_OPTS", "CLUSTER_NAME", "DISCOVERY_SEED_HOSTS"],
        init_image: Some("busybox:1.36"),
        health_path: "/_cluster/health",
    },
    Archetype {
        name: "worker",
        component: "worker",
        image: "registry.example.com/shop/worker:1.9.4",
        port: 8081,
        cpu_milli: 200,
        memory_mib: 384,
        env: &["QUEUE_URL", "CONCURRENCY", "LOG_LEVEL", "SENTRY_DSN"],
        init_image: None,
        health_path: "/live",
    },
    Archetype {
        name: "redis",
        component: "cache",
        image: "docker.io/library/redis:7.2.4",
        port: 6379,
        cpu_milli: 100,
        memory_mib: 512,
        env: &["REDIS_PASSWORD", "REDIS_MAXMEMORY"],
        init_image: None,
        health_path: "/",
    },
    Archetype {
        name: "postgres",
        component: "database",
        image: "docker.io/library/postgres:16.2",
        port: 5432,
        cpu_milli: 500,
        memory_mib: 2048,
        env: &[
            "POSTGRES_DB",
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "PGDATA",
        ],
        init_image: Some("docker.io/library/postgres:16.2"),
        health_path: "/",
    },
    Archetype {
        name: "gateway",
        component: "ingress",
        image: "registry.k8s.io/ingress-nginx/controller:v1.10.0",
        port: 443,
        cpu_milli: 200,
        memory_mib: 256,
        env: &["POD_NAME", "POD_NAMESPACE", "LD_PRELOAD"],
        init_image: None,
        health_path: "/healthz",
    },
    Archetype {
        name: "recommender",
        component: "ml",
        image: "registry.example.com/ml/recommender:0.18.3",
        port: 8500,
        cpu_milli: 2000,
        memory_mib: 6144,
        env: &["MODEL_PATH", "BATCH_SIZE", "OMP_NUM_THREADS", "LOG_LEVEL"],
        init_image: Some("registry.example.com/ml/model-fetch:0.4.0"),
        health_path: "/v1/models",
    },
    Archetype {
        name: "notifier",
        component: "backend",
        image: "registry.example.com/shop/notifier:1.3.0",
        port: 8080,
        cpu_milli: 50,
        memory_mib: 128,
        env: &["SMTP_HOST", "SMTP_PORT", "TEMPLATE_DIR"],
        init_image: None,
        health_path: "/healthz",
    },
];

/// Node agents run as DaemonSets, one pod per node each.
#[derive(Debug)]
pub struct DaemonSetSpec {
    pub name: &'static str,
    pub namespace: &'static str,
    pub image: &'static str,
    pub port: i32,
    pub cpu_milli: u32,
    pub memory_mib: u32,
}

pub const DAEMONSETS: &[DaemonSetSpec] = &[
    DaemonSetSpec {
        name: "kube-proxy",
        namespace: "kube-system",
        image: "registry.k8s.io/kube-proxy:v1.35.0",
        port: 10256,
        cpu_milli: 100,
        memory_mib: 64,
    },
    DaemonSetSpec {
        name: "node-exporter",
        namespace: "monitoring",
        image: "quay.io/prometheus/node-exporter:v1.8.1",
        port: 9100,
        cpu_milli: 50,
        memory_mib: 64,
    },
    DaemonSetSpec {
        name: "fluent-bit",
        namespace: "kube-system",
        image: "cr.fluentbit.io/fluent/fluent-bit:3.0.7",
        port: 2020,
        cpu_milli: 100,
        memory_mib: 128,
    },
    DaemonSetSpec {
        name: "cilium",
        namespace: "kube-system",
        image: "quay.io/cilium/cilium:v1.15.6",
        port: 9962,
        cpu_milli: 200,
        memory_mib: 512,
    },
];

pub const SIDECAR_IMAGE: &str = "docker.io/istio/proxyv2:1.22.1";

pub const NAMESPACE_WORDS: &[&str] = &[
    "payments",
    "catalog",
    "search",
    "checkout",
    "identity",
    "analytics",
    "ml",
    "growth",
    "platform",
    "data",
    "support",
    "billing",
];

pub const TEAMS: &[&str] = &[
    "core", "commerce", "data", "platform", "ml", "growth", "sre",
];

pub const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
pub const REGION: &str = "eu-west-1";

/// (instance type, CPU cores, memory GiB).
pub const INSTANCE_TYPES: [(&str, u32, u32); 6] = [
    ("m6i.2xlarge", 8, 32),
    ("m6i.4xlarge", 16, 64),
    ("c6i.4xlarge", 16, 32),
    ("r6i.2xlarge", 8, 64),
    ("m6i.8xlarge", 32, 128),
    ("g5.4xlarge", 16, 64),
];

/// Images a node reports as present (status.images), with sizes in bytes.
pub const NODE_IMAGES: &[(&str, i64)] = &[
    ("registry.k8s.io/kube-proxy:v1.35.0", 30_541_213),
    ("quay.io/prometheus/node-exporter:v1.8.1", 11_844_312),
    ("cr.fluentbit.io/fluent/fluent-bit:3.0.7", 36_512_907),
    ("quay.io/cilium/cilium:v1.15.6", 187_620_114),
    ("registry.k8s.io/pause:3.10", 320_368),
    ("registry.k8s.io/coredns/coredns:v1.11.3", 18_562_039),
    ("docker.io/istio/proxyv2:1.22.1", 91_250_118),
    ("registry.example.com/shop/web:1.42.0", 48_118_330),
    ("registry.example.com/shop/checkout:3.7.2", 71_902_551),
    ("registry.example.com/shop/inventory:2.0.11", 212_404_187),
    ("docker.io/library/redis:7.2.4", 46_117_908),
    ("docker.io/library/postgres:16.2", 151_003_662),
    ("busybox:1.36", 2_160_406),
    ("registry.example.com/shop/worker:1.9.4", 63_501_774),
];

/// A fixed "now" for the synthetic cluster (2026-11-15T00:00:00Z), so output does not
/// depend on the wall clock.
pub const CLUSTER_NOW: i64 = 1_794_700_800;
pub const DAY: i64 = 86_400;
