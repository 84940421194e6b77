//! ISDN Q.850 cause values, carried in the `Reason` header of a BYE the gateway sends (RFC 3326).

use std::fmt;

/// A Q.850 cause value (ITU-T Q.850 §2.2.5, 1-127).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Q850Cause(pub u8);

impl Q850Cause {
    /// 16, normal call clearing.
    pub const NORMAL_CLEARING: Q850Cause = Q850Cause(16);
    /// 38, network out of order: what CVP's handoff disconnects with after a fetch failure.
    pub const NETWORK_OUT_OF_ORDER: Q850Cause = Q850Cause(38);
    /// 41, temporary failure.
    pub const TEMPORARY_FAILURE: Q850Cause = Q850Cause(41);
    /// 47, resource unavailable, unspecified.
    pub const RESOURCE_UNAVAILABLE: Q850Cause = Q850Cause(47);

    /// The short text of well-known causes.
    pub fn text(self) -> &'static str {
        match self.0 {
            1 => "Unallocated number",
            16 => "Normal call clearing",
            17 => "User busy",
            31 => "Normal, unspecified",
            34 => "No circuit/channel available",
            38 => "Network out of order",
            41 => "Temporary failure",
            47 => "Resource unavailable, unspecified",
            _ => "Unspecified",
        }
    }

    /// The `Reason` header value (RFC 3326 §2): `Q.850;cause=38;text="Network out of order"`.
    pub fn reason_header_value(self) -> String {
        format!("Q.850;cause={};text=\"{}\"", self.0, self.text())
    }
}

impl fmt::Display for Q850Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Q.850 cause {} ({})", self.0, self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_header_per_rfc3326() {
        assert_eq!(
            Q850Cause::NETWORK_OUT_OF_ORDER.reason_header_value(),
            "Q.850;cause=38;text=\"Network out of order\""
        );
        assert_eq!(
            Q850Cause(99).reason_header_value(),
            "Q.850;cause=99;text=\"Unspecified\""
        );
    }
}
