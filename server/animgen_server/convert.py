"""Conversions between the wire messages (animgen.v1) and the engine's plain data.

HumanoidClip <-> proto HumanoidClip (float32 on the wire), pipeline.GenerateOptions <-> proto GenerateOptions,
proto TargetSkeleton <-> a skeleton file (.glb) the pipeline's retargeting reads, store rows -> proto Job.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import TypeVar, cast

import numpy as np

from animgen.v1 import clip_pb2, service_pb2
from animgen_ml.clip import HumanoidClip
from animgen_ml.errors import InputError
from animgen_ml.export import CLIENT_FORMATS
from animgen_ml.pipeline import FORMATS, GENERATORS, GenerateOptions
from animgen_server.store import JobRow

# pipeline format name <-> OutputFormat (a client writes the CLIENT_FORMATS itself, from the clip)
FORMAT_TO_PROTO = {
    "glb": service_pb2.OUTPUT_FORMAT_GLB, "bvh": service_pb2.OUTPUT_FORMAT_BVH,
    "json": service_pb2.OUTPUT_FORMAT_JSON, "npz": service_pb2.OUTPUT_FORMAT_NPZ,
    "report": service_pb2.OUTPUT_FORMAT_REPORT, "preview": service_pb2.OUTPUT_FORMAT_PREVIEW,
}
PROTO_TO_FORMAT = {v: k for k, v in FORMAT_TO_PROTO.items()}
GENERATOR_TO_PROTO = {"network": service_pb2.GENERATOR_NETWORK, "analytic": service_pb2.GENERATOR_ANALYTIC}
PROTO_TO_GENERATOR = {v: k for k, v in GENERATOR_TO_PROTO.items()}
assert set(FORMAT_TO_PROTO) == set(FORMATS) - set(CLIENT_FORMATS) and set(GENERATOR_TO_PROTO) == set(GENERATORS)

MAX_TARGET_BONES = 1024


# Names Windows keeps for devices whatever the extension follows: a server there cannot write con.glb.
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(10))}


def safe_stem(name: str) -> str:
    """A file-name stem with no dots or path characters, so that a result's suffix is everything after
    its first dot (clients rely on that), and no name Windows keeps for a device."""
    stem = Path(name.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_")[:80] or "video"
    return f"{stem}_" if stem.lower() in _WINDOWS_DEVICES else stem


# ---- clip ----

def clip_to_proto(clip: HumanoidClip) -> clip_pb2.HumanoidClip:
    m = clip_pb2.HumanoidClip(name=clip.name, frame_rate=float(clip.fps), frame_count=clip.frame_count)
    for name, parent, off in zip(clip.bones, clip.parents, clip.rest_offsets, strict=True):
        m.bones.add(name=name, parent=int(parent), rest_offset=clip_pb2.Vector3(x=off[0], y=off[1], z=off[2]))
    m.hips_positions.extend(np.asarray(clip.hips, np.float32).ravel().tolist())
    m.rotations.extend(np.asarray(clip.rotations, np.float32).ravel().tolist())
    m.left_foot_contact.extend(np.asarray(clip.contacts[:, 0], bool).tolist())
    m.right_foot_contact.extend(np.asarray(clip.contacts[:, 1], bool).tolist())
    m.confidence.extend(np.asarray(clip.confidence, np.float32).ravel().tolist())
    if clip.root_motion is not None:
        m.root_motion.extend(np.asarray(clip.root_motion, np.float32).ravel().tolist())
    m.metadata.update({str(k): str(v) for k, v in clip.metadata.items()})
    return m


def clip_from_proto(m: clip_pb2.HumanoidClip) -> HumanoidClip:
    T, B = m.frame_count, len(m.bones)
    f32 = lambda values, shape: np.asarray(values, np.float32).astype(np.float64).reshape(shape)  # noqa: E731
    return HumanoidClip(
        bones=[b.name for b in m.bones],
        rest_offsets=np.array([[b.rest_offset.x, b.rest_offset.y, b.rest_offset.z] for b in m.bones],
                              np.float32).astype(np.float64).reshape(B, 3),
        fps=m.frame_rate,
        hips=f32(m.hips_positions, (T, 3)),
        rotations=f32(m.rotations, (T, B, 4)),
        contacts=np.stack([np.asarray(m.left_foot_contact, bool), np.asarray(m.right_foot_contact, bool)],
                          axis=1).reshape(T, 2),
        confidence=f32(m.confidence, (T, B)),
        root_motion=f32(m.root_motion, (T, 3)) if len(m.root_motion) else None,
        name=m.name,
        metadata=dict(m.metadata),
    )


def target_motion_to_proto(motion) -> clip_pb2.TargetMotion:
    """A retarget.TargetMotion on the wire, as the target GLB carries it: its skeleton's rest pose, the turning joints'
    rotations and the Hips joint's translation on every frame (the other joints hold their rest pose)."""
    sk, T = motion.skeleton, len(motion.rotations)
    m = clip_pb2.TargetMotion(bones=list(sk.names), frame_rate=float(motion.fps), frame_count=T,
                              turning=[int(j) for j in motion.animated], moving=int(motion.hips_joint),
                              hips_scale=float(motion.hips_scale), feet_locked=bool(motion.feet_locked))
    f32 = lambda a: np.asarray(a, np.float32).ravel().tolist()  # noqa: E731
    m.rest_translations.extend(f32(motion.translations[0] if T else sk.rest_translation))
    m.rest_rotations.extend(f32(sk.rest_rotation))
    m.rotations.extend(f32(motion.rotations[:, motion.animated]))
    m.translations.extend(f32(motion.translations[:, motion.hips_joint]))
    return m


