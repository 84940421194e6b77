//! vxgate: a software VoiceXML gateway.
//!
//! The binary wires the sans-IO cores of [`vxgate_media`] and [`vxgate_vxml`] to the network. This library holds
//! the command-line front end so that integration tests and benchmarks can reach the same code the binary runs.
#![warn(missing_docs)]

pub mod call;
pub mod cli;
pub mod config;
pub mod dialpeer;
pub mod service;
pub mod sip;
