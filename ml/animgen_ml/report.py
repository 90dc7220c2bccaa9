"""One self-contained HTML report per run: detection and visibility over time, the contact timeline, the root
path from above, time per stage, warnings. Charts are matplotlib PNGs inlined as base64, so the file can be
mailed or attached to a CI run as it is."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import numpy as np

from animgen_ml.clip import HumanoidClip
from animgen_ml.landmarks import LM, Landmarks

_GROUPS = {
    "head": ("nose", "left_ear", "right_ear"),
    "arms": ("left_elbow", "right_elbow", "left_wrist", "right_wrist"),
    "torso": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "legs": ("left_knee", "right_knee", "left_ankle", "right_ankle"),
    "feet": ("left_heel", "right_heel", "left_foot_index", "right_foot_index"),
}


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _visibility_chart(lm: Landmarks) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.6))
    t = lm.times
    vis = np.where(lm.detected[:, None], np.nan_to_num(lm.visibility, nan=0.0), 0.0)
    for name, parts in _GROUPS.items():
        ax.plot(t, vis[:, [LM[p] for p in parts]].mean(axis=1), label=name, lw=1.2)
    ax.fill_between(t, 0, 1, where=~lm.detected, color="red", alpha=0.15, step="mid", label="no person")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("visibility")
    ax.legend(ncol=6, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return _png(fig)


def video_times(clip: HumanoidClip, start: float, speed: float) -> np.ndarray:
    """The video time of each clip frame: start is the video time of the clip's first frame, speed its playback
    speed (--speed), so that the contact chart and the visibility chart share an axis on a trimmed or re-timed run."""
    return start + speed * np.arange(clip.frame_count) / clip.fps


def _contact_chart(clip: HumanoidClip, start: float, speed: float) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 1.4))
    t = video_times(clip, start, speed)
    for row, col in enumerate((0, 1)):
        c = clip.contacts[:, col].astype(bool)
        ax.fill_between(t, row + 0.1, row + 0.9, where=c, step="mid", color=("tab:blue", "tab:orange")[row])
    ax.set_yticks([0.5, 1.5], ["left foot", "right foot"])
    ax.set_xlim(start, max(t[-1], start + 1e-3) if len(t) else start + 1)
    ax.set_xlabel("time (s)")
    return _png(fig)


def root_figure(clip: HumanoidClip):
    """The root's path seen from above, forward (+Z) up the page: the character's left (+X) is on the left."""
    import matplotlib.pyplot as plt

    path = clip.hips if clip.root_motion is None else clip.hips + clip.root_motion
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.plot(path[:, 0], path[:, 2], lw=1.5)
    if len(path):
        ax.plot(path[0, 0], path[0, 2], "go", label="start")
        ax.plot(path[-1, 0], path[-1, 2], "rs", label="end")
    ax.set_aspect("equal", adjustable="datalim")
    ax.invert_xaxis()  # from above (Y up): with +Z up the page, +X is on the left, as a left turn is
    ax.set_xlabel("x (m, to the character's left)")
    ax.set_ylabel("z (m, forward)")
    ax.legend(fontsize=7)
    return fig


def _stage_chart(stage_seconds: dict[str, float]) -> str:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.4 + 0.3 * max(len(stage_seconds), 1)))
    names = list(stage_seconds)
    ax.barh(names, [stage_seconds[n] for n in names], color="tab:gray")
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    return _png(fig)


def summary(clip: HumanoidClip, landmarks: Landmarks | None) -> dict[str, str]:
    out = {"frames": str(clip.frame_count), "frame rate": f"{clip.fps:.2f} fps",
           "duration": f"{clip.duration:.2f} s",
           "left foot planted": f"{100 * clip.contacts[:, 0].mean():.0f}% of frames" if clip.frame_count else "-",
           "right foot planted": f"{100 * clip.contacts[:, 1].mean():.0f}% of frames" if clip.frame_count else "-"}
    if landmarks is not None:
        out["person detected"] = f"{100 * landmarks.detection_rate:.1f}% of {landmarks.frame_count} video frames"
        out["picture"] = f"{landmarks.width}x{landmarks.height} px (as played: what --crop counts in)"
        if landmarks.crop is not None:  # where MediaPipe looked: the rectangle drawn, and where following took it
            first, last = (",".join(str(int(v)) for v in landmarks.crop[k]) for k in (0, -1))
            out["looked in (--crop)"] = first if first == last else f"{first} at the start, {last} at the end"
        if landmarks.source:
            out["source"] = landmarks.source
    for k, v in clip.metadata.items():
        out.setdefault(k, v)
    return out


def render(clip: HumanoidClip, landmarks: Landmarks | None, stage_seconds: dict[str, float],
           warnings: list[str], speed: float = 1.0) -> str:
    """The report as an HTML string; speed: the clip's playback speed (--speed)."""
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>" for k, v in summary(clip, landmarks).items())
    warn = ("<ul>" + "".join(f"<li>{esc(w)}</li>" for w in warnings) + "</ul>") if warnings else "<p>None.</p>"
    parts = [f"<h1>AnimGen report: {esc(clip.name)}</h1>", f"<table>{rows}</table>", "<h2>Warnings</h2>", warn]
    if landmarks is not None and landmarks.frame_count:
        chart = _visibility_chart(landmarks)
        parts += ["<h2>Detection and visibility</h2>", f'<img alt="visibility over time" src="{chart}">']
    if clip.frame_count:
        start = float(landmarks.times[0]) if landmarks is not None and landmarks.frame_count else 0.0
        parts += ["<h2>Foot contacts</h2>", f'<img alt="contact timeline" src="{_contact_chart(clip, start, speed)}">',
                  "<h2>Root path (from above)</h2>", f'<img alt="root path" src="{_png(root_figure(clip))}">']
    if stage_seconds:
        total = sum(stage_seconds.values())
        trows = "".join(f"<tr><th>{esc(k)}</th><td>{v:.2f} s</td></tr>" for k, v in stage_seconds.items())
        parts += ["<h2>Time per stage</h2>", "<p>Up to export, which writes this report.</p>",
                  f"<table>{trows}<tr><th>total</th><td>{total:.2f} s</td></tr></table>",
                  f'<img alt="time per stage" src="{_stage_chart(stage_seconds)}">']
    style = ("body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}th,td{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}"
             "img{max-width:100%}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>AnimGen report: {esc(clip.name)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_report(path: str | Path, clip: HumanoidClip, landmarks: Landmarks | None,
                 stage_seconds: dict[str, float], warnings: list[str], speed: float = 1.0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    Path(path).write_text(render(clip, landmarks, stage_seconds, warnings, speed), encoding="utf-8")
