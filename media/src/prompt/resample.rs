//! The sink every decoder feeds: mono samples at the source rate in, 8 kHz G.711 bytes out.
//!
//! Rate conversion is rubato's synchronous FFT resampler: the spectrum is truncated with a Blackman-Harris windowed
//! anti-aliasing filter, so energy above the 4 kHz Nyquist frequency of the output is removed rather than folded
//! back into the telephone band. It runs streaming (fixed input chunks), so a long file costs memory for its 8 kHz
//! output only, and the resampler's start-up delay is trimmed so output sample 0 lines up with input sample 0.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

use crate::g711::{self, Law};

use super::error::PromptErrorKind;

/// The prompt sample rate: G.711 narrowband.
pub const OUTPUT_RATE: u32 = 8000;

/// FFT size on the 8 kHz side. Larger blocks give a sharper anti-aliasing filter (its cutoff approaches 4 kHz);
/// 512 keeps the passband flat well past 3.4 kHz, the top of the telephone band.
const FFT_OUT: usize = 512;

/// Converts a stream of mono `f32` samples (full scale ±1.0) at `rate` into 8 kHz G.711.
pub(crate) struct Narrowband {
    rate: u32,
    law: Law,
    fft: Option<FftState>,
    out: Vec<u8>,
    /// Scratch for one encoded chunk, in linear PCM.
    pcm: Vec<i16>,
    max_samples: usize,
}

struct FftState {
    fft: Fft<f32>,
    pending: Vec<f32>,
    chunk_out: Vec<f32>,
    to_trim: usize,
    total_in: u64,
}

impl Narrowband {
    /// A converter from `rate` Hz; output longer than `max_samples` fails with [`PromptErrorKind::TooLong`].
    pub(crate) fn new(
        rate: u32,
        law: Law,
        max_samples: usize,
    ) -> Result<Narrowband, PromptErrorKind> {
        let fft = if rate == OUTPUT_RATE {
            None
        } else {
            let resample_err = |e: &dyn std::fmt::Display| PromptErrorKind::Resample {
                rate,
                reason: e.to_string(),
            };
            // Aim for FFT_OUT output frames per block: that many × rate / 8000 input frames.
            let sub = (FFT_OUT as u64 * u64::from(rate)).div_ceil(u64::from(OUTPUT_RATE)) as usize;
            let fft = Fft::<f32>::new_custom(
                rate as usize,
                OUTPUT_RATE as usize,
                sub,
                1,
                1,
                WindowFunction::BlackmanHarris2,
                FixedSync::Input,
            )
            .map_err(|e| resample_err(&e))?;
            let to_trim = fft.output_delay();
            let chunk_out = vec![0.0; fft.output_frames_max()];
            Some(FftState {
                pending: Vec::with_capacity(fft.input_frames_max() * 2),
                fft,
                chunk_out,
                to_trim,
                total_in: 0,
            })
        };
        Ok(Narrowband {
            rate,
            law,
            fft,
            out: Vec::new(),
            pcm: Vec::new(),
            max_samples,
        })
    }

    /// Feeds mono samples at the source rate.
    pub(crate) fn push(&mut self, samples: &[f32]) -> Result<(), PromptErrorKind> {
        let Some(st) = self.fft.as_mut() else {
            return emit(
                &mut self.out,
                &mut self.pcm,
                self.law,
                self.max_samples,
                samples,
            );
        };
        st.total_in += samples.len() as u64;
        st.pending.extend_from_slice(samples);
        run_chunks(
            st,
            self.rate,
            &mut self.out,
            &mut self.pcm,
            self.law,
            self.max_samples,
        )
    }

    /// Flushes the resampler and returns the G.711 bytes: `round(input samples × 8000 / rate)` of them.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>, PromptErrorKind> {
        if let Some(st) = self.fft.as_mut() {
            let expected = (st.total_in * u64::from(OUTPUT_RATE) + u64::from(self.rate) / 2)
                / u64::from(self.rate);
            // Push silence through until the delayed tail of the real input has come out.
            let mut guard = 0;
            while (self.out.len() as u64) < expected && guard < 64 {
                let need = st
                    .fft
                    .input_frames_next()
                    .saturating_sub(st.pending.len())
                    .max(1);
                st.pending.resize(st.pending.len() + need, 0.0);
                run_chunks(
                    st,
                    self.rate,
                    &mut self.out,
                    &mut self.pcm,
                    self.law,
                    self.max_samples,
                )?;
                guard += 1;
            }
            self.out.truncate(expected as usize);
        }
        Ok(self.out)
    }
}

fn run_chunks(
    st: &mut FftState,
    rate: u32,
    out: &mut Vec<u8>,
    pcm: &mut Vec<i16>,
    law: Law,
    max: usize,
) -> Result<(), PromptErrorKind> {
    let err = |e: &dyn std::fmt::Display| PromptErrorKind::Resample {
        rate,
        reason: e.to_string(),
    };
    let mut start = 0;
    loop {
        let n = st.fft.input_frames_next();
        if st.pending.len() - start < n {
            break;
        }
        let cap = st.chunk_out.len();
        let input =
            InterleavedSlice::new(&st.pending[start..start + n], 1, n).map_err(|e| err(&e))?;
        let mut output =
            InterleavedSlice::new_mut(&mut st.chunk_out[..], 1, cap).map_err(|e| err(&e))?;
        let (read, written) = st
            .fft
            .process_into_buffer(&input, &mut output, None)
            .map_err(|e| err(&e))?;
        start += read;
        let produced = &st.chunk_out[..written.min(cap)];
        let skip = st.to_trim.min(produced.len());
        st.to_trim -= skip;
        emit(out, pcm, law, max, &produced[skip..])?;
        if read == 0 {
            break;
        }
    }
    st.pending.drain(..start);
    Ok(())
}

/// Quantises to 16-bit linear and encodes to G.711, appending to `out`.
fn emit(
    out: &mut Vec<u8>,
    pcm: &mut Vec<i16>,
    law: Law,
    max: usize,
    samples: &[f32],
) -> Result<(), PromptErrorKind> {
    if out.len() + samples.len() > max {
        return Err(PromptErrorKind::TooLong {
            limit_seconds: (max / OUTPUT_RATE as usize) as u64,
        });
    }
    pcm.clear();
    pcm.extend(samples.iter().map(|&s| to_i16(s)));
    let start = out.len();
    out.resize(start + pcm.len(), 0);
    // Both slices have pcm.len() elements, so the length check cannot fail.
    g711::encode(law, pcm, &mut out[start..]).expect("equal lengths");
    Ok(())
}

/// Full-scale float to 16-bit linear, rounding and saturating (resampling can overshoot ±1.0 slightly).
pub(crate) fn to_i16(s: f32) -> i16 {
    let v = (s * 32768.0).round();
    if v.is_nan() {
        0
    } else {
        v.clamp(-32768.0, 32767.0) as i16
    }
}
