//! DAG store benchmark on a synthetic chain-like workload: a HAMT-like state tree
//! (fanout 32, ~60–190-byte actor leaves linking shared raw code blocks) built
//! bottom-up, then per-epoch churn (random leaves rewritten, paths copied, a new
//! header on the spine, the state root of the epoch leaving the window unlinked),
//! then teardown. Reports link/unlink rates, index bytes per object, arena use and
//! peak RSS against payload bytes.
//!
//! `cargo bench --bench dag -- [--leaves N] [--epochs E] [--churn K] [--window W]`

#![allow(clippy::unwrap_used)] // a benchmark: failures should abort loudly

#[path = "support/proc_stats.rs"]
mod proc_stats;

use fil_fil::ipld::write_cbor_header as head;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use cid::multihash::Multihash;
use cid::Cid;
use fil_fil::dag::{DagConfig, DagStore, LinkKind};
use fil_fil::ipld::{block_cid, scan_links, BLAKE2B_256, DAG_CBOR, RAW};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FANOUT: usize = 32;
const CODES: usize = 8;

struct Args {
    leaves: usize,
    epochs: usize,
    churn: usize,
    window: usize,
    chunk: usize,
}

fn args() -> Args {
    let mut a = Args {
        leaves: 10_000_000,
        epochs: 200,
        churn: 7_000,
        window: 10,
        chunk: 200_000,
    };
    let argv: Vec<String> = std::env::args().collect();
    for pair in argv.windows(2) {
        let value = || pair[1].parse::<usize>().unwrap();
        match pair[0].as_str() {
            "--leaves" => a.leaves = value(),
            "--epochs" => a.epochs = value(),
            "--churn" => a.churn = value(),
            "--window" => a.window = value(),
            "--chunk" => a.chunk = value(),
            _ => {}
        }
    }
    a
}

fn link(out: &mut Vec<u8>, cid: &Cid) {
    let raw = cid.to_bytes();
    out.extend([0xd8, 0x2a]);
    head(out, 2, raw.len() as u64 + 1);
    out.push(0);
    out.extend(raw);
}

fn digest_cid(d: &[u8; 32]) -> Cid {
    Cid::new_v1(DAG_CBOR, Multihash::<64>::wrap(BLAKE2B_256, d).unwrap())
}

fn digest_of(cid: &Cid) -> [u8; 32] {
    cid.hash().digest().try_into().unwrap()
}

/// An actor-like leaf: `[code, nonce, balance-ish bytes]`.
fn leaf(rng: &mut ChaCha8Rng, codes: &[Cid]) -> Vec<u8> {
    let mut out = vec![0x83];
    link(&mut out, &codes[rng.gen_range(0..codes.len())]);
    head(&mut out, 0, rng.gen());
    let len = rng.gen_range(16..140);
    head(&mut out, 2, len);
    out.extend((0..len).map(|_| rng.gen::<u8>()));
    out
}

/// A HAMT-like node: `[bitmap, [links...]]`.
fn node(children: &[[u8; 32]]) -> Vec<u8> {
    let mut out = vec![0x82, 0x44, 0xff, 0xff, 0xff, 0xff];
    head(&mut out, 4, children.len() as u64);
    for c in children {
        link(&mut out, &digest_cid(c));
    }
    out
}

/// Header stand-in: `[height, parent?, state]`; the spine is every link but the last.
fn header(height: u64, parent: Option<&Cid>, state: &Cid) -> Vec<u8> {
    let mut out = vec![0x83];
    head(&mut out, 0, height);
    match parent {
        Some(p) => {
            out.push(0x81);
            link(&mut out, p);
        }
        None => out.push(0x80),
    }
    link(&mut out, state);
    out
}

fn spine(_: &Cid, data: &[u8], out: &mut Vec<Cid>) -> Result<(), String> {
    let mut links = Vec::new();
    scan_links(data, |c| links.push(c)).map_err(|e| e.to_string())?;
    links.pop();
    out.extend(links);
    Ok(())
}

/// CPU time of this thread (the runtime is single-threaded, so all store work runs
/// here). The box is shared, so rates are also given per CPU-second.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = stat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Wall and CPU time of a section.
#[derive(Default, Clone, Copy)]
struct Clock {
    wall: Duration,
    cpu: Duration,
}