def target_motion_arrays(m: clip_pb2.TargetMotion) -> tuple[np.ndarray, np.ndarray]:
    """(rotations (T, J, 4), translations (T, J, 3)): every bone's local transform on every frame, as a client
    keys them from a TargetMotion."""
    T, J = m.frame_count, len(m.bones)
    rot = np.tile(np.asarray(m.rest_rotations, np.float64).reshape(1, J, 4), (T, 1, 1))
    trans = np.tile(np.asarray(m.rest_translations, np.float64).reshape(1, J, 3), (T, 1, 1))
    rot[:, list(m.turning)] = np.asarray(m.rotations, np.float64).reshape(T, len(m.turning), 4)
    trans[:, m.moving] = np.asarray(m.translations, np.float64).reshape(T, 3)
    return rot, trans


# ---- options ----

# The command line's flags, as GenerateOptions' fields, for the pipeline's messages.
_FLAG_FIELDS = {
    "--start": "options.start_seconds", "--end": "options.end_seconds", "--fps": "options.fps",
    "--smoothing": "options.smoothing", "--speed": "options.speed", "--generator": "options.generator",
    "--format": "options.formats",
    "--keyframe-tolerance": "options.keyframe_tolerance_degrees / options.keyframe_tolerance_mm",
    "--bone-map": "options.target.bone_map", "--crop": "options.crop",
}


_Default = TypeVar("_Default", float, None)


