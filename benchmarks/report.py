"""Turning samples into medians, ratios, a table, the verdict line and the machine record."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from importlib import metadata
from typing import Any

from .common import GIB, MIB, format_size

__all__ = ["SDKS", "headline", "machine", "render", "summarize", "table", "verdict"]

SDKS = ("oss2", "oss-v2")
LABELS = {
    "ossnb": "ossnb UploadSession",
    "oss2": "oss2.resumable_upload",
    "oss-v2": "alibabacloud_oss_v2 Uploader",
    "ceiling": "ceiling (no library)",
    "emulator": "emulator alone (no hashing)",
}


def summarize(samples: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per contender: medians of MiB/s, client CPU s/GiB, server CPU s/GiB; peak RSS."""
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(s["contender"] for s in samples):
        mine = [s for s in samples if s["contender"] == name]
        rates = [s["mib_s"] for s in mine]
        server = [s["server_cpu_s_per_gib"] for s in mine if s["server_cpu_s_per_gib"] is not None]
        out[name] = {
            "rounds": len(mine),
            "mib_s": statistics.median(rates),
            "mib_s_min": min(rates),
            "mib_s_max": max(rates),
            "cpu_s_per_gib": statistics.median(s["cpu_s"] / (s["bytes"] / GIB) for s in mine),
            "cpu_sys_s_per_gib": statistics.median(
                s.get("cpu_sys_s", 0.0) / (s["bytes"] / GIB) for s in mine
            ),
            "peak_rss_mib": max(s["peak_rss_bytes"] for s in mine) / MIB,
            "server_cpu_s_per_gib": statistics.median(server) if server else None,
            "foreign_cores": statistics.median(s.get("foreign_cores", 0.0) for s in mine),
        }
    base = out.get("ossnb")
    for row in out.values():
        row["mib_s_vs_ossnb"] = row["mib_s"] / base["mib_s"] if base else None
    return out


def per_round_ratios(samples: list[dict[str, Any]], other: str) -> list[float]:
    """ossnb's MiB/s over ``other``'s, round by round (robust to a machine that drifts)."""
    by_round: dict[int, dict[str, float]] = {}
    for s in samples:
        by_round.setdefault(s["round"], {})[s["contender"]] = s["mib_s"]
    return [r["ossnb"] / r[other] for r in by_round.values() if "ossnb" in r and other in r]


def verdict(
    summary: dict[str, dict[str, Any]],
    samples: list[dict[str, Any]],
    *,
    workers: int,
    part_size: int,
) -> dict[str, Any]:
    """The issue's targets, each with its figure and whether it is met."""
    result: dict[str, Any] = {}
    ossnb = summary.get("ossnb")
    if ossnb is None:
        return result
    sdks = [name for name in SDKS if name in summary]
    if sdks:
        fastest = max(sdks, key=lambda n: summary[n]["mib_s"])
        ratio = ossnb["mib_s"] / summary[fastest]["mib_s"]
        rounds = per_round_ratios(samples, fastest)
        result["vs_faster_sdk"] = {
            "sdk": fastest,
            "sdk_mib_s": summary[fastest]["mib_s"],
            "ratio": ratio,
            "per_round": rounds,
            "target": 2.0,
            "met": ratio >= 2.0,
        }
    if "ceiling" in summary:
        ratio = ossnb["mib_s"] / summary["ceiling"]["mib_s"]
        result["vs_ceiling"] = {
            "ceiling_mib_s": summary["ceiling"]["mib_s"],
            "ratio": ratio,
            "per_round": per_round_ratios(samples, "ceiling"),
            "target": 0.9,
            "met": ratio >= 0.9,
        }
    limit = (workers * part_size + 64 * MIB) / MIB
    result["peak_rss"] = {
        "mib": ossnb["peak_rss_mib"],
        "limit_mib": limit,
        "met": ossnb["peak_rss_mib"] <= limit,
    }
    return result


def ratio_lines(result: dict[str, Any]) -> str:
    """ossnb's ratios round by round (each round ran every contender back to back)."""
    parts = []
    if "vs_faster_sdk" in result:
        v = result["vs_faster_sdk"]
        parts.append(f"ossnb/{v['sdk']} " + ", ".join(f"{x:.2f}" for x in v["per_round"]))
    if "vs_ceiling" in result:
        parts.append(
            "ossnb/ceiling " + ", ".join(f"{x:.2f}" for x in result["vs_ceiling"]["per_round"])
        )
    return "per round: " + "; ".join(parts) if parts else ""


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(summary: dict[str, dict[str, Any]]) -> str:
    """The results as a fixed-width table, ossnb first."""
    head = (
        f"{'contender':<30} {'MiB/s':>7} {'(min-max)':>13} {'CPU s/GiB':>9} "
        f"{'peak RSS':>9} {'server CPU s/GiB':>16} {'vs ossnb':>8}"
    )
    lines = [head, "-" * len(head)]
    for name, row in summary.items():
        spread = f"({row['mib_s_min']:.0f}-{row['mib_s_max']:.0f})"
        lines.append(
            f"{LABELS.get(name, name):<30} {row['mib_s']:>7.0f} {spread:>13} "
            f"{row['cpu_s_per_gib']:>9.2f} {row['peak_rss_mib']:>5.0f} MiB "
            f"{_fmt(row['server_cpu_s_per_gib'], '.2f'):>16} "
            f"{_fmt(row['mib_s_vs_ossnb'], '.2f') + 'x':>8}"
        )
    return "\n".join(lines)


