//! Differential check against RFC 3550 Appendix A.1 `update_seq`, transcribed literally.

use super::source::RTP_SEQ_MOD;
use super::*;
use crate::rtp::id::RtpTime;
use crate::rtp::packet::write_packet;

const MAX_DROPOUT: u16 = 3000;
const MAX_MISORDER: u32 = 100;
const MIN_SEQUENTIAL: u16 = 2;

#[derive(Default)]
struct Src {
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u16,
    received: u32,
}
impl Src {
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
    }
    fn new(seq: u16) -> Src {
        let mut s = Src::default();
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s.probation = MIN_SEQUENTIAL;
        s
    }
    fn update_seq(&mut self, seq: u16) -> bool {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return true;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return false;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += RTP_SEQ_MOD;
            }
            self.max_seq = seq;
        } else if u32::from(udelta) <= RTP_SEQ_MOD - MAX_MISORDER {
            if u32::from(seq) == self.bad_seq {
                self.init_seq(seq);
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return false;
            }
        }
        self.received += 1;
        true
    }
}

#[test]
fn matches_appendix_a1() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for run in 0..300 {
        let start = rnd() as u16;
        let mut r = Receiver::new(ReceiverConfig::default());
        let mut reference = Src::new(start);
        let mut seq = start;
        let t0 = Instant::now();
        let mut buf = [0u8; 32];
        for i in 0..400u32 {
            let k = rnd() % 100;
            let s = match k {
                0..=79 => {
                    seq = seq.wrapping_add(1);
                    seq
                }
                80..=84 => seq, // duplicate of the newest
                85..=89 => seq.wrapping_sub((rnd() % 120) as u16), // late
                90..=93 => {
                    seq = seq.wrapping_add((rnd() % 200) as u16);
                    seq
                }
                94..=96 => {
                    seq = seq.wrapping_add((rnd() % 60000) as u16); // large jump
                    seq
                }
                _ => rnd() as u16, // stray
            };
            let n = write_packet(
                &mut buf,
                false,
                PayloadType::PCMU,
                s,
                RtpTime(i * 160),
                Ssrc(1),
                &[0; 4],
            )
            .unwrap();
            let ours = r
                .handle(t0 + Duration::from_millis(u64::from(i) * 20), &buf[..n])
                .unwrap();
            let theirs = reference.update_seq(s);
            let ours_ok = match ours {
                Verdict::Accept(_) => true,
                Verdict::Discard(Discard::Duplicate) => true, // A.1 passes duplicates on, counted
                Verdict::Discard(_) => false,
            };
            assert_eq!(ours_ok, theirs, "run {run} packet {i} seq {s}: {ours:?}");
            if reference.probation == 0 {
                let st = r.stats();
                let ext = reference.cycles + u32::from(reference.max_seq);
                assert_eq!(
                    st.received,
                    u64::from(reference.received),
                    "run {run} packet {i}"
                );
                assert_eq!(
                    st.expected,
                    u64::from(ext - reference.base_seq + 1),
                    "run {run} packet {i}"
                );
            }
        }
    }
}
