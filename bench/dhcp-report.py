#!/usr/bin/env python3
"""dhcp-report.py - the numbers side of bench/dhcp.sh.

    dhcp-report.py record PERFDHCP_OUT key=value...   one JSON line for results.jsonl
    dhcp-report.py verdict RESULTS SERVER RATE LOSS_MAX
                                   "pass|fail OFFERED COMPLETED LOST FAILED_RUNS" (medians)
    dhcp-report.py table RESULTS META                 the markdown section (stdout)
    dhcp-report.py docs FILE SECTION                  put SECTION between the bench:dhcp markers

perfdhcp terms: DO = DISCOVER->OFFER, RA = REQUEST->ACK. A DORA exchange is complete when its
ACK arrived within the drop time (-d, 1 s). Over one run of P seconds:
  offered/s   = DISCOVERs sent / P          completed/s = ACKs received / P
  lost %      = 100 * (DISCOVERs sent - ACKs received + steps slower than 1 s) / DISCOVERs sent
  CPU us/lease = server utime+stime during the run / ACKs received
"""
import json
import os
import re
import statistics
import sys

MARK_START = "<!-- bench:dhcp:start -->"
MARK_END = "<!-- bench:dhcp:end -->"


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


SLOW_S = 1.0  # an exchange step slower than this counts as lost


def iso_dur(s):
    """perfdhcp -x t prints durations with to_iso_string: HHMMSS.ffffff -> seconds."""
    try:
        whole, _, frac = s.partition(".")
        v = int(whole[-2:] or 0) + 60 * int(whole[-4:-2] or 0) + 3600 * int(whole[:-4] or 0)
        return v + (float("0." + frac) if frac else 0.0)
    except ValueError:
        return None


def parse_perfdhcp(text):
    """Counters and delays per exchange type, the rate line, RA completion timestamps."""
    out = {}
    m = re.search(r"Rate: ([0-9.]+) 4-way exchanges/second, expected rate: ([0-9.]+)", text)
    if m:
        out["pd_rate"] = float(m.group(1))
    section = None
    ts_section = None
    ra_times = []
    do_last_sent = 0.0
    do_sent_times = []
    do_slow = ra_slow = 0
    saw_ts = False
    keys = {
        "sent packets": "sent",
        "received packets": "recv",
        "drops": "drops",
        "orphans": "orphans",
        "rejected leases": "rejected",
        "non unique addresses": "nonuniq",
        "min delay": "min_ms",
        "avg delay": "avg_ms",
        "max delay": "max_ms",
        "std deviation": "std_ms",
        "collected packets": "collected",
    }
    periodic = []  # -t 1: cumulative DISCOVERs sent, once a second
    for line in text.splitlines():
        m = re.match(r"sent: (\d+)/(\d+); received:", line)
        if m:
            periodic.append(int(m.group(1)))
            continue
        if line.startswith("***Statistics for: DISCOVER-OFFER"):
            section, ts_section = "do", None
            continue
        if line.startswith("***Statistics for: REQUEST-ACK"):
            section, ts_section = "ra", None
            continue
        if line.startswith("***Timestamps for packets: REQUEST-ACK"):
            section, ts_section, saw_ts = None, "ra", True
            continue
        if line.startswith("***Timestamps for packets: DISCOVER-OFFER"):
            section, ts_section, saw_ts = None, "do", True
            continue
        if line.startswith("***"):
            section, ts_section = None, None
            continue
        if ts_section and line.startswith("sent / received:"):
            parts = line.split()  # sent / received: SENT / RECEIVED (HHMMSS.ffffff)
            if len(parts) >= 6:
                sent, rcvd = iso_dur(parts[3]), iso_dur(parts[5])
                if sent is None or rcvd is None:
                    continue
                if ts_section == "ra":
                    ra_times.append(rcvd)
                    ra_slow += rcvd - sent > SLOW_S
                else:
                    do_sent_times.append(sent)
                    do_last_sent = max(do_last_sent, sent)
                    do_slow += rcvd - sent > SLOW_S
            continue
        if section and ":" in line:
            k, v = line.split(":", 1)
            k = k.strip()
            if k in keys:
                val = num(v.strip().split()[0]) if v.strip() else None
                out[section + "_" + keys[k]] = val
    if ra_times:
        out["ra_times"] = ra_times
    if do_last_sent > 0:
        out["do_last_sent"] = do_last_sent
    if saw_ts:
        out["do_slow"], out["ra_slow"] = do_slow, ra_slow
    if do_sent_times:
        out["do_times"] = do_sent_times
    if periodic:
        out["periodic"] = periodic
    return out


