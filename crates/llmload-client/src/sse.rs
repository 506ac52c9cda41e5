//! Server-sent events, parsed incrementally from the received reads.
//!
//! The parser follows the SSE spec (LF, CRLF or lone CR line ends; `:`
//! comments; `data`, `event`, `id`, `retry` fields; an event is dispatched at
//! a blank line) and is written for the hot path: an event whose data line
//! and blank line arrive inside one read is handed out as a slice of that
//! read, with no copy and no reference counting. Only what outlives a read
//! (a line split across reads, data waiting for its blank line) is copied
//! into the parser's own buffers. Each event carries the arrival time of the
//! read that completed its data, so chunk timing is exact however the stream
//! is cut.

use llmload_clock::Timestamp;

/// Incremental SSE parser. Feed reads with [`SseParser::push`].
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet terminated.
    partial: Vec<u8>,
    /// The previous read ended with `\r`: a leading `\n` belongs to that line end.
    after_cr: bool,
    /// Data of the event being assembled, when it outlived the read it came in.
    data: Vec<u8>,
    /// An event is being assembled in `data`.
    has_data: bool,
    /// When the read that completed the data in `data` arrived.
    data_at: Timestamp,
    /// Lines seen (blank ones included), as GuideLLM 0.4 counts iterations.
    lines: u64,
}

/// Where the data of the event being assembled lives during one read.
#[derive(Clone, Copy)]
enum Pending {
    None,
    /// `read[start..end]` of the current read.
    Here(usize, usize),
    /// The parser's `data` buffer.
    Owned,
}

