//! Per-kind glue generated with `quote`: the resource table and the `Object` /
//! `ObjectList` enums with their decode dispatch, so no hand-written code needs a
//! `match` over kinds.

use proc_macro2::{Ident, Span, TokenStream};
use prost_types::FileDescriptorSet;
use quote::quote;
use schema_overlay::Pin;

use crate::{CodegenError, ResourceTable};

/// Rust path (relative to the module that includes the generated types) of a message.
pub(crate) fn rust_path(package: &str, message: &str) -> TokenStream {
    let segments = package
        .split('.')
        .map(|seg| Ident::new(&seg.to_lowercase(), Span::call_site()));
    let message = Ident::new(message, Span::call_site());
    quote!(#(#segments)::* :: #message)
}

fn message_exists(fds: &FileDescriptorSet, package: &str, message: &str) -> bool {
    fds.file.iter().any(|file| {
        file.package.as_deref() == Some(package)
            && file
                .message_type
                .iter()
                .any(|m| m.name.as_deref() == Some(message))
    })
}

pub(crate) fn resource_glue(
    fds: &FileDescriptorSet,
    pin: &Pin,
    table: &ResourceTable,
) -> Result<TokenStream, CodegenError> {
    let mut entries = Vec::new();
    let mut variants = Vec::new();
    let mut list_variants = Vec::new();
    let mut object_arms = Vec::new();
    let mut list_arms = Vec::new();
    let mut object_resource_arms = Vec::new();
    let mut list_resource_arms = Vec::new();
    let mut metadata_arms = Vec::new();
    let mut list_items_arms = Vec::new();
    let mut list_meta_arms = Vec::new();
    let mut encode_arms = Vec::new();
    let mut from_metadata_arms = Vec::new();
    let mut from_json_arms = Vec::new();
    let mut list_from_json_arms = Vec::new();
    let mut to_json_arms = Vec::new();
    let mut list_to_json_arms = Vec::new();
    let mut kind_impls = Vec::new();

    for (index, spec) in table.resources.iter().enumerate() {
        let package =
            pin.package_for(&spec.api_version)
                .ok_or_else(|| CodegenError::UnknownApiVersion {
                    resource: spec.plural.clone(),
                    api_version: spec.api_version.clone(),
                })?;
        let list_kind = format!("{}List", spec.kind);
        for message in [&spec.kind, &list_kind] {
            if !message_exists(fds, package, message) {
                return Err(CodegenError::MissingMessage {
                    resource: spec.plural.clone(),
                    message: format!("{package}.{message}"),
                });
            }
        }
        let plural = &spec.plural;
        let api_version = &spec.api_version;
        let group = spec.group();
        let version = spec.version();
        let kind = &spec.kind;
        let namespaced = spec.namespaced;
        let view = Ident::new(spec.view.variant(), Span::call_site());
        let proto_message = format!("{package}.{kind}");
        entries.push(quote! {
            ResourceType {
                plural: #plural,
                group: #group,
                version: #version,
                api_version: #api_version,
                kind: #kind,
                list_kind: #list_kind,
                namespaced: #namespaced,
                view: View::#view,
                proto_message: #proto_message,
            }
        });
        let variant = Ident::new(kind, Span::call_site());
        let object_ty = rust_path(package, kind);
        let list_ty = rust_path(package, &list_kind);
        variants.push(quote!(#variant(::std::boxed::Box<#object_ty>)));
        list_variants.push(quote!(#variant(#list_ty)));
        object_arms.push(quote! {
            (#api_version, #kind) => <#object_ty as ::prost::Message>::decode(raw)
                .map(|object| Object::#variant(::std::boxed::Box::new(object))),
        });
        list_arms.push(quote! {
            (#api_version, #list_kind) => <#list_ty as ::prost::Message>::decode(raw)
                .map(ObjectList::#variant),
        });
        from_json_arms.push(quote! {
            (#api_version, #kind) => crate::api::json::parse::<#object_ty>(raw)
                .map(|object| Object::#variant(::std::boxed::Box::new(object))),
        });
        list_from_json_arms.push(quote! {
            (#api_version, #list_kind) => crate::api::json::parse::<#list_ty>(raw)
                .map(ObjectList::#variant),
        });
        to_json_arms.push(quote! {
            Object::#variant(object) => crate::api::json::with_type_meta(#api_version, #kind, object.as_ref()),
        });
        list_to_json_arms.push(quote! {
            ObjectList::#variant(list) => crate::api::json::with_type_meta(#api_version, #list_kind, list),
        });
        object_resource_arms.push(quote!(Object::#variant(_) => &RESOURCES[#index],));
        list_resource_arms.push(quote!(ObjectList::#variant(_) => &RESOURCES[#index],));
        metadata_arms.push(quote!(Object::#variant(object) => object.metadata.as_ref(),));
        list_meta_arms.push(quote!(ObjectList::#variant(list) => list.metadata.as_ref(),));
        list_items_arms.push(quote! {
            ObjectList::#variant(list) => list
                .items
                .into_iter()
                .map(|item| Object::#variant(::std::boxed::Box::new(item)))
                .collect(),
        });
        encode_arms.push(
            quote!(Object::#variant(object) => ::prost::Message::encode_to_vec(object.as_ref()),),
        );
        kind_impls.push(quote! {
            impl crate::api::Kind for #object_ty {
                const TYPE: &'static ResourceType = &RESOURCES[#index];

                fn downcast(object: &Object) -> ::std::option::Option<&Self> {
                    match object {
                        Object::#variant(typed) => Some(typed),
                        #[allow(unreachable_patterns)]
                        _ => None,
                    }
                }

                fn metadata(&self) -> &ObjectMeta {
                    self.metadata.as_ref().unwrap_or(&crate::api::EMPTY_META)
                }
            }
        });
        from_metadata_arms.push(quote! {
            #index => Object::#variant(::std::boxed::Box::new(#object_ty {
                metadata: Some(metadata),
                ..::std::default::Default::default()
            })),
        });
    }

    Ok(quote! {
        /// Every kind the exporter can list and watch, in `proto/resources.toml` order.
        pub static RESOURCES: &[ResourceType] = &[#(#entries),*];

        /// One decoded object of any served kind.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Object {
            #(#variants),*
        }

        /// One decoded list of any served kind.
        #[derive(Clone, Debug, PartialEq)]
        pub enum ObjectList {
            #(#list_variants),*
        }

        impl Object {
            /// Decodes the protobuf bytes of an object whose type the envelope named.
            /// `Ok(None)`: the type is not one we serve.
            pub fn decode_proto(
                api_version: &str,
                kind: &str,
                raw: ::bytes::Bytes,
            ) -> ::std::option::Option<::std::result::Result<Object, ::prost::DecodeError>> {
                Some(match (api_version, kind) {
                    #(#object_arms)*
                    _ => return None,
                })
            }

            /// Decodes the apiserver's JSON of an object whose type the body named.
            /// `None`: the type is not one we serve.
            pub fn from_json(
                api_version: &str,
                kind: &str,
                raw: &[u8],
            ) -> ::std::option::Option<::std::result::Result<Object, crate::api::json::FieldError>> {
                Some(match (api_version, kind) {
                    #(#from_json_arms)*
                    _ => return None,
                })
            }

            /// The object as Kubernetes JSON, `kind` and `apiVersion` first.
            pub fn to_json_value(&self) -> ::std::result::Result<::serde_json::Value, ::serde_json::Error> {
                match self { #(#to_json_arms)* }
            }

            pub fn resource(&self) -> &'static ResourceType {
                match self { #(#object_resource_arms)* }
            }

            pub fn metadata(&self) -> ::std::option::Option<&ObjectMeta> {
                match self { #(#metadata_arms)* }
            }

            /// An object of the given kind carrying only metadata: what a
            /// metadata-only (PartialObjectMetadata) list or watch delivers.
            pub fn from_metadata(resource: &'static ResourceType, metadata: ObjectMeta) -> Object {
                let index = RESOURCES
                    .iter()
                    .position(|candidate| ::std::ptr::eq(candidate, resource) || candidate == resource)
                    .expect("ResourceType values only come from RESOURCES");
                match index {
                    #(#from_metadata_arms)*
                    _ => unreachable!("index comes from RESOURCES"),
                }
            }

            /// The object's protobuf encoding (without envelope).
            pub fn encode_proto(&self) -> ::std::vec::Vec<u8> {
                match self { #(#encode_arms)* }
            }
        }

        #(#kind_impls)*

        impl ObjectList {
            /// Decodes the protobuf bytes of a list whose type the envelope named.
            pub fn decode_proto(
                api_version: &str,
                kind: &str,
                raw: ::bytes::Bytes,
            ) -> ::std::option::Option<::std::result::Result<ObjectList, ::prost::DecodeError>> {
                Some(match (api_version, kind) {
                    #(#list_arms)*
                    _ => return None,
                })
            }

            /// Decodes the apiserver's JSON of a list whose type the body named.
            pub fn from_json(
                api_version: &str,
                kind: &str,
                raw: &[u8],
            ) -> ::std::option::Option<::std::result::Result<ObjectList, crate::api::json::FieldError>> {
                Some(match (api_version, kind) {
                    #(#list_from_json_arms)*
                    _ => return None,
                })
            }

            /// The list as Kubernetes JSON, `kind` and `apiVersion` first.
            pub fn to_json_value(&self) -> ::std::result::Result<::serde_json::Value, ::serde_json::Error> {
                match self { #(#list_to_json_arms)* }
            }

            pub fn resource(&self) -> &'static ResourceType {
                match self { #(#list_resource_arms)* }
            }

            pub fn list_meta(&self) -> ::std::option::Option<&ListMeta> {
                match self { #(#list_meta_arms)* }
            }

            pub fn into_items(self) -> ::std::vec::Vec<Object> {
                match self { #(#list_items_arms)* }
            }
        }
    })
}
