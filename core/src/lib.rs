//! Kilowatch's data model: samples and series, inventory and device profiles, and config
//! loading with validation that names every problem by file, line and key.

pub mod address;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod event;
pub mod i18n;
pub mod model;
pub mod profile;
pub mod reporting;
pub mod secret;
pub mod timefmt;