impl SseParser {
    /// A parser with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Lines received so far, blank separator lines included.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Parse one read that arrived at `at`, calling `on_event(data, at)` for
    /// every event it completes.
    pub fn push(&mut self, read: &[u8], at: Timestamp, mut on_event: impl FnMut(&[u8], Timestamp)) {
        let mut pos = 0;
        if self.after_cr {
            self.after_cr = false;
            if read.first() == Some(&b'\n') {
                pos = 1;
            }
        }
        let mut pending = if self.has_data {
            Pending::Owned
        } else {
            Pending::None
        };
        while pos < read.len() {
            let Some(k) = memchr::memchr2(b'\n', b'\r', &read[pos..]) else {
                self.partial.extend_from_slice(&read[pos..]);
                break;
            };
            let end = pos + k;
            let mut next = end + 1;
            if read[end] == b'\r' {
                if next == read.len() {
                    self.after_cr = true;
                } else if read[next] == b'\n' {
                    next += 1;
                }
            }
            if self.partial.is_empty() {
                self.line(read, pos, end, true, at, &mut pending, &mut on_event);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&read[pos..end]);
                let n = line.len();
                self.line(&line, 0, n, false, at, &mut pending, &mut on_event);
                line.clear();
                self.partial = line;
            }
            pos = next;
        }
        if let Pending::Here(a, b) = pending {
            self.data.clear();
            self.data.extend_from_slice(&read[a..b]);
            self.has_data = true;
            self.data_at = at;
        }
    }

    /// End of stream: an unterminated last line is processed, and a pending
    /// event is dispatched (the spec would drop it; a server that closes right
    /// after its last data line still sent that data).
    pub fn finish(&mut self, at: Timestamp, mut on_event: impl FnMut(&[u8], Timestamp)) {
        let mut pending = if self.has_data {
            Pending::Owned
        } else {
            Pending::None
        };
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, 0, line.len(), false, at, &mut pending, &mut on_event);
        }
        self.dispatch(&[], at, &mut pending, &mut on_event);
    }

    /// One line, `buf[start..end]`; `in_read` when `buf` is the current read
    /// (so its data may be handed out without a copy before the read ends).
    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        buf: &[u8],
        start: usize,
        end: usize,
        in_read: bool,
        at: Timestamp,
        pending: &mut Pending,
        on_event: &mut impl FnMut(&[u8], Timestamp),
    ) {
        self.lines += 1;
        let line = &buf[start..end];
        if line.is_empty() {
            self.dispatch(buf, at, pending, on_event);
            return;
        }
        if line[0] == b':' {
            return; // comment
        }
        let (field, value_start) = match memchr::memchr(b':', line) {
            Some(i) => {
                let v = start + i + 1;
                (
                    &line[..i],
                    if buf.get(v) == Some(&b' ') && v < end {
                        v + 1
                    } else {
                        v
                    },
                )
            }
            None => (line, end),
        };
        if field != b"data" {
            return; // event, id, retry: not used by OpenAI-compatible servers
        }
        let value = &buf[value_start..end];
        match *pending {
            Pending::None if in_read => *pending = Pending::Here(value_start, end),
            Pending::None => {
                self.data.clear();
                self.data.extend_from_slice(value);
                *pending = Pending::Owned;
            }
            Pending::Here(a, b) => {
                // A second data line: both come from this read (a line
                // assembled across reads is always a read's first).
                debug_assert!(in_read);
                self.data.clear();
                self.data.extend_from_slice(&buf[a..b]);
                self.data.push(b'\n');
                self.data.extend_from_slice(value);
                *pending = Pending::Owned;
            }
            Pending::Owned => {
                self.data.push(b'\n');
                self.data.extend_from_slice(value);
            }
        }
        self.has_data = matches!(pending, Pending::Owned);
        self.data_at = at;
    }

    /// A blank line: hand out the event being assembled, if any. `read` is
    /// the current read when the data is still in it.
    fn dispatch(
        &mut self,
        read: &[u8],
        at: Timestamp,
        pending: &mut Pending,
        on_event: &mut impl FnMut(&[u8], Timestamp),
    ) {
        match std::mem::replace(pending, Pending::None) {
            Pending::None => {}
            Pending::Here(a, b) => on_event(&read[a..b], at),
            Pending::Owned => on_event(&self.data, self.data_at),
        }
        self.has_data = false;
        self.data.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(n: u64) -> Timestamp {
        Timestamp::from_nanos(n)
    }

    fn parse(parts: &[&[u8]]) -> (Vec<String>, u64) {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            p.push(part, ts(i as u64), |d, _| {
                out.push(String::from_utf8(d.to_vec()).unwrap())
            });
        }
        p.finish(ts(99), |d, _| {
            out.push(String::from_utf8(d.to_vec()).unwrap())
        });
        (out, p.lines())
    }

    #[test]
    fn line_endings_comments_and_fields() {
        let (ev, lines) = parse(&[
            b": keep-alive\r\ndata: a\r\n\r\nevent: x\rdata:b\r\rid: 7\ndata: c\ndata: d\n\n",
        ]);
        assert_eq!(ev, ["a", "b", "c\nd"]);
        assert_eq!(lines, 10);
    }

    #[test]
    fn crlf_split_between_reads_is_one_line_end() {
        let (ev, lines) = parse(&[b"data: a\r", b"\n\r", b"\ndata: [DONE]\r\n\r\n"]);
        assert_eq!(ev, ["a", "[DONE]"]);
        assert_eq!(lines, 4);
    }

    #[test]
    fn unterminated_last_event_is_dispatched_at_end() {
        let (ev, _) = parse(&[b"data: {\"x\":1}"]);
        assert_eq!(ev, ["{\"x\":1}"]);
    }

    #[test]
    fn whole_lines_are_not_copied() {
        let read: &[u8] = b"data: hello\n\n";
        let mut p = SseParser::new();
        let mut got = None;
        p.push(read, ts(1), |d, at| {
            got = Some((d.as_ptr() as usize, d.to_vec(), at))
        });
        let (ptr, data, at) = got.unwrap();
        assert_eq!(data, b"hello");
        // The event's data points into the read's own buffer.
        let base = read.as_ptr() as usize;
        assert!((base..base + read.len()).contains(&ptr));
        assert_eq!(at, ts(1));
    }

    #[test]
    fn event_time_is_when_its_data_completed() {
        let mut p = SseParser::new();
        let mut got = Vec::new();
        let mut on = |d: &[u8], at| got.push((d.to_vec(), at));
        p.push(b"data: he", ts(1), &mut on);
        p.push(b"llo\n", ts(2), &mut on);
        p.push(b"\n", ts(3), &mut on);
        assert_eq!(got, [(b"hello".to_vec(), ts(2))]);
    }
}