def options_from_proto(m: service_pb2.GenerateOptions, target_path: str | None = None) -> GenerateOptions:
    """Wire options -> pipeline options, validated. Raises InputError naming the bad field."""
    if m.generator not in (0, *PROTO_TO_GENERATOR):
        raise InputError(f"options.generator: unknown value {m.generator}; use "
                         + ", ".join(service_pb2.Generator.Name(v) for v in PROTO_TO_GENERATOR))
    bad = [f for f in m.formats if f not in PROTO_TO_FORMAT]
    if bad:
        raise InputError(f"options.formats: unknown value {bad[0]}; use "
                         + ", ".join(service_pb2.OutputFormat.Name(v) for v in PROTO_TO_FORMAT))
    for name in ("smoothing", "start_seconds", "end_seconds", "fps", "speed", "keyframe_tolerance_degrees",
                 "keyframe_tolerance_mm"):
        if m.HasField(name) and not math.isfinite(getattr(m, name)):
            raise InputError(f"options.{name} must be a finite number")
    formats = tuple(dict.fromkeys(PROTO_TO_FORMAT[f] for f in m.formats)) or ("glb",)

    def f32(name: str, default: _Default) -> float | _Default:
        """A float field as the client meant it: 29.97 crossed the wire as 29.969999313354492, and a clip made
        with that would differ from a local run's. Seven digits are all a float holds."""
        return float(f"{getattr(m, name):.7g}") if m.HasField(name) else default

    opts = GenerateOptions(
        hands=m.hands,
        smoothing=f32("smoothing", 0.5),
        start=m.start_seconds if m.HasField("start_seconds") else None,
        end=m.end_seconds if m.HasField("end_seconds") else None,
        fps=f32("fps", None),
        generator=PROTO_TO_GENERATOR.get(m.generator, "network"),
        formats=formats,
        in_place=m.in_place, loop=m.loop, mirror=m.mirror,
        speed=f32("speed", 1.0),
        face_forward=m.face_forward,
        foot_lock=m.foot_lock if m.HasField("foot_lock") else True,
        keyframe_tolerance_degrees=f32("keyframe_tolerance_degrees", 0.0),
        keyframe_tolerance_mm=f32("keyframe_tolerance_mm", 0.0),
        target=target_path,
        crop=(m.crop.x, m.crop.y, m.crop.width, m.crop.height) if m.HasField("crop") else None,
    )
    try:
        return opts.validate()
    except InputError as e:  # the pipeline words its errors for the command line; point at the wire field
        why = str(e)
        if target_path:  # the store's copy of the skeleton means nothing to the client
            why = why.replace(target_path, "options.target")
        raise InputError(re.sub(r"--[a-z-]+", lambda m: _FLAG_FIELDS.get(m[0], m[0]), why)) from None


def options_to_proto(o: GenerateOptions, target: clip_pb2.TargetSkeleton | None = None) -> service_pb2.GenerateOptions:
    m = service_pb2.GenerateOptions(
        hands=o.hands, smoothing=o.smoothing, generator=GENERATOR_TO_PROTO[o.generator],
        formats=[FORMAT_TO_PROTO[f] for f in o.formats], in_place=o.in_place, loop=o.loop, mirror=o.mirror,
        speed=o.speed, face_forward=o.face_forward, foot_lock=o.foot_lock,
        keyframe_tolerance_degrees=o.keyframe_tolerance_degrees, keyframe_tolerance_mm=o.keyframe_tolerance_mm)
    for name, value in (("start_seconds", o.start), ("end_seconds", o.end), ("fps", o.fps)):
        if value is not None:
            setattr(m, name, value)
    if target is not None:
        m.target.CopyFrom(target)
    if o.crop is not None:
        m.crop.x, m.crop.y, m.crop.width, m.crop.height = o.crop
    return m


def clip_message_bytes(frames: int, bones: int) -> int:
    """About how large a HumanoidClip message is: per frame a quaternion and a confidence per bone, the Hips, root
    motion and two contacts (measured: 466 bytes a frame with 22 bones), and a little for the bone table."""
    return frames * (bones * 20 + 26) + 16 * 1024


def options_key(video_sha256: str, opts: GenerateOptions, pipeline: str, video_name: str) -> str:
    """Identity of a job's inputs for the result cache: the video's hash, the canonical options, `pipeline`,
    what makes the clip (model.identity), so that new weights or a new version do not serve old results, and the
    video's name, which the clip and the warnings carry."""
    d = opts.to_dict()
    d["formats"] = sorted(d["formats"])
    if d["target"] is not None:  # the store's targets/<content hash>/<name>.glb, by hash and name: a store moved or
        # copied (its absolute path another) must still find its results and its interrupted jobs
        d["target"] = Path(d["target"]).parent.name + "/" + Path(d["target"]).name
    # Options travel through float32 on the wire: round so that equal requests hash equal.
    d = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in d.items()}
    inputs = json.dumps([video_sha256, pipeline, video_name, d], sort_keys=True)
    return hashlib.sha256(inputs.encode()).hexdigest()


# ---- target skeleton ----

