//! `vxgate dtmf detect` on SIPp's own captures, on captures we build (RFC 4733 through a bad network, in-band tones
//! in PCMU/PCMA, several link layers, pcap and pcapng), and on tones made by sox.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vxgate_media::dtmf::{Digit, Rfc4733Sender};
use vxgate_media::g711::{self, Law};

use crate::support::vxgate_bin;

/// A small deterministic generator (xorshift64*), so the tests need no random-number crate.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// Runs `vxgate dtmf detect` and returns (time, digit, source) per line.
fn detect(file: &Path, extra: &[&str]) -> Vec<(f64, char, String)> {
    let out = Command::new(vxgate_bin())
        .args(["dtmf", "detect"])
        .arg(file)
        .args(extra)
        .output()
        .expect("run vxgate");
    assert!(
        out.status.success(),
        "vxgate dtmf detect {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 3, "line {l:?}");
            let (secs, frac) = f[0].split_once('.').expect("seconds with decimals");
            assert_eq!(frac.len(), 3, "3 decimals in {l:?}");
            assert!(secs.chars().all(|c| c.is_ascii_digit()));
            let digit = f[1].chars().next().expect("a digit");
            (f[0].parse().expect("seconds"), digit, f[2].to_string())
        })
        .collect()
}

fn digits(found: &[(f64, char, String)]) -> String {
    found.iter().map(|f| f.1).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// SIPp's captures

#[test]
fn sipp_rfc2833_captures() {
    let dir = Path::new("/usr/share/sip-tester");
    let names = [
        ("0", '0'),
        ("1", '1'),
        ("2", '2'),
        ("3", '3'),
        ("4", '4'),
        ("5", '5'),
        ("6", '6'),
        ("7", '7'),
        ("8", '8'),
        ("9", '9'),
        ("pound", '#'),
        ("star", '*'),
    ];
    if !dir.join("dtmf_2833_1.pcap").exists() {
        eprintln!(
            "note: {} has no dtmf_2833_*.pcap (package sip-tester not installed): skipped",
            dir.display()
        );
        return;
    }
    for (name, digit) in names {
        let file = dir.join(format!("dtmf_2833_{name}.pcap"));
        let found = detect(&file, &[]);
        assert_eq!(found.len(), 1, "{}: {found:?}", file.display());
        assert_eq!(found[0].1, digit, "{}", file.display());
        assert_eq!(found[0].2, "rfc4733");
        assert_eq!(found[0].0, 0.0, "the first packet is the start packet");
        // Naming the payload type gives the same; naming another finds nothing.
        assert_eq!(
            digits(&detect(&file, &["--te-pt", "101"])),
            digit.to_string()
        );
        assert_eq!(digits(&detect(&file, &["--te-pt", "96"])), "");
    }
    // SIPp's G.711 A-law capture holds speech, not digits.
    let g711a = dir.join("g711a.pcap");
    if g711a.exists() {
        assert_eq!(detect(&g711a, &["--inband", "always"]), vec![]);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Captures we build

#[derive(Clone, Copy)]
enum Link {
    /// Ethernet + IPv4.
    EthernetV4,
    /// Linux cooked (SLL) + IPv6.
    SllV6,
    /// Raw IPv4.
    RawV4,
}

impl Link {
    fn linktype(self) -> u32 {
        match self {
            Link::EthernetV4 => 1,
            Link::SllV6 => 113,
            Link::RawV4 => 101,
        }
    }

    /// A frame carrying one UDP datagram 10.0.0.1:40000 → 10.0.0.2:20000 (or ::1 → ::2).
    fn frame(self, udp_payload: &[u8]) -> Vec<u8> {
        let udp_len = 8 + udp_payload.len();
        let mut udp = Vec::new();
        udp.extend_from_slice(&40000u16.to_be_bytes());
        udp.extend_from_slice(&20000u16.to_be_bytes());
        udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(udp_payload);
        let v4 = |udp: &[u8]| {
            let mut ip = vec![
                0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
            ];
            let total = (20 + udp.len()) as u16;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            let mut sum = 0u32;
            for c in ip.chunks(2) {
                sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
            ip.extend_from_slice(udp);
            ip
        };
        match self {
            Link::EthernetV4 => {
                let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
                f.extend(v4(&udp));
                f
            }
            Link::RawV4 => v4(&udp),
            Link::SllV6 => {
                let mut f = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xdd];
                let mut ip = vec![0x60, 0, 0, 0];
                ip.extend_from_slice(&(udp.len() as u16).to_be_bytes());
                ip.extend_from_slice(&[17, 64]);
                let mut a = [0u8; 16];
                a[15] = 1;
                ip.extend_from_slice(&a);
                a[15] = 2;
                ip.extend_from_slice(&a);
                f.extend(ip);
                f.extend(udp);
                f
            }
        }
    }
}

/// Writes a classic pcap (microseconds).
fn write_pcap(path: &Path, link: Link, packets: &[(Duration, Vec<u8>)]) {
    let mut b = Vec::new();
    b.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&65535u32.to_le_bytes());
    b.extend_from_slice(&link.linktype().to_le_bytes());
    for (t, udp_payload) in packets {
        let f = link.frame(udp_payload);
        let t = *t + Duration::from_secs(1_700_000_000);
        b.extend_from_slice(&(t.as_secs() as u32).to_le_bytes());
        b.extend_from_slice(&t.subsec_micros().to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&(f.len() as u32).to_le_bytes());
        b.extend_from_slice(&f);
    }
    std::fs::write(path, b).unwrap();
}

/// Writes a pcapng with one interface whose timestamps are in nanoseconds (`if_tsresol` = 9).
fn write_pcapng(path: &Path, link: Link, packets: &[(Duration, Vec<u8>)]) {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let len = (12 + body.len() + pad) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(0u8, pad));
        out.extend_from_slice(&len.to_le_bytes());
    }
    let mut b = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut b, 0x0a0d0d0a, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&(link.linktype() as u16).to_le_bytes());
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&0u32.to_le_bytes());
    idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0]); // if_tsresol = 9 (ns), padded
    idb.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
    block(&mut b, 1, &idb);
    for (t, udp_payload) in packets {
        let f = link.frame(udp_payload);
        let ns = (*t + Duration::from_secs(1_700_000_000)).as_nanos() as u64;
        let mut epb = Vec::new();
        epb.extend_from_slice(&0u32.to_le_bytes());
        epb.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ns as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(f.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f);
        epb.extend(std::iter::repeat_n(0u8, (4 - f.len() % 4) % 4));
        block(&mut b, 6, &epb);
    }
    std::fs::write(path, b).unwrap();
}

