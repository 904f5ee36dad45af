//! Providers: the only code that starts or stops members. For now one, [`local_process`].

pub mod local_process;
