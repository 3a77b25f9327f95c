//! The embedded store's write-ahead journal: its record format and its reader.
//!
//! A record is `body length (u32) | CRC-32 of the body (u32) | body`, and a body is
//! `batch number (u64) | op count (u32) | ops`, every integer little endian. Each op starts with
//! a tag byte; byte strings are a `u32` length and the bytes. The format is private to this
//! store: only the process that wrote a journal, or its successor after a crash, reads it.

use roundtable_protocol::{GroupId, MeetingId, Seq, UnixMs};

use crate::store::{LogEntry, Snapshot};

/// Bytes before a record's body: its length and its CRC.
const RECORD_HEADER_BYTES: usize = 8;

const TAG_CREATE_GROUP: u8 = 1;
const TAG_APPEND: u8 = 2;
const TAG_TRIM: u8 = 3;
const TAG_END_MEETING: u8 = 4;
const TAG_TRIM_ENDED: u8 = 5;
const TAG_DELETE_GROUP: u8 = 6;
const TAG_GROUP_ACTIVITY: u8 = 7;

/// One mutation of the embedded store. The writer applies it, and the journal records
/// it so that a restart can apply it again to the same state with the same result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store::embedded) enum Op {
    CreateGroup {
        group_id: GroupId,
        snapshot: Snapshot,
    },
    Append {
        group_id: GroupId,
        meeting_id: MeetingId,
        entries: Vec<LogEntry>,
        snapshot: Option<Snapshot>,
    },
    Trim {
        meeting_id: MeetingId,
        through_seq: Seq,
    },
    EndMeeting {
        meeting_id: MeetingId,
        ended_at_ms: UnixMs,
    },
    /// The retention pass: trims the logs of up to `meetings_max` meetings ended at or before
    /// `ended_through_ms`.
    TrimEnded {
        ended_through_ms: UnixMs,
        meetings_max: u64,
    },
    /// Removes the group: its snapshot, every meeting's log, head and end record, and the
    /// index of its meetings.
    DeleteGroup { group_id: GroupId },
    /// Records the group's activity at `at_ms` (see `Store::record_group_activity`).
    GroupActivity {
        group_id: GroupId,
        at_ms: UnixMs,
        joined: bool,
    },
}

/// One record read back from a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store::embedded) struct Record {
    pub batch: u64,
    pub ops: Vec<Op>,
}

/// What [`read_records`] found: the complete, intact records from the start of the journal,
/// and, if it stopped before the end, where and why.
#[derive(Debug)]
pub(in crate::store::embedded) struct ReadRecords {
    pub records: Vec<Record>,
    /// The offset right after the last intact record.
    pub intact_bytes: usize,
    /// Why reading stopped before the end of the journal, if it did.
    pub damage: Option<String>,
}