def headline(summary: dict[str, dict[str, Any]], result: dict[str, Any]) -> str:
    """The last line: ossnb over the faster SDK and over the ceiling."""
    if "ossnb" not in summary:
        return "ossnb was not measured"
    text = f"ossnb {summary['ossnb']['mib_s']:.0f} MiB/s"
    pieces = []
    if "vs_faster_sdk" in result:
        v = result["vs_faster_sdk"]
        pieces.append(
            f"{v['ratio']:.2f}x the faster SDK ({v['sdk']} {v['sdk_mib_s']:.0f} MiB/s; "
            f"target 2x: {'met' if v['met'] else 'NOT met'})"
        )
    if "vs_ceiling" in result:
        v = result["vs_ceiling"]
        pieces.append(
            f"{100 * v['ratio']:.0f}% of the ceiling ({v['ceiling_mib_s']:.0f} MiB/s; "
            f"target 90%: {'met' if v['met'] else 'NOT met'})"
        )
    return text + (" = " + " and ".join(pieces) if pieces else "")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    memory = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((ln.split(":", 1)[1].strip() for ln in info if "model name" in ln), cpu)
        with open("/proc/meminfo", encoding="ascii") as info:
            memory = int(next(ln.split()[1] for ln in info if ln.startswith("MemTotal"))) * 1024
    except (OSError, StopIteration):
        pass
    versions: dict[str, str | None] = {}
    for dist in ("ossnb", "oss2", "alibabacloud-oss-v2", "httpx", "fastcrc", "crcmod", "requests"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "versions": versions,
    }


def render(data: dict[str, Any]) -> str:
    """The printed report; its last line is :func:`headline`."""
    summary, result, config = data["summary"], data["verdict"], data["config"]
    lines = [
        f"{format_size(config['size'])} file, {format_size(config['part_size'])} parts, "
        f"{config['workers']} workers, {config['rounds']} round(s), medians; CRC-64 checked "
        f"by all; emulator data on {config.get('emulator_data_fs') or '?'}; load average "
        f"{config['load_avg_start'][0]:.1f} at the start, {config['load_avg_end'][0]:.1f} at the end",
        "",
        table(summary),
        "",
    ]
    if "peak_rss" in result:
        v = result["peak_rss"]
        lines.append(
            f"ossnb peak RSS {v['mib']:.0f} MiB (limit workers x part + 64 MiB = "
            f"{v['limit_mib']:.0f} MiB: {'met' if v['met'] else 'NOT met'})"
        )
    resume = data.get("resume")
    if resume:
        text = (
            f"resume at 90%: {resume['wall_s']:.2f} s; re-read {format_size(resume['bytes_read'])}"
            f" (verified {resume['parts_reused']} parts by CRC-64), re-sent "
            f"{format_size(resume['bytes_sent'])} ({resume['parts_sent']} parts)"
        )
        if "speedup_vs_fresh" in resume:
            text += (
                f"; a fresh upload takes {resume['fresh_upload_s']:.2f} s "
                f"({resume['speedup_vs_fresh']:.1f}x longer; target >= {result['resume']['target_speedup']:.0f}x "
                f"with only the missing parts sent: "
                f"{'met' if result['resume']['met'] else 'NOT met'})"
            )
        lines.append(text)
    widget = data.get("widget") or {}
    if "cost_percent" in widget:
        lines.append(
            f"widget: {widget['widget_mib_s']:.0f} MiB/s attached vs {widget['headless_mib_s']:.0f}"
            f" headless in a kernel: cost {widget['cost_percent']:.1f}% of throughput, "
            f"{widget['cpu_cost_percent']:+.1f}% kernel CPU "
            f"(target < 5%: {'met' if result['widget']['met'] else 'NOT met'})"
        )
    else:
        lines.append(f"widget cost: skipped ({widget.get('skipped', 'not run')})")
    ratios = ratio_lines(result)
    if ratios:
        lines.append(ratios)
    lines.append(headline(summary, result))
    return "\n".join(lines)
