//! Program contexts: what r1 points to for each program type, the memory a program may
//! touch through it, and the context-access rewrite for XDP.
//!
//! - kprobe/kretprobe: Linux riscv64 `struct pt_regs` (288 bytes, read-only), so stock
//!   `bpf_tracing.h` `PT_REGS_*` macros work;
//! - tracepoint: the raw record (read-only); raw_tracepoint: `u64 args[]` (read-only);
//! - syscall: caller memory (read-write), r2 = its length;
//! - xdp: `struct xdp_md`. Its `data`/`data_end`/`data_meta` are 32-bit fields that the
//!   kernel rewrites into 64-bit pointer loads after verification (`convert_ctx_accesses`);
//!   [`convert_ctx_accesses`] does the same on rvbpf's own layout, [`XdpBuff`], for the
//!   loads the verifier found;
//! - socket filter: a `struct __sk_buff` (192 bytes; only `cb[]` writable), packet bytes
//!   through `bpf_skb_load_bytes`, as Linux allows socket filters no direct access.


use arrayvec::ArrayVec;

use crate::isa::{Insn, Program, Size};
use crate::mem::{Area, Region};
use crate::prog::{CtxField, ProgType, PT_REGS_SIZE};

/// Linux riscv64 `struct pt_regs` (`arch/riscv/include/asm/ptrace.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PtRegs {
    pub epc: u64,
    pub ra: u64,
    pub sp: u64,
    pub gp: u64,
    pub tp: u64,
    pub t0: u64,
    pub t1: u64,
    pub t2: u64,
    pub s0: u64,
    pub s1: u64,
    pub a: [u64; 8],
    pub s2_11: [u64; 10],
    pub t3: u64,
    pub t4: u64,
    pub t5: u64,
    pub t6: u64,
    pub status: u64,
    pub badaddr: u64,
    pub cause: u64,
    pub orig_a0: u64,
}

/// Field names of [`PtRegs`] in order (each 8 bytes): the program-type table's.
pub use crate::prog::PT_REGS_FIELDS;

impl PtRegs {
    pub const SIZE: usize = PT_REGS_SIZE as usize;

    /// The registers as 36 words in `PT_REGS_FIELDS` order.
    pub fn words(&self) -> [u64; 36] {
        let mut w = [0u64; 36];
        // SAFETY: PtRegs is repr(C) of 36 u64 fields, exactly [u64; 36].
        unsafe { core::ptr::copy_nonoverlapping(self as *const PtRegs as *const u64, w.as_mut_ptr(), 36) };
        w
    }

    pub fn from_words(w: [u64; 36]) -> PtRegs {
        // SAFETY: as in `words`.
        unsafe { core::mem::transmute::<[u64; 36], PtRegs>(w) }
    }

    /// From 288 little-endian bytes (shorter input is zero-extended).
    pub fn from_bytes(b: &[u8]) -> PtRegs {
        let mut w = [0u64; 36];
        for (i, c) in b.chunks(8).take(36).enumerate() {
            let mut x = [0u8; 8];
            x[..c.len()].copy_from_slice(c);
            w[i] = u64::from_le_bytes(x);
        }
        PtRegs::from_words(w)
    }

    /// Sets a register by name (`a0`, `epc`, `orig_a0`, also `pc` for `epc`).
    pub fn set(&mut self, name: &str, v: u64) -> bool {
        let name = if name == "pc" { "epc" } else { name };
        let Some(i) = PT_REGS_FIELDS.iter().position(|f| *f == name) else { return false };
        let mut w = self.words();
        w[i] = v;
        *self = PtRegs::from_words(w);
        true
    }
}

const _: () = assert!(core::mem::size_of::<PtRegs>() == PtRegs::SIZE);

/// rvbpf's kernel-side XDP context: what `struct xdp_md` accesses are rewritten to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct XdpBuff {
    pub data: u64,
    pub data_end: u64,
    pub data_meta: u64,
    pub ingress_ifindex: u32,
    pub rx_queue_index: u32,
    pub egress_ifindex: u32,
    _pad: u32,
}

