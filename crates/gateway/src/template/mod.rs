//! Reading CloudFormation/SAM templates: YAML with short-form tags in [`yaml`], intrinsic functions
//! in [`intrinsics`]. The API-specific reading (functions, routes) lives in `config`.

pub mod intrinsics;
pub mod yaml;