fn rtp(marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, (u8::from(marker) << 7) | pt];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// The telephone-event packets of `keys` (100 ms tones, 100 ms pauses, starting 1 s in) as (send time, RTP packet),
/// after loss, duplication and reordering that leave at least one packet of each event.
fn rfc4733_stream(keys: &str, pt: u8, seed: u64) -> (Vec<(Duration, Vec<u8>)>, Vec<f64>) {
    let mut rng = Rng::new(seed);
    let t0 = Instant::now();
    let start = t0 + Duration::from_secs(1);
    let ks: Vec<Digit> = keys.chars().map(|c| Digit::from_char(c).unwrap()).collect();
    let mut tx = Rfc4733Sender::new();
    tx.queue(
        start,
        &ks,
        Duration::from_millis(100),
        Duration::from_millis(100),
    );
    let mut sent = Vec::new();
    while let Some(at) = tx.next_timeout() {
        while let Some(p) = tx.poll(at) {
            sent.push(p);
        }
    }
    let base_ts = rng.next() as u32;
    let mut out = Vec::new();
    let mut starts = Vec::new();
    let mut seq = rng.next() as u16;
    for (i, p) in sent.iter().enumerate() {
        let ts = base_ts.wrapping_add(((p.event_start - t0).as_nanos() / 125_000) as u32);
        let bytes = rtp(p.marker, pt, seq, ts, 0x1234_5678, &p.payload);
        seq = seq.wrapping_add(1);
        let at = p.send_at - t0;
        if p.marker {
            // The start packet is lost for every other digit: those are found from an update or an end packet.
            starts.push(at.as_secs_f64());
            if i % 2 == 1 {
                continue;
            }
        }
        out.push((at + Duration::from_millis(rng.below(15)), bytes.clone()));
        if rng.chance(0.2) {
            out.push((at + Duration::from_millis(rng.below(30)), bytes));
        }
    }
    out.sort_by_key(|p| p.0);
    // A packet of something else opens the capture (times count from the first packet): SIP-like text.
    out.insert(
        0,
        (
            Duration::from_millis(500),
            b"INVITE sip:1000@10.0.0.2 SIP/2.0\r\n".to_vec(),
        ),
    );
    (out, starts)
}

#[test]
fn rfc4733_capture_through_a_bad_network_all_link_layers() {
    let dir = tempfile::tempdir().unwrap();
    let keys = "0123456789*#ABCD";
    for (k, link) in [Link::EthernetV4, Link::SllV6, Link::RawV4]
        .into_iter()
        .enumerate()
    {
        let (packets, starts) = rfc4733_stream(keys, 101, k as u64);
        for ng in [false, true] {
            let path = dir.path().join(format!("te-{k}-{ng}.cap"));
            if ng {
                write_pcapng(&path, link, &packets);
            } else {
                write_pcap(&path, link, &packets);
            }
            let found = detect(&path, &[]);
            assert_eq!(digits(&found), keys, "{}", path.display());
            for (f, s) in found.iter().zip(&starts) {
                assert_eq!(f.2, "rfc4733");
                // Reported at the first packet that arrived: within 100 ms of the start (+15 ms jitter) after the
                // first packet of the capture (0.5 s).
                let at = f.0 + 0.5;
                assert!(
                    at >= s - 0.001 && at <= s + 0.2,
                    "{} at {at} vs start {s}",
                    f.1
                );
            }
        }
    }
}