/// A `struct xdp_md` field (of the program-type table) → (offset in [`XdpBuff`], load
/// size).
fn xdp_field(field: &CtxField) -> Option<(i16, Size)> {
    Some(match field.name {
        "data" => (0, Size::DW),
        "data_end" => (8, Size::DW),
        "data_meta" => (16, Size::DW),
        "ingress_ifindex" => (24, Size::W),
        "rx_queue_index" => (28, Size::W),
        "egress_ifindex" => (32, Size::W),
        _ => return None,
    })
}

/// Offsets in `struct __sk_buff`, from the program-type table's fields.
pub mod skb {
    use crate::prog::sk_buff;
    pub const SIZE: usize = crate::prog::SK_BUFF_SIZE as usize;
    pub const LEN: usize = sk_buff::LEN.off as usize;
    pub const PKT_TYPE: usize = sk_buff::PKT_TYPE.off as usize;
    pub const PROTOCOL: usize = sk_buff::PROTOCOL.off as usize;
    pub const INGRESS_IFINDEX: usize = sk_buff::INGRESS_IFINDEX.off as usize;
    pub const IFINDEX: usize = sk_buff::IFINDEX.off as usize;
    pub const CB: usize = sk_buff::CB.off as usize;
    pub const CB_END: usize = CB + sk_buff::CB.size as usize;
}

const ETH_HLEN: usize = 14;
/// `skb->pkt_type` values (`linux/if_packet.h`).
pub const PACKET_HOST: u32 = 0;
pub const PACKET_BROADCAST: u32 = 1;
pub const PACKET_MULTICAST: u32 = 2;
pub const PACKET_OTHERHOST: u32 = 3;
/// The smallest EtherType; below it the field is an 802.3 length.
const ETH_P_802_3_MIN: u16 = 0x600;
/// `skb->protocol` of 802.3 frames: raw (Novell IPX) and over LLC.
pub const ETH_P_802_3: u16 = 0x0001;
pub const ETH_P_802_2: u16 = 0x0004;