/// The journal record for batch `batch` holding `ops`.
pub(in crate::store::embedded) fn encode_record<'a>(
    batch: u64,
    ops: impl ExactSizeIterator<Item = &'a Op>,
) -> Vec<u8> {
    let mut out = vec![0; RECORD_HEADER_BYTES];
    out.extend_from_slice(&batch.to_le_bytes());
    put_u32(&mut out, ops.len());
    for op in ops {
        encode_op(&mut out, op);
    }
    let body_len = u32::try_from(out.len() - RECORD_HEADER_BYTES)
        .expect("a group's record is far below 4 GiB");
    let crc = crc32fast::hash(&out[RECORD_HEADER_BYTES..]);
    out[0..4].copy_from_slice(&body_len.to_le_bytes());
    out[4..8].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Reads records from the start of `journal` until its end or the first record that is cut
/// short or damaged (its CRC does not match, or its body does not decode).
pub(in crate::store::embedded) fn read_records(journal: &[u8]) -> ReadRecords {
    let mut records = Vec::new();
    let mut offset = 0;
    let damage = loop {
        let rest = &journal[offset..];
        if rest.is_empty() {
            break None;
        }
        if rest.len() < RECORD_HEADER_BYTES {
            break Some(format!(
                "a record header cut short at byte {offset} ({} of {RECORD_HEADER_BYTES} bytes)",
                rest.len()
            ));
        }
        let body_len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let Some(body) = rest.get(RECORD_HEADER_BYTES..RECORD_HEADER_BYTES + body_len) else {
            break Some(format!(
                "a record cut short at byte {offset} ({} of {body_len} body bytes)",
                rest.len() - RECORD_HEADER_BYTES
            ));
        };
        if crc32fast::hash(body) != crc {
            break Some(format!("a record with a wrong CRC at byte {offset}"));
        }
        match decode_body(body) {
            Some(record) => records.push(record),
            None => break Some(format!("a record that does not decode at byte {offset}")),
        }
        offset += RECORD_HEADER_BYTES + body_len;
    };
    ReadRecords {
        records,
        intact_bytes: offset,
        damage,
    }
}

fn put_u32(out: &mut Vec<u8>, value: usize) {
    let value = u32::try_from(value).expect("journal lengths fit in u32");
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn put_snapshot(out: &mut Vec<u8>, snapshot: &Snapshot) {
    out.extend_from_slice(&snapshot.meeting_id.as_u128().to_le_bytes());
    out.extend_from_slice(&snapshot.seq.to_le_bytes());
    put_bytes(out, &snapshot.bytes);
}

fn encode_op(out: &mut Vec<u8>, op: &Op) {
    match op {
        Op::CreateGroup { group_id, snapshot } => {
            out.push(TAG_CREATE_GROUP);
            out.extend_from_slice(&group_id.as_u128().to_le_bytes());
            put_snapshot(out, snapshot);
        }
        Op::Append {
            group_id,
            meeting_id,
            entries,
            snapshot,
        } => {
            out.push(TAG_APPEND);
            out.extend_from_slice(&group_id.as_u128().to_le_bytes());
            out.extend_from_slice(&meeting_id.as_u128().to_le_bytes());
            put_u32(out, entries.len());
            for entry in entries {
                out.extend_from_slice(&entry.seq.to_le_bytes());
                put_bytes(out, &entry.bytes);
            }
            match snapshot {
                Some(snapshot) => {
                    out.push(1);
                    put_snapshot(out, snapshot);
                }
                None => out.push(0),
            }
        }
        Op::Trim {
            meeting_id,
            through_seq,
        } => {
            out.push(TAG_TRIM);
            out.extend_from_slice(&meeting_id.as_u128().to_le_bytes());
            out.extend_from_slice(&through_seq.to_le_bytes());
        }
        Op::EndMeeting {
            meeting_id,
            ended_at_ms,
        } => {
            out.push(TAG_END_MEETING);
            out.extend_from_slice(&meeting_id.as_u128().to_le_bytes());
            out.extend_from_slice(&ended_at_ms.to_le_bytes());
        }
        Op::TrimEnded {
            ended_through_ms,
            meetings_max,
        } => {
            out.push(TAG_TRIM_ENDED);
            out.extend_from_slice(&ended_through_ms.to_le_bytes());
            out.extend_from_slice(&meetings_max.to_le_bytes());
        }
        Op::DeleteGroup { group_id } => {
            out.push(TAG_DELETE_GROUP);
            out.extend_from_slice(&group_id.as_u128().to_le_bytes());
        }
        Op::GroupActivity {
            group_id,
            at_ms,
            joined,
        } => {
            out.push(TAG_GROUP_ACTIVITY);
            out.extend_from_slice(&group_id.as_u128().to_le_bytes());
            out.extend_from_slice(&at_ms.to_le_bytes());
            out.push(u8::from(*joined));
        }
    }
}

/// Reads a body; `None` if it is cut short, has bytes left over or an unknown tag.
fn decode_body(body: &[u8]) -> Option<Record> {
    let mut input = Input(body);
    let batch = input.u64()?;
    let count = input.u32()?;
    let mut ops = Vec::new();
    for _ in 0..count {
        ops.push(input.op()?);
    }
    input.0.is_empty().then_some(Record { batch, ops })
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[byte]| byte)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    fn u128(&mut self) -> Option<u128> {
        self.take().map(u128::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = self.u32()? as usize;
        if self.0.len() < len {
            return None;
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Some(head.to_vec())
    }

    fn meeting(&mut self) -> Option<MeetingId> {
        Some(MeetingId(uuid::Uuid::from_u128(self.u128()?)))
    }

    fn group(&mut self) -> Option<GroupId> {
        Some(GroupId(uuid::Uuid::from_u128(self.u128()?)))
    }

    fn snapshot(&mut self) -> Option<Snapshot> {
        Some(Snapshot {
            meeting_id: self.meeting()?,
            seq: self.u64()?,
            bytes: self.bytes()?,
        })
    }

    fn op(&mut self) -> Option<Op> {
        Some(match self.u8()? {
            TAG_CREATE_GROUP => Op::CreateGroup {
                group_id: self.group()?,
                snapshot: self.snapshot()?,
            },
            TAG_APPEND => {
                let group_id = self.group()?;
                let meeting_id = self.meeting()?;
                let count = self.u32()?;
                let mut entries = Vec::new();
                for _ in 0..count {
                    entries.push(LogEntry {
                        seq: self.u64()?,
                        bytes: self.bytes()?,
                    });
                }
                let snapshot = match self.u8()? {
                    0 => None,
                    1 => Some(self.snapshot()?),
                    _ => return None,
                };
                Op::Append {
                    group_id,
                    meeting_id,
                    entries,
                    snapshot,
                }
            }
            TAG_TRIM => Op::Trim {
                meeting_id: self.meeting()?,
                through_seq: self.u64()?,
            },
            TAG_END_MEETING => Op::EndMeeting {
                meeting_id: self.meeting()?,
                ended_at_ms: self.u64()?,
            },
            TAG_TRIM_ENDED => Op::TrimEnded {
                ended_through_ms: self.u64()?,
                meetings_max: self.u64()?,
            },
            TAG_DELETE_GROUP => Op::DeleteGroup {
                group_id: self.group()?,
            },
            TAG_GROUP_ACTIVITY => Op::GroupActivity {
                group_id: self.group()?,
                at_ms: self.u64()?,
                joined: match self.u8()? {
                    0 => false,
                    1 => true,
                    _ => return None,
                },
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind_of_op() -> Vec<Op> {
        let meeting_id = MeetingId::random();
        vec![
            Op::CreateGroup {
                group_id: GroupId::random(),
                snapshot: Snapshot {
                    meeting_id,
                    seq: 0,
                    bytes: b"first".to_vec(),
                },
            },
            Op::Append {
                group_id: GroupId::random(),
                meeting_id,
                entries: vec![
                    LogEntry {
                        seq: 1,
                        bytes: b"one".to_vec(),
                    },
                    LogEntry {
                        seq: 2,
                        bytes: Vec::new(),
                    },
                ],
                snapshot: Some(Snapshot {
                    meeting_id,
                    seq: 2,
                    bytes: b"at two".to_vec(),
                }),
            },
            Op::Append {
                group_id: GroupId::random(),
                meeting_id,
                entries: Vec::new(),
                snapshot: None,
            },
            Op::Trim {
                meeting_id,
                through_seq: 7,
            },
            Op::EndMeeting {
                meeting_id,
                ended_at_ms: 1_700_000_000_000,
            },
            Op::TrimEnded {
                ended_through_ms: 42,
                meetings_max: 100,
            },
            Op::DeleteGroup {
                group_id: GroupId::random(),
            },
            Op::GroupActivity {
                group_id: GroupId::random(),
                at_ms: 1_700_000_000_000,
                joined: true,
            },
        ]
    }

    #[test]
    fn records_read_back_as_written() {
        let ops = every_kind_of_op();
        let mut journal = encode_record(7, ops.iter());
        journal.extend(encode_record(8, ops[..1].iter()));
        let read = read_records(&journal);
        assert_eq!(read.damage, None);
        assert_eq!(read.intact_bytes, journal.len());
        assert_eq!(
            read.records,
            vec![
                Record {
                    batch: 7,
                    ops: ops.clone()
                },
                Record {
                    batch: 8,
                    ops: vec![ops[0].clone()]
                },
            ]
        );
    }

    #[test]
    fn every_cut_of_the_last_record_keeps_the_ones_before() {
        let first = encode_record(1, every_kind_of_op().iter());
        let second = encode_record(2, every_kind_of_op().iter());
        let mut journal = first.clone();
        journal.extend(&second);
        for cut in first.len()..journal.len() {
            let read = read_records(&journal[..cut]);
            assert_eq!(read.records.len(), 1, "cut at {cut}");
            assert_eq!(read.intact_bytes, first.len());
            assert_eq!(read.damage.is_some(), cut > first.len(), "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_in_a_record_is_detected() {
        let record = encode_record(3, every_kind_of_op().iter());
        for index in 0..record.len() {
            let mut damaged = record.clone();
            damaged[index] ^= 0x10;
            let read = read_records(&damaged);
            assert!(read.records.is_empty(), "flip at {index} went unnoticed");
            assert!(read.damage.is_some());
            assert_eq!(read.intact_bytes, 0);
        }
    }
}