#[test]
fn telephone_event_payload_type_found_by_shape() {
    let dir = tempfile::tempdir().unwrap();
    let (packets, _) = rfc4733_stream("159", 110, 9);
    let path = dir.path().join("pt110.pcap");
    write_pcap(&path, Link::EthernetV4, &packets);
    assert_eq!(digits(&detect(&path, &[])), "159");
    assert_eq!(digits(&detect(&path, &["--te-pt", "110"])), "159");
    assert_eq!(digits(&detect(&path, &["--te-pt", "101"])), "");
}

/// 8 kHz PCM: `keys` as 80 ms tones each followed by 120 ms of quiet noise, after 300 ms of noise.
fn tone_audio(keys: &str) -> (Vec<i16>, Vec<f64>) {
    let mut rng = Rng::new(3);
    let mut x = Vec::new();
    let mut starts = Vec::new();
    let mut push_noise = |x: &mut Vec<i16>, n: usize| {
        for _ in 0..n {
            x.push(rng.below(300) as i16 - 150);
        }
    };
    push_noise(&mut x, 2400);
    for c in keys.chars() {
        let (fl, fh) = Digit::from_char(c).unwrap().frequencies();
        starts.push(x.len() as f64 / 8000.0);
        for i in 0..640 {
            let t = i as f64 / 8000.0;
            let v = 7000.0 * (2.0 * std::f64::consts::PI * fl * t).sin()
                + 7000.0 * (2.0 * std::f64::consts::PI * fh * t).sin();
            x.push(v as i16);
        }
        push_noise(&mut x, 960);
    }
    push_noise(&mut x, 800);
    (x, starts)
}

#[test]
fn inband_tones_in_pcmu_and_pcma_captures() {
    let dir = tempfile::tempdir().unwrap();
    let keys = "2580#*ABCD";
    let (pcm, starts) = tone_audio(keys);
    for law in [Law::Ulaw, Law::Alaw] {
        let mut coded = vec![0u8; pcm.len()];
        g711::encode(law, &pcm, &mut coded).unwrap();
        let mut packets = Vec::new();
        let first = Duration::from_millis(200);
        for (i, chunk) in coded.chunks(160).enumerate() {
            if i == 40 {
                continue; // lost: filled with silence, the timeline stays right
            }
            let at = first + Duration::from_millis(20 * i as u64);
            let p = rtp(
                i == 0,
                law.payload_type(),
                7000 + i as u16,
                90_000 + 160 * i as u32,
                42,
                chunk,
            );
            packets.push((at, p));
        }
        // A reordered pair and a duplicate.
        packets.swap(20, 21);
        let dup = packets[30].clone();
        packets.insert(31, dup);
        let path = dir.path().join(format!("{}.pcap", law.name()));
        write_pcap(&path, Link::EthernetV4, &packets);
        let found = detect(&path, &[]);
        assert_eq!(digits(&found), keys, "{law:?}");
        for (f, s) in found.iter().zip(&starts) {
            assert_eq!(f.2, "inband");
            assert!((f.0 - s).abs() <= 0.006, "{} at {} vs {s}", f.1, f.0);
        }
        assert_eq!(detect(&path, &["--inband", "never"]), vec![]);
    }
}

