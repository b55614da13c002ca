//! 8 threads fire one kprobe hook 100,000 times each while a consumer drains the ring
//! buffer: no update of the hash, per-CPU or ring-buffer map may be lost or torn.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rvbpf::loader;
use rvbpf::runtime::{Context, PtRegs, RunConfig, Runtime, StaticKernel, Task};

const THREADS: u64 = 8;
const FIRES: u64 = 100_000;

#[test]
fn eight_threads_lose_nothing() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bpf/kprobe_stress.bpf.c");
    let obj = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kprobe_stress.o");
    let ok = Command::new("clang-19")
        .args(["-O2", "-g", "-target", "bpf", "-mcpu=v3", "-D__TARGET_ARCH_riscv", "-I/usr/riscv64-linux-gnu/include", "-c"])
        .arg(&src)
        .arg("-o")
        .arg(&obj)
        .status()
        .expect("clang-19 is installed by scripts/setup.sh");
    assert!(ok.success());
    let obj = loader::load(&std::fs::read(&obj).unwrap(), "stress").unwrap();
    // Fewer CPUs than threads: runs queue for a CPU, as on a loaded machine.
    let rt = Arc::new(Runtime::new(Arc::new(StaticKernel::new(Task::default())), 4));
    let loaded = rt.load_object(&obj).unwrap();
    rt.hooks.register("kprobe/stress", rvbpf::prog::ProgType::Kprobe).unwrap();
    rt.hooks.attach("kprobe/stress", loaded.program("stress").unwrap().clone()).unwrap();
    let rb = loaded.map("records").unwrap().clone();
    let done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (rb, done) = (rb.clone(), done.clone());
        std::thread::spawn(move || {
            let mut seen = vec![0u64; THREADS as usize];
            let mut last = vec![u32::MAX; THREADS as usize];
            loop {
                let finished = done.load(Ordering::Acquire);
                rb.ringbuf().unwrap().consume(|r| {
                    let v = u64::from_ne_bytes(r.try_into().expect("8-byte record"));
                    let (t, seq) = ((v >> 32) as usize, v as u32);
                    // Records of one thread arrive in the order it fired them.
                    assert!(last[t] == u32::MAX || seq > last[t], "thread {t}: record {seq} after {}", last[t]);
                    last[t] = seq;
                    seen[t] += 1;
                });
                if finished {
                    break;
                }
                std::thread::yield_now();
            }
            seen
        })
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let rt = rt.clone();
            std::thread::spawn(move || {
                let mut regs = PtRegs::default();
                regs.set("a0", t);
                for seq in 0..FIRES {
                    regs.set("a1", seq);
                    let r = rt.fire("kprobe/stress", &mut Context::Kprobe(&regs), &RunConfig::default()).unwrap();
                    assert_eq!(r[0].as_ref().unwrap().r0, 0, "ringbuf_output failed");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    done.store(true, Ordering::Release);
    let seen = consumer.join().unwrap();
    assert_eq!(seen, vec![FIRES; THREADS as usize], "ring-buffer records per thread");
    let hash = loaded.map("per_caller").unwrap();
    let mut v = [0u8; 8];
    for t in 0..THREADS as u32 {
        hash.lookup(&t.to_ne_bytes(), &mut v).unwrap();
        assert_eq!(u64::from_ne_bytes(v), FIRES, "hash counter of thread {t}");
    }
    hash.lookup(&0xffffu32.to_ne_bytes(), &mut v).unwrap();
    assert_eq!(u64::from_ne_bytes(v), THREADS * FIRES, "shared hash counter");
    let pc = loaded.map("per_cpu").unwrap();
    let mut all = vec![0u8; pc.syscall_value_size()];
    pc.lookup(&0u32.to_ne_bytes(), &mut all).unwrap();
    let sum: u64 = all.chunks(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap())).sum();
    assert_eq!(sum, THREADS * FIRES, "per-CPU counters summed over CPUs");
}