def sent_between(periodic, total, t_end, a, b):
    """DISCOVERs sent between times a and b: the cumulative counts of the -t 1 reports (at 1 s,
    2 s, ...; `total` at `t_end`), interpolated linearly."""
    pts = [(0.0, 0)] + [(float(i + 1), n) for i, n in enumerate(periodic)]
    if t_end > pts[-1][0]:
        pts.append((t_end, total))

    def at(t):
        for (t0, n0), (t1, n1) in zip(pts, pts[1:]):
            if t <= t1:
                return n0 + (n1 - n0) * (t - t0) / max(t1 - t0, 1e-9)
        return pts[-1][1]
    return at(b) - at(a)


def window_bounds(times, size, target):
    """(start, end) times of the first `size` ACKs and of the `size` up to the target-th."""
    t = sorted(times)[:target]
    if len(t) < 2 * size:
        size = max(2, len(t) // 2)
    if len(t) < 4:
        return None
    return (t[0], t[size - 1]), (t[-size], t[-1])


def windows(times, size, target):
    """Completion rate of the first `size` ACKs and of the `size` ACKs up to the target-th (or
    the last ones, when fewer arrived), by arrival time."""
    t = sorted(times)[:target]
    if len(t) < 2 * size:
        size = max(2, len(t) // 2)
    if len(t) < 4:
        return None, None
    first = (size - 1) / max(t[size - 1] - t[0], 1e-6)
    last = (size - 1) / max(t[-1] - t[-size], 1e-6)
    return first, last


def cmd_record(args):
    text = open(args[0], errors="replace").read()
    rec = {}
    for a in args[1:]:
        k, v = a.split("=", 1)
        n = num(v)
        rec[k] = n if n is not None and k not in ("server", "kind") else v
    rec.update(parse_perfdhcp(text))
    if rec.get("kind") == "sustain" and rec.get("do_last_sent"):
        # -n runs stop sending early: the sending span is the last DISCOVER's time.
        rec["period_used"] = min(rec["period"], rec["do_last_sent"])
    else:
        rec["period_used"] = rec.get("period")
    period = rec.get("period_used") or 1
    do_sent = rec.get("do_sent") or 0
    ra_recv = rec.get("ra_recv") or 0
    rec["offered"] = do_sent / period
    rec["completed"] = ra_recv / period
    rec["drop_pct"] = 100.0 * (1 - ra_recv / do_sent) if do_sent else 100.0
    # Lost or slower than 1 s: perfdhcp matches a late reply that arrives in order even after
    # its drop time (-d), so slow steps are counted from the -x t timestamps: every exchange
    # whose OFFER or ACK took more than 1 s (an exchange slow in both steps counts twice, one
    # whose steps each took under 1 s but together more does not).
    slow = (rec.get("do_slow") or 0) + (rec.get("ra_slow") or 0)
    rec["lost_pct"] = (min(100.0, 100.0 * (do_sent - ra_recv + slow) / do_sent)
                       if do_sent else 100.0)
    rec["srv_cpu"] = rec["srv_utime"] + rec["srv_stime"]
    rec["cpu_us_lease"] = rec["srv_cpu"] * 1e6 / ra_recv if ra_recv else None
    rec["user_us_lease"] = rec["srv_utime"] * 1e6 / ra_recv if ra_recv else None
    rec["sys_us_lease"] = rec["srv_stime"] * 1e6 / ra_recv if ra_recv else None
    rec["pd_cpu_pct"] = 100.0 * rec["pd_cpu"] / rec["pd_span"] if rec.get("pd_span") else None
    times = rec.pop("ra_times", None)
    dtimes = rec.pop("do_times", None)
    if rec.get("kind") == "sustain":
        win = int(rec.get("window") or 10000)
        target = int(rec.get("target") or len(times or []))
        rec["first_rate"] = rec["last_rate"] = rec["flat"] = None
        if times:
            rec["first_rate"], rec["last_rate"] = windows(times, win, target)
        periodic = rec.pop("periodic", None)
        wb = window_bounds(times, win, target) if times else None
        if wb and periodic:
            # What perfdhcp sent over the same windows (from its once-a-second reports): when
            # perfdhcp itself slows down, the completion rate follows it.
            total, t_end = rec.get("do_sent") or 0, rec.get("do_last_sent") or 0
            rec["first_offered"], rec["last_offered"] = (
                sent_between(periodic, total, t_end, a, b) / max(b - a, 1e-6) for a, b in wb)
        if rec["first_rate"] and rec["last_rate"] and rec.get("first_offered") and \
                rec.get("last_offered"):
            rec["flat"] = ((rec["last_rate"] / rec["last_offered"]) /
                           (rec["first_rate"] / rec["first_offered"]))
    print(json.dumps(rec, sort_keys=True))


def load(path):
    recs = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line:
                recs.append(json.loads(line))
    return recs


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def runs(recs, server, kind, rate=None):
    return [r for r in recs if r.get("server") == server and r.get("kind") == kind and
            (rate is None or r.get("rate") == rate)]


def cmd_verdict(args):
    recs = load(args[0])
    server, rate, loss_max = args[1], float(args[2]), float(args[3])
    rs = runs(recs, server, "step", rate)
    lost = med([r.get("lost_pct") for r in rs])
    offered = med([r.get("offered") for r in rs])
    completed = med([r.get("completed") for r in rs])
    ok = lost is not None and lost <= loss_max and all(r.get("rc") in (0, 3) for r in rs)
    failed = sum(1 for r in rs if r.get("lost_pct", 100) > loss_max or r.get("rc") not in (0, 3))
    print("%s %.0f %.0f %.2f %d" % ("pass" if ok else "fail", offered or 0, completed or 0,
                                    lost if lost is not None else 100, failed))


def fmt(v, spec="%.0f", none="-"):
    return none if v is None else spec % v


def summarise(recs, meta, server):
    """Medians at the best passing rate, and the sustained run."""
    best = meta.get("best", {}).get(server)
    s = {"server": server, "best": best, "limited": meta.get("limited", {}).get(server)}
    rs = runs(recs, server, "step", best) if best else []
    keys = ["offered", "completed", "lost_pct", "do_avg_ms", "do_min_ms", "do_max_ms",
            "ra_avg_ms", "ra_min_ms", "ra_max_ms", "cpu_us_lease", "user_us_lease", "sys_us_lease",
            "pd_cpu_pct", "srv_cpu", "srv_rcvbuf_drops", "cli_rcvbuf_drops"]
    for k in keys:
        s[k] = med([r.get(k) for r in rs])
    s["dups"] = max([int(r.get("ra_nonuniq") or 0) for r in rs], default=None)
    s["dups_do"] = max([int(r.get("do_nonuniq") or 0) for r in rs], default=None)
    s["n"] = len(rs)
    ss = runs(recs, server, "sustain")
    s["sus_n"] = len(ss)
    s["sus_rate"] = ss[0].get("rate") if ss else None
    for k in ("first_rate", "last_rate", "first_offered", "last_offered", "flat", "ra_recv",
              "lost_pct", "cpu_us_lease", "period_used"):
        s["sus_" + k] = med([r.get(k) for r in ss])
    s["sus_dups"] = max([int(r.get("ra_nonuniq") or 0) for r in ss], default=None)
    # Every step that ran, for the appendix.
    s["steps"] = []
    for rate in sorted({r["rate"] for r in runs(recs, server, "step")}):
        st = runs(recs, server, "step", rate)
        s["steps"].append((rate, med([r.get("offered") for r in st]),
                           med([r.get("completed") for r in st]),
                           med([r.get("lost_pct") for r in st]),
                           med([r.get("cpu_us_lease") for r in st]),
                           med([r.get("pd_cpu_pct") for r in st]),
                           med([r.get("srv_rcvbuf_drops") for r in st]),
                           med([r.get("cli_rcvbuf_drops") for r in st]), len(st)))
    return s


def cmd_table(args):
    recs = load(args[0])
    meta = json.load(open(args[1]))
    servers = meta["servers"]
    S = {sv: summarise(recs, meta, sv) for sv in servers}
    o = []
    w = o.append
    w("## DHCP: pxed, Kea and dnsmasq under perfdhcp (`bench/dhcp.sh`)")
    w("")
    w("Measured %s on %s: %s CPUs (%s), kernel %s; state directories on %s (%s, fsync of 4 KiB "
      "takes %s ms there). %s. Medians of %s runs per point%s." % (
          meta["date"], meta["host"], meta["cpus"], meta["cpu_model"], meta["kernel"],
          meta["state_base"], meta["state_fs"], meta["fsync_ms"], meta["versions"],
          meta["repeats"], " (**--quick smoke run: not a result**)" if meta["quick"] else ""))
    if meta.get("note"):
        w("")
        w("**Note:** " + meta["note"])
    w("")
    w("perfdhcp runs 4-way exchanges (`-g single`, relayed: giaddr 198.18.0.2) from a client "
      "namespace over a veth pair; each server runs alone in its own namespace, pinned to CPU %s "
      "(perfdhcp on CPU %s), with a fresh lease store for every run. The rate is stepped up "
      "(%s/s, %s s per run, every client new) and the table shows the highest offered rate where "
      "at most %s%% of the exchanges were lost or slower than 1 s. Raw output: `%s`." % (
          meta["server_cpu"] or "any", meta["client_cpu"] or "any",
          ", ".join(str(int(r)) for r in meta["rates"]), meta["step_secs"], meta["loss_max"],
          meta["out"]))
    w("")
    w("| | pxed | Kea | dnsmasq |" if servers == ["pxed", "kea", "dnsmasq"] else
      "| | " + " | ".join(servers) + " |")
    w("|---" * (len(servers) + 1) + "|")

    def row(label, f):
        w("| " + label + " | " + " | ".join(f(S[sv]) for sv in servers) + " |")

    def best_txt(s):
        if s["best"] is None:
            return "none passed"
        t = "%d/s" % s["best"]
        if s["limited"]:
            t += " (perfdhcp limit)"
        return t

    row("highest rate asked with <= %s%% lost" % meta["loss_max"], best_txt)
    row("rate perfdhcp actually offered", lambda s: fmt(s["offered"], "%.0f/s"))
    row("**completed DORA/s**", lambda s: "**" + fmt(s["completed"], "%.0f") + "**")
    row("lost or > 1 s", lambda s: fmt(s["lost_pct"], "%.2f %%"))
    row("DISCOVER-OFFER delay avg / min / max (ms)", lambda s: "%s / %s / %s" % (
        fmt(s["do_avg_ms"], "%.1f"), fmt(s["do_min_ms"], "%.2f"), fmt(s["do_max_ms"], "%.0f")))
    row("REQUEST-ACK delay avg / min / max (ms)", lambda s: "%s / %s / %s" % (
        fmt(s["ra_avg_ms"], "%.1f"), fmt(s["ra_min_ms"], "%.2f"), fmt(s["ra_max_ms"], "%.0f")))
    row("duplicate addresses (ACKs)", lambda s: fmt(s["dups"], "%d"))
    row("**server CPU per completed lease**", lambda s: "**" + fmt(s["cpu_us_lease"], "%.1f") +
        " us**")
    row("of which user / system", lambda s: "%s / %s us" % (fmt(s["user_us_lease"], "%.1f"),
                                                           fmt(s["sys_us_lease"], "%.1f")))
    row("perfdhcp CPU while sending (one core = 100 %)", lambda s: fmt(s["pd_cpu_pct"], "%.0f %%"))
    row("datagrams dropped: server's / perfdhcp's socket buffer full", lambda s: "%s / %s" % (
        fmt(s["srv_rcvbuf_drops"], "%.0f"), fmt(s["cli_rcvbuf_drops"], "%.0f")))
    row("lease written to disk before the ACK", lambda s: {
        "pxed": "yes: fsync (SQLite WAL, synchronous=FULL) per batch",
        "kea": "no: CSV append, never fsync'd",
        "dnsmasq": "no: whole lease file rewritten, not fsync'd"}.get(s["server"], "?"))

    def sus(s):
        if not s["sus_n"]:
            return "-"
        return "%s/s -> %s/s (offered %s -> %s)" % (
            fmt(s["sus_first_rate"], "%.0f"), fmt(s["sus_last_rate"], "%.0f"),
            fmt(s["sus_first_offered"], "%.0f"), fmt(s["sus_last_offered"], "%.0f"))

    def sus_reach(s):
        if not s["sus_n"]:
            return "-"
        return "%s leases in %s s at %s/s, %s lost, %s dup" % (
            fmt(s["sus_ra_recv"], "%.0f"), fmt(s["sus_period_used"], "%.0f"),
            fmt(s["sus_rate"], "%.0f"), fmt(s["sus_lost_pct"], "%.1f %%"),
            fmt(s["sus_dups"], "%d"))

    row("sustained: ACKs/s over the first %d -> the last %d leases to %d" % (
        meta["window"], meta["window"], meta["sustain_clients"]), sus)
    row("sustained: share of the offered rate completed, last / first window",
        lambda s: fmt(s["sus_flat"], "%.2f") if s["sus_n"] else "-")
    row("sustained run (target %d distinct clients)" % meta["sustain_clients"], sus_reach)
    w("")

    # Ratios and targets.
    peers = [sv for sv in servers if sv != "pxed"]
    p = S.get("pxed")
    if p and peers:
        bestpeer = max(peers, key=lambda sv: S[sv]["completed"] or 0)
        bp = S[bestpeer]
        kea = S.get("kea")
        w("Ratios (pxed / peer): completed DORA/s %s; server CPU per lease %s." % (
            ", ".join("%s %s" % (sv, fmt((p["completed"] or 0) / S[sv]["completed"], "%.2fx")
                                  if S[sv]["completed"] else "-") for sv in peers),
            ", ".join("%s %s" % (sv, fmt(p["cpu_us_lease"] / S[sv]["cpu_us_lease"], "%.2fx")
                                  if p["cpu_us_lease"] and S[sv]["cpu_us_lease"] else "-")
                      for sv in peers)))
        w("Best peer by rate: %s." % bestpeer)
        w("")
        w("| target (issue 3) | measured | |")
        w("|---|---|---|")
        if kea and kea["completed"]:
            r = (p["completed"] or 0) / kea["completed"]
            lim = " (pxed's rate is capped by perfdhcp: see its CPU)" if p["limited"] else ""
            w("| >= 2x Kea's completed DORA/s, every lease fsync'd before its ACK | %.2fx "
              "(%.0f vs %.0f/s)%s | %s |" % (r, p["completed"] or 0, kea["completed"], lim,
                                              "met" if r >= 2 else "**not met**"))
        if p["sus_n"]:
            fl = p["sus_flat"]
            reached = (p["sus_ra_recv"] or 0) >= meta["sustain_clients"]
            w("| rate flat to %d leases: share of the offered rate completed, last %d vs first "
              "%d, >= 0.9 | %s (ACKs/s %s -> %s, offered %s -> %s), %s leases | %s |" % (
                  meta["sustain_clients"], meta["window"], meta["window"], fmt(fl, "%.2f"),
                  fmt(p["sus_first_rate"]), fmt(p["sus_last_rate"]), fmt(p["sus_first_offered"]),
                  fmt(p["sus_last_offered"]), fmt(p["sus_ra_recv"], "%.0f"),
                  "met" if fl and fl >= 0.9 and reached else "**not met**"))
        if kea and kea["cpu_us_lease"] and p["cpu_us_lease"]:
            r = p["cpu_us_lease"] / kea["cpu_us_lease"]
            w("| server CPU per lease <= 1/2 of Kea's | %.2fx (%.1f vs %.1f us) | %s |" % (
                r, p["cpu_us_lease"], kea["cpu_us_lease"], "met" if r <= 0.5 else "**not met**"))
        w("| no duplicate addresses | %s | %s |" % (
            ", ".join("%s %s" % (sv, fmt(S[sv]["dups"], "%d")) for sv in servers),
            "met" if all((S[sv]["dups"] or 0) == 0 and (S[sv]["sus_dups"] or 0) == 0
                         for sv in servers) else "**not met**"))
        w("")
    w("Every step (medians: offered and completed per second, lost, server CPU per lease, "
      "perfdhcp CPU while sending, UDP datagrams dropped because the server's or perfdhcp's "
      "receive buffer was full):")
    w("")
    w("| server | asked | offered | completed | lost | CPU us/lease | perfdhcp CPU | "
      "buffer drops server / perfdhcp | runs |")
    w("|---|---|---|---|---|---|---|---|---|")
    for sv in servers:
        for (rate, off, comp, lost, cpu, pd, sd, cd, n) in S[sv]["steps"]:
            w("| %s | %d | %s | %s | %s | %s | %s | %s / %s | %d |" % (
                sv, rate, fmt(off), fmt(comp), fmt(lost, "%.2f %%"), fmt(cpu, "%.1f"),
                fmt(pd, "%.0f %%"), fmt(sd), fmt(cd), n))
    w("")
    for note in meta.get("notes", []):
        w("- " + note)
    print("\n".join(o).rstrip() + "\n")


def cmd_docs(args):
    path, section_file = args
    section = open(section_file).read().rstrip("\n")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    block = MARK_START + "\n" + section + "\n" + MARK_END
    i, j = text.find(MARK_START), text.find(MARK_END)
    if i >= 0 and j > i:
        text = text[:i] + block + text[j + len(MARK_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".dhcp.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    if len(sys.argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd, args = sys.argv[1], sys.argv[2:]
    {"record": cmd_record, "verdict": cmd_verdict, "table": cmd_table, "docs": cmd_docs}[cmd](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
