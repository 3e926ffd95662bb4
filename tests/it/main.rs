//! Kilowatch's integration tests, in one binary: each module was its own test crate, and each
//! crate linked every dependency again (23 binaries of 140–180 MB filled a CI disk). Run one
//! area with a filter: `cargo nextest run --features peers influx::`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

mod alerts;
mod annual;
mod capacity;
mod check_config;
mod clock;
mod consolidation;
mod dashboards;
mod dashboards_vm;
mod data_dir;
mod demo_cli;
mod deploy;
mod detect;
mod discover;
mod e2e_sim;
mod e2e_week;
mod estate;
mod faults;
mod fixtures;
mod help_lang;
mod hostile;
mod house;
mod import;
mod influx;
mod ipmi;
mod isolation;
mod meter_corpus;
mod notify;
mod peers;
mod profile_keys;
mod redfish;
mod report_csv;
mod report_documents;
mod report_html;
mod report_nodata;
mod report_pdf;
mod secrets;
mod sim_cli;
mod snmpv3;
mod traps;
mod tui_tmux;
mod victoria;
