pub mod check_config;
pub mod collect;
pub mod demo;
pub mod probe;
pub mod pue;
pub mod sim;
