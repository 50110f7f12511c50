//! Metric families declared by overlays, as plain Rust (`overlay_families.rs`): one
//! generator function per family, walking the prost types field by field, and per
//! served kind an `OverlayFamilies` impl listing them (empty for every kind without
//! declarations, so the stock build's tables are KSM's alone).

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};
use schema_overlay::{
    Access, CheckedFamily, CheckedValue, FamilyStability, FamilyType, Pin, Scalar, Step,
};

use crate::glue::rust_path;
use crate::{CodegenError, ResourceTable};

pub(crate) fn overlay_families(
    families: &[CheckedFamily],
    pin: &Pin,
    table: &ResourceTable,
) -> Result<TokenStream, CodegenError> {
    let mut impls = Vec::new();
    let mut functions = Vec::new();
    for spec in &table.resources {
        let package =
            pin.package_for(&spec.api_version)
                .ok_or_else(|| CodegenError::UnknownApiVersion {
                    resource: spec.plural.clone(),
                    api_version: spec.api_version.clone(),
                })?;
        let object_ty = rust_path(package, &spec.kind);
        let mut entries = Vec::new();
        for (index, family) in families.iter().enumerate() {
            if family.resource != spec.plural {
                continue;
            }
            let function = format_ident!("overlay_family_{index}");
            functions.push(generator(&function, &object_ty, family));
            entries.push(meta(&function, family));
        }
        impls.push(if entries.is_empty() {
            quote!(impl crate::metrics::resource::OverlayFamilies for #object_ty {})
        } else {
            quote! {
                impl crate::metrics::resource::OverlayFamilies for #object_ty {
                    const OVERLAY_FAMILIES: &'static [crate::metrics::family::Family<Self>] = &[#(#entries),*];
                }
            }
        });
    }
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    Ok(quote! {
        /// Names of every family the selected overlays declare, in declaration order.
        pub static OVERLAY_FAMILY_NAMES: &[&str] = &[#(#names),*];

        #(#impls)*

        #(#functions)*
    })
}

fn meta(function: &Ident, family: &CheckedFamily) -> TokenStream {
    let name = &family.name;
    let help = &family.help;
    let kind = match family.kind {
        FamilyType::Gauge => quote!(Gauge),
        FamilyType::Counter => quote!(Counter),
    };
    let stability = match family.stability {
        FamilyStability::Alpha => quote!(Alpha),
        FamilyStability::Stable => quote!(Stable),
    };
    let labels: Vec<&str> = family.labels.iter().map(|l| l.name.as_str()).collect();
    quote! {
        crate::metrics::family::Family {
            meta: crate::metrics::family::FamilyMeta {
                name: #name,
                kind: crate::metrics::family::MetricType::#kind,
                stability: crate::metrics::family::Stability::#stability,
                opt_in: false,
                help: #help,
                labels: ::std::option::Option::Some(&[#(#labels),*]),
            },
            generate: #function,
        }
    }
}

/// `fn overlay_family_N<'a>(object: &'a Kind, _, out)`: nested `if let` / `for` down
/// the `each` path, one sample per element. Absent optional fields read as the zero
/// value (Kubernetes objects are Go structs: an omitted field is its zero value).
fn generator(function: &Ident, object_ty: &TokenStream, family: &CheckedFamily) -> TokenStream {
    let element = format_ident!("element");
    let labels: Vec<TokenStream> = family
        .labels
        .iter()
        .map(|label| label_expr(&element, &label.path, label.scalar))
        .collect();
    let value = match &family.value {
        CheckedValue::Constant(x) => {
            let x = Literal::f64_suffixed(*x);
            quote!(#x)
        }
        CheckedValue::Field { path, scalar } => value_expr(&element, path, *scalar),
    };
    let mut body = quote! {
        out.push_owned(::std::vec![#(#labels),*], #value);
    };
    // Innermost first: each step wraps what comes after it.
    let names: Vec<Ident> = std::iter::once(format_ident!("object"))
        .chain((1..family.each.len()).map(|i| format_ident!("step_{i}")))
        .chain(std::iter::once(element.clone()))
        .collect();
    for (index, step) in family.each.iter().enumerate().rev() {
        let from = &names[index];
        let to = &names[index + 1];
        let field = field_ident(&step.field);
        body = match step.access {
            Access::Optional => quote! {
                if let ::std::option::Option::Some(#to) = #from.#field.as_ref() { #body }
            },
            Access::Required => quote! {
                { let #to = &#from.#field; #body }
            },
            Access::Repeated => quote! {
                for #to in #from.#field.iter() { #body }
            },
        };
    }
    let root_binding = if family.each.is_empty() {
        quote!(let #element = object;)
    } else {
        quote!()
    };
    quote! {
        fn #function<'a>(
            object: &'a #object_ty,
            _: &crate::metrics::family::Context,
            out: &mut crate::metrics::family::Samples<'a>,
        ) {
            #root_binding
            #body
        }
    }
}

/// `Option<&'a T>` of the scalar at `path` from `element`.
fn reach(element: &Ident, path: &[Step]) -> TokenStream {
    let mut expr = quote!(::std::option::Option::Some(#element));
    for step in path {
        let field = field_ident(&step.field);
        expr = match step.access {
            Access::Optional => quote!(#expr.and_then(|m| m.#field.as_ref())),
            // Repeated never reaches here: the schema check rejects it in labels and values.
            Access::Required | Access::Repeated => quote!(#expr.map(|m| &m.#field)),
        };
    }
    expr
}

fn label_expr(element: &Ident, path: &[Step], scalar: Scalar) -> TokenStream {
    let reached = reach(element, path);
    match scalar {
        Scalar::String => quote!(::std::borrow::Cow::Borrowed(#reached.map_or("", |v| v.as_str()))),
        Scalar::Bool => quote!(::std::borrow::Cow::Borrowed(
            if #reached.copied().unwrap_or(false) { "true" } else { "false" }
        )),
        Scalar::Int | Scalar::Float => quote!(::std::borrow::Cow::Owned(
            #reached.copied().unwrap_or_default().to_string()
        )),
    }
}

fn value_expr(element: &Ident, path: &[Step], scalar: Scalar) -> TokenStream {
    let reached = reach(element, path);
    match scalar {
        Scalar::Bool => quote!(if #reached.copied().unwrap_or(false) { 1.0 } else { 0.0 }),
        // i64/u64 beyond 2^53 lose precision, as every Prometheus sample does.
        Scalar::Int | Scalar::Float => quote!(#reached.copied().unwrap_or_default() as f64),
        // The schema check rejects string values.
        Scalar::String => quote!(0.0),
    }
}

/// The Rust name prost gives a field: snake case, keywords as raw identifiers (the
/// rule of prost-build's private `ident::to_snake`).
pub(crate) fn field_ident(proto_name: &str) -> Ident {
    use heck::ToSnakeCase;
    let snake = proto_name.to_snake_case();
    match snake.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" => Ident::new_raw(&snake, Span::call_site()),
        "self" | "super" | "Self" | "crate" => Ident::new(&format!("{snake}_"), Span::call_site()),
        _ => Ident::new(&snake, Span::call_site()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_follow_prost() {
        assert_eq!(field_ident("deviceInfo").to_string(), "device_info");
        assert_eq!(field_ident("podCIDRs").to_string(), "pod_cid_rs");
        assert_eq!(field_ident("type").to_string(), "r#type");
        assert_eq!(field_ident("self").to_string(), "self_");
    }
}