def target_skeleton_path(t: clip_pb2.TargetSkeleton, folder: Path) -> Path:
    """Where write_target_skeleton puts a TargetSkeleton: folder/<content hash>/<name>.glb. Writes nothing; raises
    InputError when the skeleton is unusable."""
    n = len(t.bones)
    if n == 0:
        raise InputError("options.target: the target skeleton has no bones")
    if n > MAX_TARGET_BONES:
        raise InputError(f"options.target: {n} bones, at most {MAX_TARGET_BONES} are accepted")
    names = [b.name for b in t.bones]
    if any(not s for s in names) or len(set(names)) != n:
        raise InputError("options.target: every bone needs a name and names must be unique")
    for i, b in enumerate(t.bones):
        if not -1 <= b.parent < i:
            raise InputError(f"options.target: bone {b.name!r} has parent {b.parent}; a parent must come before "
                             "its children (or be -1 for a root)")
        tr, q = b.rest_translation, b.rest_rotation
        values = [tr.x, tr.y, tr.z, q.x, q.y, q.z, q.w]
        if not all(math.isfinite(v) for v in values):
            raise InputError(f"options.target: bone {b.name!r} has a non-finite rest transform")
    bad = [k for k, v in t.bone_map.items() if v not in names]
    if bad:
        raise InputError(f"options.target.bone_map: {bad[0]!r} maps to {t.bone_map[bad[0]]!r}, not a target bone")

    digest = hashlib.sha256(t.SerializeToString(deterministic=True)).hexdigest()[:24]
    return Path(folder) / digest / f"{safe_stem(t.name or 'target') }.glb"


def write_target_skeleton(t: clip_pb2.TargetSkeleton, folder: Path) -> Path:
    """Writes a TargetSkeleton as a node-only .glb (joints in a skin, bone_map in the scene's extras) at
    target_skeleton_path and returns the path. Raises InputError when the skeleton is unusable. A file already there
    has its time set to now: the store's expiry removes targets unused for a while (they are written again when
    needed)."""
    import pygltflib

    path = target_skeleton_path(t, folder)
    if path.is_file():
        with contextlib.suppress(OSError):
            os.utime(path)
        return path
    n = len(t.bones)
    nodes = []
    for b in t.bones:
        q = b.rest_rotation
        norm = math.sqrt(q.x**2 + q.y**2 + q.z**2 + q.w**2)
        rot = [q.x / norm, q.y / norm, q.z / norm, q.w / norm] if norm > 1e-9 else [0.0, 0.0, 0.0, 1.0]
        tr = b.rest_translation
        nodes.append(pygltflib.Node(name=b.name, translation=[tr.x, tr.y, tr.z], rotation=rot, children=[]))
    for i, b in enumerate(t.bones):
        if b.parent >= 0:
            nodes[b.parent].children.append(i)
    roots = [i for i, b in enumerate(t.bones) if b.parent < 0]
    gltf = pygltflib.GLTF2(
        asset=pygltflib.Asset(generator="animgen server", version="2.0"),
        scene=0,
        scenes=[pygltflib.Scene(name=t.name or "target", nodes=roots,
                                extras={"animgen_bone_map": dict(t.bone_map)} if t.bone_map else {})],
        nodes=nodes,
        skins=[pygltflib.Skin(name=t.name or "target", joints=list(range(n)), skeleton=roots[0])],
    )
    from animgen_ml.files import atomic_path

    with atomic_path(path) as tmp:
        gltf.save_binary(str(tmp))
    return path


# ---- jobs ----

def job_to_proto(j: JobRow) -> service_pb2.Job:
    m = service_pb2.Job(
        job_id=j.job_id, upload_id=j.upload_id, video_name=j.video_name, stage=j.stage,
        state=cast(service_pb2.JobState, j.state),  # the store's number; the stubs' enum types take no int
        progress=j.progress, error=j.error, created_unix_ms=j.created_ms, updated_unix_ms=j.updated_ms,
        cached=j.cached, warnings=j.warnings, frames=j.frames, detected_share=j.detected)
    m.options.ParseFromString(j.options)
    return m
