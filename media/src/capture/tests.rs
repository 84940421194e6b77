//! Capture on a virtual clock.

use super::*;

const PT: Duration = Duration::from_millis(20);

/// µ-law packets of 20 ms: `speech` ones carry a 400 Hz tone at -10 dBFS, the others silence.
fn packet(speech: bool, index: usize) -> Vec<u8> {
    (0..160)
        .map(|i| {
            let n = (index * 160 + i) as f64;
            let v = if speech {
                (10362.0 * (2.0 * std::f64::consts::PI * 400.0 * n / 8000.0).sin()) as i16
            } else {
                0
            };
            g711::linear_to_ulaw(v)
        })
        .collect()
}

struct Call {
    t0: Instant,
    cap: Capture,
    n: usize,
}

impl Call {
    fn new(cfg: CaptureConfig) -> Call {
        let t0 = Instant::now();
        Call {
            t0,
            cap: Capture::new(t0, cfg),
            n: 0,
        }
    }
    fn now(&self) -> Instant {
        self.t0 + PT * self.n as u32
    }
    /// Sends `count` packets; returns the stop reason if one came.
    fn send(&mut self, count: usize, speech: bool) -> Option<StopReason> {
        for _ in 0..count {
            let now = self.now();
            let seq = (1000 + self.n) as u16;
            let ts = (self.n * 160) as u32;
            let p = packet(speech, self.n);
            self.n += 1;
            if let Some(r) = self.cap.handle_packet(now, seq, ts, &p) {
                return Some(r);
            }
        }
        None
    }
}

fn cfg() -> CaptureConfig {
    let mut c = CaptureConfig::new(Law::Ulaw);
    c.max_duration = Duration::from_secs(10);
    c.final_silence = Duration::from_millis(1000);
    c.no_input_timeout = Some(Duration::from_secs(3));
    c
}

#[test]
fn stops_on_final_silence_after_speech() {
    let mut call = Call::new(cfg());
    assert_eq!(call.send(50, false), None);
    assert_eq!(call.send(100, true), None);
    assert_eq!(call.send(200, false), Some(StopReason::FinalSilence));
    let rec = call.cap.finish();
    assert!(rec.heard_speech);
    assert_eq!(rec.reason, StopReason::FinalSilence);
    // 1 s + 2 s of speech + 1 s of silence (+ up to one frame)
    let secs = rec.duration().as_secs_f64();
    assert!((4.0..4.05).contains(&secs), "{secs}");
}

#[test]
fn stops_at_max_duration_exactly() {
    let mut c = cfg();
    c.max_duration = Duration::from_millis(2010);
    let mut call = Call::new(c);
    assert_eq!(call.send(200, true), Some(StopReason::MaxTime));
    let rec = call.cap.finish();
    assert_eq!(rec.samples.len(), 16_080);
    assert_eq!(rec.reason, StopReason::MaxTime);
}

#[test]
fn no_input_when_nobody_speaks() {
    let mut call = Call::new(cfg());
    assert_eq!(call.send(400, false), Some(StopReason::NoInput));
    assert!(!call.cap.finish().heard_speech);
}

#[test]
fn dtmf_ends_it_when_asked() {
    let mut call = Call::new(cfg());
    call.send(60, true);
    assert_eq!(
        call.cap.handle_dtmf(Digit::Pound),
        Some(StopReason::Dtmf(Digit::Pound))
    );
    let rec = call.cap.finish();
    assert_eq!(rec.reason, StopReason::Dtmf(Digit::Pound));
    assert_eq!(rec.samples.len(), 60 * 160, "jitter buffer flushed");

    let mut c = cfg();
    c.dtmf_term = false;
    let mut call = Call::new(c);
    call.send(10, true);
    assert_eq!(call.cap.handle_dtmf(Digit::D1), None);
    assert_eq!(call.cap.stopped(), None);
}

#[test]
fn packets_stop_arriving() {
    let mut call = Call::new(cfg());
    call.send(100, true);
    let last = call.now();
    let t = call.cap.next_timeout().unwrap();
    assert_eq!(t, last - PT + Duration::from_millis(1000));
    assert_eq!(call.cap.poll_timeout(t - Duration::from_millis(1)), None);
    assert_eq!(call.cap.poll_timeout(t), Some(StopReason::FinalSilence));
    assert_eq!(call.cap.next_timeout(), None);
}

/// Speech, 600 ms of silence packets, then no packets (DTX): the final silence (1 s) counts the silence already
/// heard, so the recording ends about 400 ms after the last packet, not a full second after it.
#[test]
fn silence_heard_before_packets_stop_counts() {
    let mut call = Call::new(cfg());
    call.send(50, true);
    call.send(30, false);
    let last = call.now() - PT;
    let t = call.cap.next_timeout().unwrap();
    // the jitter buffer still holds up to 4 packets (80 ms) not yet judged
    assert!(
        t >= last + Duration::from_millis(400) && t <= last + Duration::from_millis(480),
        "{:?} after the last packet",
        t - last
    );
    assert_eq!(call.cap.poll_timeout(t), Some(StopReason::FinalSilence));
}

#[test]
fn reordering_loss_and_duplicates() {
    let t0 = Instant::now();
    let mut cap = Capture::new(t0, cfg());
    // 1 reordered and duplicated; 4 arrives after 5 newer packets, beyond the 4-packet buffer: too late.
    let order = [0usize, 2, 1, 1, 3, 5, 6, 7, 8, 9, 4];
    for (k, &i) in order.iter().enumerate() {
        let p = packet(true, i);
        cap.handle_packet(t0 + PT * k as u32, 500 + i as u16, (i * 160) as u32, &p);
    }
    let rec = cap.finish();
    assert_eq!(rec.samples.len(), 10 * 160);
    assert_eq!(rec.duplicates, 1);
    assert_eq!(rec.late, 1);
    // The lost packet's 20 ms are silence; the others decode to the tone.
    assert!(rec.samples[4 * 160..5 * 160].iter().all(|&s| s == 0));
    let expect: Vec<i16> = packet(true, 7)
        .iter()
        .map(|&c| g711::ulaw_to_linear(c))
        .collect();
    assert_eq!(&rec.samples[7 * 160..8 * 160], &expect[..]);
}

#[test]
fn wav_bytes_read_back() {
    let mut call = Call::new(cfg());
    call.send(25, true);
    call.cap.stop();
    let rec = call.cap.finish();
    let wav = rec.to_wav().unwrap();
    let mut r = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 8000, 16)
    );
    let back: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    assert_eq!(back, rec.samples);
    assert_eq!(rec.reason, StopReason::Stopped);
}
