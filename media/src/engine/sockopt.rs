//! Socket options that neither `nix` nor `socket2` wraps.

use std::io;
use std::os::fd::AsRawFd;

/// Sends every datagram of `fd` with the IPv4 don't-fragment bit and ignores the path MTU (`IP_PMTUDISC_PROBE`).
///
/// An RTP or RTCP datagram of a G.711 call is a few hundred bytes, far below any path MTU, so it is never
/// fragmented either way. The bit spares the kernel the identification field's shared generator: a datagram
/// that may be fragmented must carry an IP ID unique per source, destination and protocol (RFC 6864 §4.1), which
/// Linux draws from a hashed table with an atomic update per packet (`__ip_select_ident`), one cache line that
/// every core's packets to the same peer contend for; an atomic (DF-marked) datagram's ID need not be unique
/// (RFC 6864 §4.1) and is left 0. With `PROBE` rather than `DO`, a smaller path MTU learnt from ICMP does not
/// turn sends into `EMSGSIZE` errors. IPv6 sockets are left alone (IPv6 routers never fragment).
pub(crate) fn atomic_datagrams(fd: &impl AsRawFd) -> io::Result<()> {
    let value: libc::c_int = libc::IP_PMTUDISC_PROBE;
    // SAFETY: `value` is a live `c_int` for the duration of the call and its size is passed; the kernel only
    // reads it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            std::ptr::from_ref(&value).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn ipv4_datagrams_leave_with_the_dont_fragment_bit_policy_set() {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        atomic_datagrams(&s).unwrap();
        let mut value: libc::c_int = -1;
        let mut len = size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `value` and `len` are live and sized for the option.
        let r = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_MTU_DISCOVER,
                std::ptr::from_mut(&mut value).cast(),
                &mut len,
            )
        };
        assert_eq!(r, 0);
        assert_eq!(value, libc::IP_PMTUDISC_PROBE);
    }
}
