//! Real-time scheduling for the scheduler threads. A media thread that waits behind a compiler or a log shipper
//! for a time slice sends its packets late, whatever its own load; under `SCHED_FIFO` it runs as soon as its tick
//! comes. The kernel's real-time throttling (`sched_rt_runtime_us`, 95% by default) keeps an overloaded
//! scheduler from starving the rest of the machine.

/// Puts the calling thread under `SCHED_FIFO` at `priority` (1–99). Without the privilege (`CAP_SYS_NICE` or an
/// `RLIMIT_RTPRIO`) the thread stays as it was; the error says why.
#[cfg(target_os = "linux")]
pub(crate) fn set_realtime(priority: u8) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: i32::from(priority.clamp(1, 99)),
    };
    // SAFETY: `sched_setscheduler` reads the `sched_param` we pass by pointer during the call only; pid 0 is the
    // calling thread.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Real-time scheduling is not set on other systems.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_realtime(_priority: u8) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "real-time scheduling is set on Linux only",
    ))
}
