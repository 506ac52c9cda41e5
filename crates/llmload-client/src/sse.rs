//! Server-sent events, parsed incrementally from the received `Bytes`.
//!
//! The parser follows the SSE spec (LF, CRLF or lone CR line ends; `:`
//! comments; `data`, `event`, `id`, `retry` fields; an event is dispatched at
//! a blank line) and is written for the hot path: a data line that arrives
//! whole inside one read is handed out as a slice of that read's buffer, with
//! no copy. Only a line split across reads is assembled in a small buffer.
//! Each event carries the arrival time of the read that completed its data,
//! so chunk timing is exact however the stream is cut.

use bytes::{Bytes, BytesMut};
use llmload_clock::Timestamp;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseEvent {
    /// The event's data (data lines joined with `\n`).
    pub data: Bytes,
    /// When the read that completed the data arrived.
    pub at: Timestamp,
}

impl SseEvent {
    /// Whether this is OpenAI's end-of-stream marker, `data: [DONE]`.
    pub fn is_done(&self) -> bool {
        self.data.as_ref() == b"[DONE]"
    }
}

/// Incremental SSE parser. Feed reads with [`SseParser::push`].
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet terminated.
    partial: BytesMut,
    /// The previous read ended with `\r`: a leading `\n` belongs to that line end.
    after_cr: bool,
    /// Data of the event being assembled.
    data: Option<Data>,
    /// Lines seen (blank ones included), as GuideLLM 0.4 counts iterations.
    lines: u64,
}

#[derive(Debug)]
enum Data {
    One(Bytes, Timestamp),
    Many(BytesMut, Timestamp),
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

    /// Parse one read that arrived at `at`, calling `on_event` for every
    /// event it completes.
    pub fn push(&mut self, mut chunk: Bytes, at: Timestamp, mut on_event: impl FnMut(SseEvent)) {
        if self.after_cr {
            self.after_cr = false;
            if chunk.first() == Some(&b'\n') {
                let _ = chunk.split_to(1);
            }
        }
        while !chunk.is_empty() {
            let Some(end) = memchr::memchr2(b'\n', b'\r', &chunk) else {
                self.partial.extend_from_slice(&chunk);
                return;
            };
            let cr = chunk[end] == b'\r';
            let line = chunk.split_to(end);
            let _ = chunk.split_to(1);
            if cr {
                if chunk.is_empty() {
                    self.after_cr = true;
                } else if chunk[0] == b'\n' {
                    let _ = chunk.split_to(1);
                }
            }
            if self.partial.is_empty() {
                self.line(line, at, &mut on_event);
            } else {
                self.partial.extend_from_slice(&line);
                let whole = self.partial.split().freeze();
                self.line(whole, at, &mut on_event);
            }
        }
    }

    /// End of stream: an unterminated last line is processed, and a pending
    /// event is dispatched (the spec would drop it; a server that closes right
    /// after its last data line still sent that data).
    pub fn finish(&mut self, at: Timestamp, mut on_event: impl FnMut(SseEvent)) {
        if !self.partial.is_empty() {
            let line = self.partial.split().freeze();
            self.line(line, at, &mut on_event);
        }
        self.dispatch(&mut on_event);
    }

    fn line(&mut self, line: Bytes, at: Timestamp, on_event: &mut impl FnMut(SseEvent)) {
        self.lines += 1;
        if line.is_empty() {
            self.dispatch(on_event);
            return;
        }
        if line[0] == b':' {
            return; // comment
        }
        let (field, value) = match memchr::memchr(b':', &line) {
            Some(i) => {
                let mut value = line.slice(i + 1..);
                if value.first() == Some(&b' ') {
                    value = value.slice(1..);
                }
                (line.slice(..i), value)
            }
            None => (line.clone(), Bytes::new()),
        };
        if field.as_ref() != b"data" {
            return; // event, id, retry: not used by OpenAI-compatible servers
        }
        self.data = Some(match self.data.take() {
            None => Data::One(value, at),
            Some(Data::One(first, _)) => {
                let mut buf = BytesMut::with_capacity(first.len() + 1 + value.len());
                buf.extend_from_slice(&first);
                buf.extend_from_slice(b"\n");
                buf.extend_from_slice(&value);
                Data::Many(buf, at)
            }
            Some(Data::Many(mut buf, _)) => {
                buf.extend_from_slice(b"\n");
                buf.extend_from_slice(&value);
                Data::Many(buf, at)
            }
        });
    }

    fn dispatch(&mut self, on_event: &mut impl FnMut(SseEvent)) {
        match self.data.take() {
            Some(Data::One(data, at)) => on_event(SseEvent { data, at }),
            Some(Data::Many(buf, at)) => on_event(SseEvent {
                data: buf.freeze(),
                at,
            }),
            None => {}
        }
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
            p.push(Bytes::copy_from_slice(part), ts(i as u64), |e| {
                out.push(String::from_utf8(e.data.to_vec()).unwrap())
            });
        }
        p.finish(ts(99), |e| {
            out.push(String::from_utf8(e.data.to_vec()).unwrap())
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
        let read = Bytes::from_static(b"data: hello\n\n");
        let mut p = SseParser::new();
        let mut got = None;
        p.push(read.clone(), ts(1), |e| got = Some(e));
        let e = got.unwrap();
        assert_eq!(e.data, "hello");
        // The event's data points into the read's own buffer.
        let base = read.as_ptr() as usize;
        assert!((base..base + read.len()).contains(&(e.data.as_ptr() as usize)));
        assert_eq!(e.at, ts(1));
    }

    #[test]
    fn event_time_is_when_its_data_completed() {
        let mut p = SseParser::new();
        let mut got = Vec::new();
        p.push(Bytes::from_static(b"data: he"), ts(1), |e| got.push(e));
        p.push(Bytes::from_static(b"llo\n"), ts(2), |e| got.push(e));
        p.push(Bytes::from_static(b"\n"), ts(3), |e| got.push(e));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, "hello");
        assert_eq!(got[0].at, ts(2));
    }
}