/// A program's context for one run.
pub enum Context<'a> {
    /// kprobe/kretprobe.
    Kprobe(&'a PtRegs),
    /// tracepoint: the raw record.
    Tracepoint(&'a [u8]),
    /// raw_tracepoint: the arguments.
    RawTracepoint(&'a [u64]),
    /// syscall (and any raw-memory program): r1 = memory, r2 = length.
    Raw(&'a mut [u8]),
    /// xdp: the packet (modifiable in place) and receive queue facts.
    Xdp { packet: &'a mut [u8], ingress_ifindex: u32, rx_queue_index: u32 },
    /// socket filter: the packet from the network header on (as Linux presents it after
    /// `eth_type_trans`), and the `__sk_buff` fields.
    Skb { packet: &'a [u8], protocol_be: u16, pkt_type: u32, ifindex: u32, cb: [u32; 5] },
}

impl<'a> Context<'a> {
    /// A socket filter's context for an Ethernet frame, as Linux's test run builds it on
    /// the loopback device (ifindex 1, address and broadcast address all zeros): the
    /// Ethernet header pulled, and `pkt_type` and `protocol` as `eth_type_trans` sets
    /// them. `pkt_type` is PACKET_HOST for the device's address, else PACKET_MULTICAST
    /// (PACKET_BROADCAST for the broadcast address) when the group bit is set, else
    /// PACKET_OTHERHOST. `protocol` is the EtherType; a smaller value is an 802.3 length,
    /// and then it is ETH_P_802_3 over raw IPX (the payload starts `ff ff`) and
    /// ETH_P_802_2 otherwise.
    pub fn skb_from_ethernet(frame: &'a [u8]) -> Context<'a> {
        const DEV_ADDR: [u8; 6] = [0; 6];
        const DEV_BROADCAST: [u8; 6] = [0; 6];
        let (header, packet) = frame.split_at(ETH_HLEN.min(frame.len()));
        let (dst, ethertype) = match header {
            [d @ .., t0, t1] if header.len() == ETH_HLEN => (&d[..6], u16::from_be_bytes([*t0, *t1])),
            _ => (&DEV_ADDR[..], 0),
        };
        let pkt_type = match dst {
            d if d == DEV_ADDR => PACKET_HOST,
            d if d[0] & 1 != 0 && d == DEV_BROADCAST => PACKET_BROADCAST,
            d if d[0] & 1 != 0 => PACKET_MULTICAST,
            _ => PACKET_OTHERHOST,
        };
        let protocol = match ethertype {
            t if t >= ETH_P_802_3_MIN => t,
            _ if packet.starts_with(&[0xff, 0xff]) => ETH_P_802_3,
            _ => ETH_P_802_2,
        };
        Context::Skb { packet, protocol_be: protocol.to_be(), pkt_type, ifindex: 1, cb: [0; 5] }
    }

    /// The program type this context is for.
    pub fn fits(&self, t: ProgType) -> bool {
        matches!(
            (self, t),
            (Context::Kprobe(_), ProgType::Kprobe | ProgType::PerfEvent)
                | (Context::Tracepoint(_), ProgType::Tracepoint)
                | (Context::RawTracepoint(_), ProgType::RawTracepoint)
                | (Context::Raw(_), ProgType::Syscall)
                | (Context::Xdp { .. }, ProgType::Xdp)
                | (Context::Skb { .. }, ProgType::SocketFilter)
        )
    }

    /// What kind of context this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Context::Kprobe(_) => "kprobe",
            Context::Tracepoint(_) => "tracepoint",
            Context::RawTracepoint(_) => "raw_tracepoint",
            Context::Raw(_) => "raw memory",
            Context::Xdp { .. } => "xdp",
            Context::Skb { .. } => "__sk_buff",
        }
    }
}

/// Words of the kernel-side struct a context may need (`struct xdp_buff`, `struct
/// sk_buff`: the larger).
pub const CTX_WORDS: usize = if skb::SIZE > core::mem::size_of::<XdpBuff>() { skb::SIZE / 8 } else { core::mem::size_of::<XdpBuff>() / 8 };

/// Where the kernel-side struct of a context is built: kept by the runtime per CPU, so
/// a run allocates nothing for it.
pub type CtxStorage = [u64; CTX_WORDS];

/// A context laid out in memory: r1, r2, the regions the program may touch, and the
/// packet for `bpf_skb_load_bytes`. The kernel-side structs it points into are in the
/// caller's [`CtxStorage`].
pub struct ContextMemory {
    pub r1: u64,
    pub r2: u64,
    /// At most three (the sk_buff's read-only, writable and read-only parts), held inline.
    pub regions: ArrayVec<Region, 3>,
    pub packet: Option<(u64, usize)>,
}

impl ContextMemory {
    /// Lays out `ctx`, its kernel-side struct in `storage`. The result borrows nothing,
    /// but holds raw addresses into `ctx`'s buffers and `storage`: it must not outlive
    /// them (the runtime keeps all three in one scope).
    pub fn new(ctx: &mut Context, storage: &mut CtxStorage) -> ContextMemory {
        match ctx {
            Context::Kprobe(regs) => {
                let r = *regs as *const PtRegs as u64;
                ContextMemory { r1: r, r2: 0, regions: one(Region { start: r, len: PtRegs::SIZE as u64, writable: false, area: Area::Ctx }), packet: None }
            }
            Context::Tracepoint(rec) => {
                let r = Region::of(rec).named(Area::Ctx);
                ContextMemory { r1: r.start, r2: 0, regions: one(r), packet: None }
            }
            Context::RawTracepoint(args) => {
                let r = Region { start: args.as_ptr() as u64, len: (args.len() * 8) as u64, writable: false, area: Area::Ctx };
                ContextMemory { r1: r.start, r2: 0, regions: one(r), packet: None }
            }
            Context::Raw(mem) => {
                let len = mem.len() as u64;
                if mem.is_empty() {
                    return ContextMemory { r1: 0, r2: 0, regions: ArrayVec::new(), packet: None };
                }
                let r = Region::of_mut(mem).named(Area::Ctx);
                ContextMemory { r1: r.start, r2: len, regions: one(r), packet: None }
            }
            Context::Xdp { packet, ingress_ifindex, rx_queue_index } => {
                let data = packet.as_mut_ptr() as u64;
                let end = data + packet.len() as u64;
                let buff = XdpBuff { data, data_end: end, data_meta: data, ingress_ifindex: *ingress_ifindex, rx_queue_index: *rx_queue_index, egress_ifindex: 0, _pad: 0 };
                // SAFETY: storage is 8-aligned and at least XdpBuff's size.
                unsafe { (storage.as_mut_ptr() as *mut XdpBuff).write(buff) };
                let ctx = storage.as_ptr() as u64;
                ContextMemory {
                    r1: ctx,
                    r2: 0,
                    regions: [Region { start: ctx, len: 40, writable: false, area: Area::Ctx }, Region::of_mut(packet).named(Area::Packet)].into_iter().collect(),
                    packet: None,
                }
            }
            Context::Skb { packet, protocol_be, pkt_type, ifindex, cb } => {
                let mut b = [0u8; skb::SIZE];
                let put = |b: &mut [u8; skb::SIZE], off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
                put(&mut b, skb::LEN, packet.len() as u32);
                put(&mut b, skb::PKT_TYPE, *pkt_type);
                put(&mut b, skb::PROTOCOL, *protocol_be as u32);
                put(&mut b, skb::INGRESS_IFINDEX, 0);
                put(&mut b, skb::IFINDEX, *ifindex);
                for (i, v) in cb.iter().enumerate() {
                    put(&mut b, skb::CB + 4 * i, *v);
                }
                // SAFETY: storage holds at least skb::SIZE bytes.
                unsafe { core::ptr::copy_nonoverlapping(b.as_ptr(), storage.as_mut_ptr() as *mut u8, skb::SIZE) };
                let ctx = storage.as_ptr() as u64;
                ContextMemory {
                    r1: ctx,
                    r2: 0,
                    regions: ArrayVec::from([
                        Region { start: ctx, len: skb::CB as u64, writable: false, area: Area::Ctx },
                        Region { start: ctx + skb::CB as u64, len: (skb::CB_END - skb::CB) as u64, writable: true, area: Area::Ctx },
                        Region { start: ctx + skb::CB_END as u64, len: (skb::SIZE - skb::CB_END) as u64, writable: false, area: Area::Ctx },
                    ]),
                    packet: Some((packet.as_ptr() as u64, packet.len())),
                }
            }
        }
    }
}

/// The regions of a context with one.
fn one(r: Region) -> ArrayVec<Region, 3> {
    core::iter::once(r).collect()
}

/// The context-rewrite stage (the kernel's `convert_ctx_accesses`): each context load
/// the verifier found reads rvbpf's kernel-side layout instead of the struct the program
/// was compiled against. Only XDP's context has such fields today.
pub fn convert_ctx_accesses(prog: Program, prog_type: ProgType, loads: &[(usize, &'static CtxField)]) -> Program {
    if prog_type != ProgType::Xdp || loads.is_empty() {
        return prog;
    }
    let converted = prog.rewrite(|pc, insn| {
        let Ok(k) = loads.binary_search_by_key(&pc, |&(s, _)| s) else { return Ok(None) };
        let Insn::Ldx { dst, src, .. } = *insn else { return Err(pc) };
        let (off, size) = xdp_field(loads[k].1).ok_or(pc)?;
        Ok(Some(Insn::Ldx { size, signed: false, dst, src, off }))
    });
    // The verifier found these loads and checked their fields against the descriptor.
    converted.unwrap_or_else(|pc| unreachable!("slot {pc} is not a load of an xdp_md field"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn every_xdp_md_field_of_the_table_has_its_place_in_the_runtimes_layout() {
        let fields = ProgType::Xdp.ctx().fields;
        let places: Vec<(i16, Size)> = fields.iter().map(|f| xdp_field(f).unwrap_or_else(|| panic!("{} has no place", f.name))).collect();
        let want = [
            (offset_of!(XdpBuff, data), Size::DW),
            (offset_of!(XdpBuff, data_end), Size::DW),
            (offset_of!(XdpBuff, data_meta), Size::DW),
            (offset_of!(XdpBuff, ingress_ifindex), Size::W),
            (offset_of!(XdpBuff, rx_queue_index), Size::W),
            (offset_of!(XdpBuff, egress_ifindex), Size::W),
        ];
        assert_eq!(places, want.map(|(o, s)| (o as i16, s)));
        // The __sk_buff fields the runtime writes are the table's.
        assert_eq!((skb::LEN, skb::PROTOCOL, skb::CB, skb::CB_END), (0, 16, 48, 68));
    }
}
