//! `services`: 8 families, in kube-state-metrics' order. Default labels: namespace,
//! service, uid.

use crate::api::core::v1::{LoadBalancerStatus, Service, ServiceSpec, ServiceStatus};
use crate::api::Kind;
use crate::metrics::family::{gauge, Context, Family, Out, Stability::*};
use crate::metrics::generic;
use crate::metrics::kube::{s, zero_or};
use crate::metrics::resource::ResourceDef;

#[rustfmt::skip]
pub static FAMILIES: &[Family<Service>] = &[
    gauge("kube_service_info", Stable, "Addresses and traffic policy of the service.", &["cluster_ip", "external_name", "load_balancer_ip", "external_traffic_policy"], info),
    generic::created("kube_service_created", Stable),
    gauge("kube_service_spec_type", Stable, "Type of the service (ClusterIP, NodePort, LoadBalancer, ExternalName).", &["type"], spec_type),
    generic::annotations("kube_service_annotations", Alpha),
    generic::labels("kube_service_labels", Stable),
    gauge("kube_service_spec_external_ip", Stable, "Each external IP of the service.", &["external_ip"], spec_external_ip),
    gauge("kube_service_status_load_balancer_ingress", Stable, "Each load-balancer ingress point of the service.", &["ip", "hostname"], status_load_balancer_ingress),
    generic::deletion_timestamp("kube_service_deletion_timestamp", Alpha),
];

pub static RESOURCE: ResourceDef<Service> = ResourceDef {
    default_labels: &["namespace", "service", "uid"],
    default_values,
    families: FAMILIES,
};

fn default_values(service: &Service) -> Vec<&str> {
    let m = service.metadata();
    vec![s(&m.namespace), s(&m.name), s(&m.uid)]
}

fn spec(v: &Service) -> &ServiceSpec {
    zero_or!(v.spec, ServiceSpec)
}

fn load_balancer(v: &Service) -> &LoadBalancerStatus {
    let status = zero_or!(v.status, ServiceStatus);
    zero_or!(status.load_balancer, LoadBalancerStatus)
}

fn info<'a>(v: &'a Service, _: &Context, out: Out<'a, '_>) {
    let spec = spec(v);
    out.push(
        [
            s(&spec.cluster_ip),
            s(&spec.external_name),
            s(&spec.load_balancer_ip),
            s(&spec.external_traffic_policy),
        ],
        1.0,
    );
}

fn spec_type<'a>(v: &'a Service, _: &Context, out: Out<'a, '_>) {
    out.push([s(&spec(v).r#type)], 1.0);
}

fn spec_external_ip<'a>(v: &'a Service, _: &Context, out: Out<'a, '_>) {
    for ip in &spec(v).external_i_ps {
        out.push([ip.as_str()], 1.0);
    }
}

fn status_load_balancer_ingress<'a>(v: &'a Service, _: &Context, out: Out<'a, '_>) {
    for ingress in &load_balancer(v).ingress {
        out.push([s(&ingress.ip), s(&ingress.hostname)], 1.0);
    }
}