impl Clock {
    fn time<T>(&mut self, f: impl FnOnce() -> T) -> (T, Duration) {
        let (w, c) = (Instant::now(), cpu());
        let out = f();
        let took = w.elapsed();
        self.wall += took;
        self.cpu += cpu() - c;
        (out, took)
    }

    fn rates(&self, n: u64) -> String {
        format!(
            "{:.2?} wall / {:.2?} CPU -> {} objects/s wall, {} per CPU-second",
            self.wall,
            self.cpu,
            rate(n, self.wall),
            rate(n, self.cpu)
        )
    }
}

fn rate(n: u64, t: Duration) -> String {
    format!("{:.0}", n as f64 / t.as_secs_f64().max(1e-9))
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
}

type Source = HashMap<Cid, Vec<u8>>;

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let store = DagStore::new(DagConfig::default().with_spine(spine));
    println!(
        "workload: {} leaves, fanout {FANOUT}, {} epochs x {} rewritten leaves, window {}",
        a.leaves, a.epochs, a.churn, a.window
    );

    let mut code_source = Source::new();
    let codes: Vec<Cid> = (0..CODES)
        .map(|_| {
            let data: Vec<u8> = (0..2048).map(|_| rng.gen()).collect();
            let cid = Cid::new_v1(RAW, *block_cid(&data).hash());
            code_source.insert(cid, data);
            cid
        })
        .collect();

    // ---- build: bottom-up in chunks, each chunk's nodes linked as roots, then the
    // roots of the level below released once their parents hold them.
    let (mut build_link, mut build_release) = (Clock::default(), Clock::default());
    let (mut build_fetched, mut build_reused, mut released) = (0u64, 0u64, 0u64);
    let mut levels: Vec<Vec<[u8; 32]>> = Vec::new();
    let mut width = a.leaves;
    loop {
        let below = levels.last().cloned();
        let mut this = Vec::with_capacity(width);
        // A chunk of inner nodes releases FANOUT roots per node: keep that bounded.
        let chunk = if below.is_some() {
            (a.chunk / FANOUT).max(1)
        } else {
            a.chunk
        };
        for start in (0..width).step_by(chunk) {
            let end = (start + chunk).min(width);
            let mut source = if levels.is_empty() {
                code_source.clone()
            } else {
                Source::new()
            };
            let mut roots = Vec::with_capacity(end - start);
            for i in start..end {
                let data = match &below {
                    None => leaf(&mut rng, &codes),
                    Some(b) => node(&b[i * FANOUT..((i + 1) * FANOUT).min(b.len())]),
                };
                let cid = block_cid(&data);
                this.push(digest_of(&cid));
                roots.push((cid, LinkKind::Dag));
                source.insert(cid, data);
            }
            let (stats, _) =
                build_link.time(|| rt.block_on(store.link_many(&roots, &source)).unwrap());
            build_fetched += stats.fetched;
            build_reused += stats.reused;
            if let Some(b) = &below {
                let children: Vec<Cid> = b[start * FANOUT..(end * FANOUT).min(b.len())]
                    .iter()
                    .map(digest_cid)
                    .collect();
                build_release.time(|| rt.block_on(store.unlink_many(&children)).unwrap());
                released += children.len() as u64;
            }
        }
        levels.push(this);
        if width == 1 {
            break;
        }
        width = width.div_ceil(FANOUT);
    }
    println!("\n## build ({} levels)", levels.len());
    println!(
        "link: {build_fetched} objects fetched+stored (+{build_reused} edge increments): {}",
        build_link.rates(build_fetched)
    );
    println!(
        "root release ({released} decrements, nothing freed): {}",
        build_release.rates(released)
    );
    report(&store, "after build");

    // ---- churn: per epoch rewrite leaves, copy paths, link header + state root.
    let mut states: VecDeque<Cid> = VecDeque::from([digest_cid(&levels[levels.len() - 1][0])]);
    let mut parent: Option<Cid> = None;
    let (mut link_t, mut unlink_t) = (Clock::default(), Clock::default());
    let (mut fetched, mut freed, mut worst_link, mut worst_unlink) =
        (0u64, 0u64, Duration::ZERO, Duration::ZERO);
    for epoch in 1..=a.epochs as u64 {
        let mut source = Source::new();
        let mut dirty: BTreeSet<usize> = BTreeSet::new();
        for _ in 0..a.churn {
            let i = rng.gen_range(0..a.leaves);
            let data = leaf(&mut rng, &codes);
            let cid = block_cid(&data);
            levels[0][i] = digest_of(&cid);
            source.insert(cid, data);
            dirty.insert(i / FANOUT);
        }
        for level in 1..levels.len() {
            let mut next = BTreeSet::new();
            for &i in &dirty {
                let (lower, upper) = levels.split_at_mut(level);
                let b = &lower[level - 1];
                let data = node(&b[i * FANOUT..((i + 1) * FANOUT).min(b.len())]);
                let cid = block_cid(&data);
                upper[0][i] = digest_of(&cid);
                source.insert(cid, data);
                next.insert(i / FANOUT);
            }
            dirty = next;
        }
        let state = digest_cid(&levels[levels.len() - 1][0]);
        let head_data = header(epoch, parent.as_ref(), &state);
        let head = block_cid(&head_data);
        source.insert(head, head_data);
        let roots = [(head, LinkKind::Spine), (state, LinkKind::Dag)];
        let (stats, took) = link_t.time(|| rt.block_on(store.link_many(&roots, &source)).unwrap());
        worst_link = worst_link.max(took);
        fetched += stats.fetched;
        if let Some(old) = parent.replace(head) {
            // The new head holds the old one through its parent edge.
            rt.block_on(store.unlink(old)).unwrap();
        }
        states.push_back(state);
        if states.len() > a.window {
            let old = states.pop_front().unwrap();
            let (stats, took) = unlink_t.time(|| rt.block_on(store.unlink(old)).unwrap());
            worst_unlink = worst_unlink.max(took);
            freed += stats.freed;
        }
    }
    println!("\n## churn ({} epochs)", a.epochs);
    let epochs = a.epochs.max(1) as f64;
    println!(
        "link: {fetched} new objects ({:.0}/epoch): {}; per epoch mean {:.1} ms wall ({:.1} ms CPU), worst {:.1} ms wall",
        fetched as f64 / epochs,
        link_t.rates(fetched),
        link_t.wall.as_secs_f64() * 1e3 / epochs,
        link_t.cpu.as_secs_f64() * 1e3 / epochs,
        worst_link.as_secs_f64() * 1e3
    );
    println!(
        "unlink: {freed} objects freed: {}; worst {:.1} ms wall/epoch",
        unlink_t.rates(freed),
        worst_unlink.as_secs_f64() * 1e3
    );
    report(&store, "after churn");

    let mut sink = CountingSink(0);
    let mut clock = Clock::default();
    let (_, took) = clock.time(|| rt.block_on(store.write_checkpoint(&mut sink)).unwrap());
    println!(
        "\ncheckpoint to /dev/null: {} in {:.2?} -> {}/s",
        mib(sink.0),
        took,
        mib((sink.0 as f64 / took.as_secs_f64()) as u64)
    );

    // ---- teardown: drop every root; everything must be freed.
    let objects = store.len() as u64;
    let mut roots: Vec<Cid> = states.into_iter().collect();
    roots.extend(parent);
    let mut teardown = Clock::default();
    let (stats, _) = teardown.time(|| rt.block_on(store.unlink_many(&roots)).unwrap());
    println!("\n## teardown");
    println!(
        "unlink all: {} objects freed: {}; left: {} objects, {} payload bytes",
        stats.freed,
        teardown.rates(stats.freed),
        store.len(),
        store.bytes()
    );
    assert_eq!(stats.freed, objects);
    assert!(store.is_empty());
    println!(
        "\npeak RSS (VmHWM): {}",
        mib(proc_stats::proc_status("VmHWM:"))
    );
}

fn report(store: &DagStore, when: &str) {
    let m = store.memory();
    println!(
        "{when}: {} objects, payload {}, index {} = {:.1} B/object, arena reserved {} / live {} ({:.1}% of reserved live), RSS {} (VmHWM {})",
        m.objects,
        mib(m.payload_bytes),
        mib(m.index_bytes),
        m.index_bytes_per_object(),
        mib(m.arena_reserved_bytes),
        mib(m.arena_live_bytes),
        100.0 * m.arena_live_bytes as f64 / m.arena_reserved_bytes.max(1) as f64,
        mib(proc_stats::proc_status("VmRSS:")),
        mib(proc_stats::proc_status("VmHWM:")),
    );
}

struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