#[test]
fn bad_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, [0xd4, 0xc3, 0xb2, 0xa1, 1, 2, 3]).unwrap();
    let missing = dir.path().join("missing.wav");
    let text = dir.path().join("text.wav");
    std::fs::write(&text, "hello").unwrap();
    for f in [&junk, &missing, &text] {
        let out = Command::new(vxgate_bin())
            .args(["dtmf", "detect"])
            .arg(f)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{}", f.display());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&*f.display().to_string()), "{err}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Tones made by sox

fn sox_available() -> bool {
    Command::new("sox")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sox(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let out = Command::new("sox")
        .args(
            args.iter()
                .map(|a| a.replace("OUT", path.to_str().unwrap())),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sox {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn sox_key(dir: &Path, name: &str, key: char, secs: f64) -> PathBuf {
    let (fl, fh) = Digit::from_char(key).unwrap().frequencies();
    let (d, fl, fh) = (format!("{secs}"), format!("{fl}"), format!("{fh}"));
    // -c 1 with two sines: sox mixes them down into one channel.
    sox(
        dir,
        name,
        &[
            "-n", "-r", "8000", "-c", "1", "-b", "16", "OUT", "synth", &d, "sine", &fl, "sine",
            &fh, "vol", "0.7",
        ],
    )
}

#[test]
fn sox_tones_are_read_by_the_inband_detector() {
    if !sox_available() {
        eprintln!("note: sox not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keys = "147*2580369#ABCD";
    let mut parts = Vec::new();
    for (i, k) in keys.chars().enumerate() {
        let key = sox_key(d, &format!("k{i}.wav"), k, 0.1);
        assert_eq!(digits(&detect(&key, &[])), k.to_string(), "{k} alone");
        let padded = sox(
            d,
            &format!("p{i}.wav"),
            &[key.to_str().unwrap(), "OUT", "pad", "0", "0.1"],
        );
        parts.push(padded.to_str().unwrap().to_string());
    }
    // All keys in one file, 200 ms apart; also as µ-law and at 16 kHz.
    let mut args: Vec<&str> = parts.iter().map(String::as_str).collect();
    args.push("OUT");
    let seq = sox(d, "seq.wav", &args);
    let ulaw = sox(
        d,
        "seq-ulaw.wav",
        &[seq.to_str().unwrap(), "-e", "u-law", "OUT"],
    );
    let wide = sox(
        d,
        "seq-16k.wav",
        &[seq.to_str().unwrap(), "-r", "16000", "OUT"],
    );
    for f in [&seq, &ulaw, &wide] {
        let found = detect(f, &[]);
        assert_eq!(digits(&found), keys, "{}", f.display());
        for (i, x) in found.iter().enumerate() {
            assert_eq!(x.2, "inband");
            assert!((x.0 - 0.2 * i as f64).abs() <= 0.006, "{} at {}", x.1, x.0);
        }
    }
    // The brief's mixing form: sine mixed into a second synth.
    let mixed = sox(
        d,
        "mixed.wav",
        &[
            "-n", "-r", "8000", "-c", "1", "-b", "16", "OUT", "synth", "0.1", "sine", "697",
            "synth", "0.1", "sine", "mix", "1209",
        ],
    );
    assert_eq!(digits(&detect(&mixed, &[])), "1");
}

#[test]
fn sox_q24_duration_edges() {
    if !sox_available() {
        eprintln!("note: sox not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (secs, want) in [(0.03, ""), (0.04, "5"), (0.05, "5")] {
        let f = sox_key(dir.path(), &format!("t{secs}.wav"), '5', secs);
        let f = sox(
            dir.path(),
            &format!("pad{secs}.wav"),
            &[f.to_str().unwrap(), "OUT", "pad", "0.013", "0.1"],
        );
        assert_eq!(digits(&detect(&f, &[])), want, "{secs} s tone");
    }
}

#[test]
fn sox_noise_and_music_give_no_digits() {
    if !sox_available() {
        eprintln!("note: sox not installed: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = ["-n", "-r", "8000", "-c", "1", "-b", "16", "OUT"];
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("white.wav", vec!["synth", "10", "whitenoise", "vol", "0.8"]),
        ("pink.wav", vec!["synth", "10", "pinknoise", "vol", "0.8"]),
        // Chords of plucked strings (harmonic-rich), one with notes near 697 and 1209 Hz (F5 + D#6).
        (
            "chord1.wav",
            vec![
                "synth", "3", "pluck", "C4", "synth", "3", "pluck", "mix", "E4", "synth", "3",
                "pluck", "mix", "G4",
            ],
        ),
        (
            "chord2.wav",
            vec![
                "synth", "3", "pluck", "F5", "synth", "3", "pluck", "mix", "D#6",
            ],
        ),
        (
            "chord3.wav",
            vec![
                "synth", "3", "square", "F5", "synth", "3", "sawtooth", "mix", "D6",
            ],
        ),
        // Sweeps crossing the DTMF band both ways (a glide slower than about 300 Hz/s stays within Q.24's
        // tolerance of a key for over 40 ms: that is a DTMF tone, not music).
        (
            "sweep.wav",
            vec![
                "synth", "3", "sine", "300-3000", "synth", "3", "sine", "mix", "3000-300",
            ],
        ),
        (
            "sweep2.wav",
            vec![
                "synth",
                "0.5",
                "sine",
                "600:1000",
                "synth",
                "0.5",
                "sine",
                "mix",
                "1700:1100",
                "repeat",
                "5",
            ],
        ),
    ];
    for (name, tail) in cases {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(tail);
        let f = sox(d, name, &args);
        assert_eq!(detect(&f, &[]), vec![], "{name}");
    }
}
