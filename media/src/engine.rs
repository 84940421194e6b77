//! The media I/O driver: UDP sockets from a port range and one pacing scheduler per core.
